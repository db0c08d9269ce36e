"""The publisher reads a target's post and its account in one call (a BatchGetItem), from the account
its publish message names; a message without one (queued before messages named it), or naming an
account the target no longer has, is published as before, the account read on its own. A batch read
DynamoDB answers only in part is asked again for the rest.

Counted at the SDK: every call the posts' and integrations' clients make, with the tables it names."""

from __future__ import annotations

import json

import pytest

from chalicelib.data import batch_get
from chalicelib.data.models import IntegrationRecord, PostRecord
from tests.integration.conftest import the_target


@pytest.fixture
def key(workspace):
    return workspace.test_key


@pytest.fixture
def clients():
    """The botocore clients the posts and integrations tables are read through (one each)."""
    found = []
    for model in (PostRecord, IntegrationRecord):
        client = model._get_connection().connection.client
        if all(client is not other for other in found):
            found.append(client)
    return found


@pytest.fixture
def reads(clients):
    """(operation, tables) of every read of the posts or integrations table, in order."""
    seen: list[tuple[str, set[str]]] = []
    watched = {PostRecord.Meta.table_name: "posts", IntegrationRecord.Meta.table_name: "integrations"}

    def record(params, model, **_):
        if model.name not in ("GetItem", "BatchGetItem"):
            return
        tables = set(params.get("RequestItems", {})) | ({params["TableName"]} if "TableName" in params else set())
        named = {watched[table] for table in tables if table in watched}
        if named:
            seen.append((model.name, named))

    for client in clients:
        client.meta.events.register("before-parameter-build.dynamodb", record)
    yield seen
    for client in clients:
        client.meta.events.unregister("before-parameter-build.dynamodb", record)


def queued_for_publishing(api, key, content: str) -> str:
    created = api.post("/v1/posts", key, {"content": content, "platforms": ["bluesky"]})
    assert created.status == 201, created
    post_id = created.json["data"]["id"]
    assert api.post(f"/v1/posts/{post_id}/publish", key).status == 202
    return post_id


def rewrite_the_message(runtime, change) -> dict:
    """Take the one queued publish message and queue it again with its body changed by ``change``."""
    (message,) = runtime.receive()
    runtime.sqs.delete_message(QueueUrl=runtime.queues["publish"], ReceiptHandle=message["ReceiptHandle"])
    body = json.loads(message["Body"])
    change(body)
    runtime.sqs.send_message(QueueUrl=runtime.queues["publish"], MessageBody=json.dumps(body))
    return body


def test_the_post_and_its_account_are_read_in_one_call(api, key, runtime, reads):
    post_id = queued_for_publishing(api, key, "One read")
    (message,) = runtime.peek()
    assert json.loads(message["Body"])["integration_id"] == the_target(api, key, post_id)["integrations"]["id"]
    reads.clear()
    runtime.drain()
    spent = list(reads)  # before the API's read of the post below
    assert the_target(api, key, post_id)["status"] == "published"
    assert spent == [("BatchGetItem", {"posts", "integrations"})]


def test_a_message_queued_before_messages_named_the_account_is_published_with_two_reads(api, key, runtime, reads):
    post_id = queued_for_publishing(api, key, "Queued by the version before")
    rewrite_the_message(runtime, lambda body: body.pop("integration_id"))
    reads.clear()
    runtime.drain()
    spent = list(reads)  # before the API's read of the post below
    assert the_target(api, key, post_id)["status"] == "published"
    assert spent == [("GetItem", {"posts"}), ("GetItem", {"integrations"})]


def test_a_message_naming_another_account_than_the_targets_publishes_to_the_targets(api, key, runtime, reads):
    post_id = queued_for_publishing(api, key, "Named another account")
    target = the_target(api, key, post_id)
    rewrite_the_message(runtime, lambda body: body.update(integration_id="int_not_this_targets"))
    reads.clear()
    runtime.drain()
    spent = list(reads)  # before the API's read of the post below
    published = the_target(api, key, post_id)
    assert published["status"] == "published" and published["integrations"] == target["integrations"]
    assert spent == [("BatchGetItem", {"posts", "integrations"}), ("GetItem", {"integrations"})]


@pytest.fixture
def partial_answers(clients):
    """Makes the next ``left`` BatchGetItem answers leave the integration unanswered, as DynamoDB does
    with the keys of a throttled table (UnprocessedKeys)."""
    fault = {"left": 0, "answered_in_part": 0}

    def answer_in_part(parsed, model, **_):
        if model.name != "BatchGetItem" or not fault["left"]:
            return
        table = IntegrationRecord.Meta.table_name
        items = parsed.get("Responses", {}).pop(table, [])
        if items:
            keys = [{"scope": item["scope"], "id": item["id"]} for item in items]
            parsed.setdefault("UnprocessedKeys", {})[table] = {"Keys": keys, "ConsistentRead": True}
            fault["left"] -= 1
            fault["answered_in_part"] += 1

    for client in clients:
        client.meta.events.register("after-call.dynamodb.BatchGetItem", answer_in_part)
    yield fault
    for client in clients:
        client.meta.events.unregister("after-call.dynamodb.BatchGetItem", answer_in_part)


def test_keys_left_unanswered_are_asked_for_again(api, key, runtime, reads, partial_answers):
    post_id = queued_for_publishing(api, key, "Answered in part")
    partial_answers["left"] = 2
    reads.clear()
    runtime.drain()
    spent = list(reads)  # before the API's read of the post below
    assert the_target(api, key, post_id)["status"] == "published"
    assert partial_answers["answered_in_part"] == 2
    assert spent == [
        ("BatchGetItem", {"posts", "integrations"}),
        ("BatchGetItem", {"integrations"}),
        ("BatchGetItem", {"integrations"}),
    ]


def test_keys_unanswered_through_every_attempt_leave_the_message_for_the_queue(
    api, key, runtime, reads, partial_answers
):
    post_id = queued_for_publishing(api, key, "Never answered in full")
    partial_answers["left"] = batch_get.ATTEMPTS
    runtime.drain()
    assert the_target(api, key, post_id)["status"] == "pending"  # nothing claimed, nothing sent
    assert partial_answers["answered_in_part"] == batch_get.ATTEMPTS
    runtime.time_passes()  # the queue delivers it again
    runtime.drain()
    assert the_target(api, key, post_id)["status"] == "published"

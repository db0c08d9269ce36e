"""How a post is stored: its body and targets packed into one compressed attribute (a post of one
target fits one write unit), and items written before in the older shape still read, list, edit and
publish."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from chalicelib.data.models import CounterRecord, PostRecord
from chalicelib.data.posts import item_bytes, unpack
from chalicelib.data.sessions import botocore_session
from tests.integration.conftest import publish_directly

FUTURE = "2026-05-02T14:00:00Z"  # the test clock stands at 2026-05-01T12:00:00Z


@pytest.fixture
def key(workspace):
    return workspace.test_key


def _table():
    return boto3.client("dynamodb", region_name=PostRecord.Meta.region), PostRecord.Meta.table_name


def _raw_item(scope: str, post_id: str) -> dict:
    client, table = _table()
    return client.get_item(TableName=table, Key={"scope": {"S": scope}, "id": {"S": post_id}}, ConsistentRead=True)[
        "Item"
    ]


def _rewrite_as_before(scope: str, post_id: str) -> None:
    """Store the post as the code before packing wrote it: body and targets as two JSON texts."""
    item = _raw_item(scope, post_id)
    body, targets = unpack(PostRecord.from_raw_data(item))
    # The older shape kept every target field, defaults included.
    full_targets = [{**_target_defaults(), **target} for target in targets]
    del item["packed"]
    item["body"] = {"S": json.dumps(body, ensure_ascii=False, separators=(",", ":"))}
    item["targets"] = {"S": json.dumps(full_targets, ensure_ascii=False, separators=(",", ":"))}
    client, table = _table()
    client.put_item(TableName=table, Item=item)


def _target_defaults() -> dict:
    return {
        "status": "pending",
        "platform_post_id": None,
        "platform_post_url": None,
        "published_at": None,
        "error": None,
        "parts": [],
        "in_flight": None,
        "uploads": {},
        "lease_owner": None,
        "lease_until": None,
        "attempts": 0,
        "rate_limit_waits": 0,
        "key_salt": None,
    }


def test_a_post_of_one_target_is_stored_in_under_one_write_unit(api, key, workspace):
    text = "A post of an ordinary length, with a link https://example.com/a/b " * 2
    body = {"content": text, "platforms": ["bluesky"]}
    post = api.post("/v1/posts", key, body).json["data"]
    item = _raw_item(f"{workspace.workspace.id}#test", post["id"])
    assert "packed" in item and "body" not in item and "targets" not in item
    assert item_bytes(PostRecord.from_raw_data(item)) < 1024


def test_a_post_stored_in_the_older_shape_reads_lists_edits_and_publishes(api, key, workspace, services, runtime):
    scope = f"{workspace.workspace.id}#test"
    created = api.post(
        "/v1/posts", key, {"content": "Stored before é 🎉", "platforms": ["bluesky"], "tags": ["old"]}
    ).json["data"]
    _rewrite_as_before(scope, created["id"])
    assert "packed" not in _raw_item(scope, created["id"]) and "targets" in _raw_item(scope, created["id"])

    read = api.get(f"/v1/posts/{created['id']}", key).json["data"]
    assert read == created
    listed = api.get("/v1/posts?status=draft", key).json
    assert [post["id"] for post in listed["data"]] == [created["id"]] and listed["total"] == 1

    edited = api.request("PATCH", f"/v1/posts/{created['id']}", key, body={"content": "Edited after"})
    assert edited.status == 200, edited
    item = _raw_item(scope, created["id"])
    assert "packed" in item and "body" not in item and "targets" not in item  # its next write packed it
    assert api.get(f"/v1/posts/{created['id']}", key).json["data"]["tags"] == ["old"]

    _rewrite_as_before(scope, created["id"])
    assert api.post(f"/v1/posts/{created['id']}/publish", key).status == 202
    runtime.drain()
    published = api.get(f"/v1/posts/{created['id']}", key).json["data"]
    assert published["status"] == "published" and published["content"] == "Edited after"
    assert published["post_targets"][0]["status"] == "published"


def _counters(scope: str) -> dict[str, dict]:
    client = boto3.client("dynamodb", region_name=PostRecord.Meta.region)
    table = CounterRecord.Meta.table_name
    items = client.query(
        TableName=table,
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "scope"},
        ExpressionAttributeValues={":s": {"S": scope}},
        ConsistentRead=True,
    )["Items"]
    return {item["name"]["S"]: item for item in items}


def _counters_as_before(scope: str) -> None:
    """Store the counts as the code before kept them: one item per status, "posts" holding only the
    number of posts."""
    client = boto3.client("dynamodb", region_name=PostRecord.Meta.region)
    table = CounterRecord.Meta.table_name
    posts = _counters(scope)["posts"]
    for status in ("draft", "scheduled", "publishing", "published", "failed"):
        if status in posts:
            count = posts.pop(status)
            client.put_item(
                TableName=table, Item={"scope": {"S": scope}, "name": {"S": f"posts#{status}"}, "count": count}
            )
    client.put_item(TableName=table, Item=posts)


def test_counts_kept_one_item_per_status_before_stay_exact(api, key, workspace, runtime):
    scope = f"{workspace.workspace.id}#test"
    drafts = [
        api.post("/v1/posts", key, {"content": f"draft {n}", "platforms": ["bluesky"]}).json["data"] for n in range(3)
    ]
    api.post("/v1/posts", key, {"content": "later", "platforms": ["bluesky"], "schedule_at": FUTURE})
    counters = _counters(scope)
    assert set(counters) == {"posts"}  # every count on one item
    assert counters["posts"]["draft"] == {"N": "3"} and counters["posts"]["scheduled"] == {"N": "1"}

    _counters_as_before(scope)
    assert set(_counters(scope)) == {"posts", "posts#draft", "posts#scheduled"}
    totals = lambda status: api.get(f"/v1/posts?status={status}", key).json["total"]  # noqa: E731
    assert (totals("draft"), totals("scheduled"), totals("published")) == (3, 1, 0)

    assert api.post(f"/v1/posts/{drafts[0]['id']}/publish", key).status == 202
    runtime.drain()
    assert (totals("draft"), totals("publishing"), totals("published"), totals("scheduled")) == (2, 0, 1, 1)
    assert api.delete(f"/v1/posts/{drafts[1]['id']}", key).status == 204
    assert totals("draft") == 1 and api.get("/v1/posts", key).json["total"] == 3


class _TransactionConflicts:
    """The first ``count`` transactions on the posts table are cancelled as DynamoDB cancels a transaction
    that meets another one on the same item (a status change of another post moving the counter
    item at that moment). Injected at the SDK, on this thread's botocore session."""

    def __init__(self, count: int):
        self.left = count
        self.sent = 0

    def __call__(self, params, **_):
        body = params.get("body") or b""
        if PostRecord.Meta.table_name.encode() not in (body if isinstance(body, bytes) else body.encode()):
            return None  # the sandbox's own transactions are its platform's business
        self.sent += 1
        if self.left <= 0:
            return None
        self.left -= 1
        body = {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled [TransactionConflict]"},
            "CancellationReasons": [
                {"Code": "None"},
                {"Code": "TransactionConflict", "Message": "Transaction is ongoing"},
            ],
            "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}},
        }
        return AWSResponse("https://dynamodb.local", 400, {}, None), body


def test_a_status_change_cancelled_by_another_transaction_is_sent_again(api, key, services, runtime):
    created = api.post("/v1/posts", key, {"content": "Counted once", "platforms": ["bluesky"]}).json["data"]
    assert api.post(f"/v1/posts/{created['id']}/publish", key).status == 202
    conflicts = _TransactionConflicts(2)
    session = botocore_session()
    session.register("before-call.dynamodb.TransactWriteItems", conflicts)
    try:
        assert publish_directly(services, runtime) == "published"  # the finishing transaction, third time
    finally:
        session.unregister("before-call.dynamodb.TransactWriteItems", conflicts)
    assert conflicts.left == 0 and conflicts.sent >= 3
    totals = lambda status: api.get(f"/v1/posts?status={status}", key).json["total"]  # noqa: E731
    assert (totals("published"), totals("publishing"), totals("draft")) == (1, 0, 0)
    assert api.get(f"/v1/posts/{created['id']}", key).json["data"]["status"] == "published"

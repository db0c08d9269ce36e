"""Idempotency-Key at the sizes users reach: a replay is the first answer, and a create retried
after its answer was lost leaves exactly one post, whatever the body's size."""

from __future__ import annotations

import json
import random
import unicodedata

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from tests.conftest import problem


def _utf8(body) -> bytes:
    # As curl sends it: UTF-8, not \\u escapes (which would make the body three times as long).
    return json.dumps(body, ensure_ascii=False).encode()


LARGE_BODIES = {
    # The report: 63,199 "é" for Facebook, whose stored answer outgrew DynamoDB's item.
    "accented content": {"content": "é" * 63199, "platforms": ["facebook"]},
    # 23 LinkedIn segments of 2,990 CJK characters (215 KB): stored as escaped JSON it was a 500.
    "CJK thread": {
        "content": "始",
        "platforms": ["linkedin"],
        "segments": [{"content": "漢字仮名交じり文" * 373 + "漢字仮名交じり文"[:6]} for _ in range(23)],
    },
    "emoji content": {"content": "🚀" * 31603, "platforms": ["facebook"]},  # 63,206 UTF-16 units
}


@pytest.mark.parametrize("name", sorted(LARGE_BODIES))
def test_a_large_create_is_replayed_not_repeated(api, workspace, name):
    body = LARGE_BODIES[name]
    headers = {"Idempotency-Key": f"large-{name}"}
    first = api.post("/v1/posts", workspace.test_key, raw=_utf8(body), headers=headers)
    assert first.status == 201, first
    replay = api.post("/v1/posts", workspace.test_key, raw=_utf8(body), headers=headers)
    assert replay.status == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json == first.json
    assert replay.json["data"]["content"] == body["content"]
    listed = api.get("/v1/posts", workspace.test_key).json
    assert listed["total"] == 1 and listed["data"][0]["id"] == first.json["data"]["id"]


def _lose_the_answer(services):
    """The request runs and writes its post, but its answer is never stored, as when the
    function dies after the write: the save to the idempotency table fails once."""
    dynamodb = services.idempotency._layer().client
    state = {"failed": False}

    def fails_once(params, **_):
        # provide-client-params hands over the call's own parameters: fail the save of COMPLETED.
        if (
            not state["failed"]
            and params.get("ExpressionAttributeValues", {}).get(":status", {}).get("S") == "COMPLETED"
        ):
            state["failed"] = True
            raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    dynamodb.meta.events.register("provide-client-params.dynamodb.UpdateItem", fails_once)
    return lambda: dynamodb.meta.events.unregister("provide-client-params.dynamodb.UpdateItem", fails_once)


def _expire_in_flight_records(aws):
    # What Powertools' in-progress expiry does once the dead function's time is over.
    table = aws.environment()["OPENPOST_RESOURCE_PREFIX"] + "-idempotency"
    dynamodb = boto3.client("dynamodb")
    for item in dynamodb.scan(TableName=table)["Items"]:
        if item["id"]["S"].startswith("openpost-api"):
            dynamodb.delete_item(TableName=table, Key={"id": item["id"]})


@pytest.mark.parametrize("name", ["small", *sorted(LARGE_BODIES)])
def test_a_create_retried_after_its_answer_was_lost_leaves_one_post(api, workspace, services, aws, name):
    body = LARGE_BODIES.get(name, {"content": "hello", "platforms": ["twitter"]})
    headers = {"Idempotency-Key": f"lost-{name}"}
    restore = _lose_the_answer(services)
    try:
        lost = api.post("/v1/posts", workspace.test_key, raw=_utf8(body), headers=headers)
    finally:
        restore()
    assert lost.status == 500
    problem(
        api.post("/v1/posts", workspace.test_key, raw=_utf8(body), headers=headers), 409, "idempotency_key_in_flight"
    )
    _expire_in_flight_records(aws)
    retried = api.post("/v1/posts", workspace.test_key, raw=_utf8(body), headers=headers)
    assert retried.status == 201, retried
    listed = api.get("/v1/posts", workspace.test_key).json
    assert listed["total"] == 1 and listed["data"][0]["id"] == retried.json["data"]["id"]
    # And from then on it is replayed.
    again = api.post("/v1/posts", workspace.test_key, raw=_utf8(body), headers=headers)
    assert again.headers["idempotent-replayed"] == "true" and again.json == retried.json


def test_a_lost_create_retried_with_another_body_is_refused(api, workspace, services, aws):
    headers = {"Idempotency-Key": "lost-then-changed"}
    restore = _lose_the_answer(services)
    try:
        assert (
            api.post(
                "/v1/posts", workspace.test_key, {"content": "one", "platforms": ["twitter"]}, headers=headers
            ).status
            == 500
        )
    finally:
        restore()
    _expire_in_flight_records(aws)
    problem(
        api.post("/v1/posts", workspace.test_key, {"content": "two", "platforms": ["twitter"]}, headers=headers),
        422,
        "idempotency_key_reused",
    )
    assert api.get("/v1/posts", workspace.test_key).json["total"] == 1


def test_a_duplicate_retried_after_its_answer_was_lost_leaves_one_copy(api, workspace, services, aws):
    source = api.post("/v1/posts", workspace.test_key, {"content": "original", "platforms": ["twitter"]}).json["data"][
        "id"
    ]
    headers = {"Idempotency-Key": "dup"}
    restore = _lose_the_answer(services)
    try:
        assert api.post(f"/v1/posts/{source}/duplicate", workspace.test_key, headers=headers).status == 500
    finally:
        restore()
    _expire_in_flight_records(aws)
    copy = api.post(f"/v1/posts/{source}/duplicate", workspace.test_key, headers=headers)
    assert copy.status == 201 and copy.json["data"]["id"] != source
    assert api.get("/v1/posts", workspace.test_key).json["total"] == 2


def test_the_stored_answer_is_compressed_text(api, workspace, aws):
    body = LARGE_BODIES["accented content"]
    api.post("/v1/posts", workspace.test_key, raw=_utf8(body), headers={"Idempotency-Key": "stored"})
    table = aws.environment()["OPENPOST_RESOURCE_PREFIX"] + "-idempotency"
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    record = next(item for item in items if item["id"]["S"].startswith("openpost-api"))
    assert len(record["data"]["S"]) < 20_000  # 63,199 "é" compress to a few kilobytes
    claim = next(item for item in items if item["id"]["S"].startswith("claim#post#"))
    assert claim["resource_id"]["S"] and int(claim["expiration"]["N"]) > 0


def test_a_post_grown_past_what_can_be_stored_is_refused_whole(api, workspace):
    """Each request is within the 256 KiB body limit, but edits add up: the edit that would make
    the post larger than a DynamoDB item is a 413 naming the reason, and the post keeps its fields.
    The post is stored compressed, so the text is letters drawn at random from some 45,000: text
    that compresses little (the same character repeated would take a few kilobytes)."""
    letters = [
        chr(c)
        for c in range(0x0800, 0xFFFE)
        if unicodedata.category(chr(c)).startswith("L")
        and not 0x1100 <= c <= 0x11FF  # Hangul jamo: a run of them composes
        and unicodedata.normalize("NFKC", chr(c)) == chr(c)
    ]
    draw = random.Random(14)
    text = lambda length: "".join(draw.choice(letters) for _ in range(length))  # noqa: E731
    emoji = text(63000)  # within Facebook's 63,206 UTF-16 units with a "(1/13)"; ~147 KB compressed
    post_id = api.post("/v1/posts", workspace.test_key, raw=_utf8({"content": emoji, "platforms": ["facebook"]})).json[
        "data"
    ]["id"]
    overrides = {"facebook": text(63000)}
    assert (
        api.request(
            "PATCH", f"/v1/posts/{post_id}", workspace.test_key, raw=_utf8({"platform_overrides": overrides})
        ).status
        == 200
    )
    segments = [{"content": text(4000)} for _ in range(12)]  # 112 KB more, compressed
    grown = api.request("PATCH", f"/v1/posts/{post_id}", workspace.test_key, raw=_utf8({"segments": segments}))
    body = problem(grown, 413, "post_too_large")
    assert "bytes to store" in body["detail"]
    kept = api.get(f"/v1/posts/{post_id}", workspace.test_key).json["data"]
    assert kept["content"] == emoji and kept["platform_overrides"] == overrides and not kept["segments"]

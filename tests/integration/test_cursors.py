"""Cursor pagination beside offset: a deep page costs one page of reads, and pages never skip or
repeat an item, even while items are added."""

from __future__ import annotations

import pytest

from tests.conftest import problem


def _create(api, key, n, **fields):
    return [
        api.post("/v1/posts", key, {"content": f"post {i}", "platforms": ["twitter"], **fields}).json["data"]["id"]
        for i in range(n)
    ]


def _walk(api, key, path, limit):
    seen, cursor = [], None
    while True:
        query = f"limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        answer = api.get(f"{path}?{query}", key)
        assert answer.status == 200, answer
        seen += [item["id"] for item in answer.json["data"]]
        cursor = answer.json["next_cursor"]
        if cursor is None:
            return seen, answer.json


@pytest.mark.parametrize("path", ["/v1/posts", "/v1/posts?status=draft", "/v1/posts/group/launch"])
def test_cursors_walk_every_post_once_newest_first(api, workspace, path):
    ids = _create(api, workspace.test_key, 23, group_id="launch")
    base, _, status = path.partition("?")
    seen, last = (
        _walk(api, workspace.test_key, base + (f"?{status}" if status else ""), 5)
        if not status
        else _walk_status(api, workspace.test_key, status, 5)
    )
    assert seen == list(reversed(ids))
    assert last["total"] == 23


def _walk_status(api, key, status, limit):
    seen, cursor = [], None
    while True:
        answer = api.get(f"/v1/posts?{status}&limit={limit}" + (f"&cursor={cursor}" if cursor else ""), key)
        seen += [item["id"] for item in answer.json["data"]]
        cursor = answer.json["next_cursor"]
        if cursor is None:
            return seen, answer.json


def test_a_page_after_new_posts_neither_skips_nor_repeats(api, workspace):
    key = workspace.test_key
    ids = _create(api, key, 6)
    first = api.get("/v1/posts?limit=3", key).json
    _create(api, key, 4)  # newer posts arrive meanwhile: offset=3 would now repeat three of these
    second = api.get(f"/v1/posts?limit=3&cursor={first['next_cursor']}", key).json
    assert [item["id"] for item in second["data"]] == list(reversed(ids))[3:6]
    assert second["next_cursor"] is None and second["total"] == 10


def test_offset_answers_a_cursor_too_and_the_last_page_none(api, workspace):
    key = workspace.test_key
    ids = _create(api, key, 4)
    page = api.get("/v1/posts?limit=2&offset=1", key).json
    assert [item["id"] for item in page["data"]] == list(reversed(ids))[1:3] and page["next_cursor"]
    rest = api.get(f"/v1/posts?limit=2&cursor={page['next_cursor']}", key).json
    assert [item["id"] for item in rest["data"]] == [ids[0]] and rest["next_cursor"] is None


def test_keys_and_integrations_take_cursors(api, workspace):
    key = workspace.test_key
    for n in range(4):
        api.post("/v1/api-keys", key, {"name": f"k{n}"})
    seen, last = _walk(api, key, "/v1/api-keys", 2)
    listed = [item["id"] for item in api.get("/v1/api-keys?limit=100", key).json["data"]]
    assert seen == listed and len(seen) == 5 and last["total"] == 5
    seen, _ = _walk(api, key, "/v1/integrations", 1)
    assert seen == [item["id"] for item in api.get("/v1/integrations?limit=100", key).json["data"]]


@pytest.mark.parametrize(
    "query, message",
    [
        ("cursor=nonsense", "should match pattern"),
        ("cursor=djE6&limit=2", "at least 5 characters"),
        ("cursor=djE6YW!j", "should match pattern"),
    ],
)
def test_a_cursor_this_api_did_not_give_is_a_400(api, workspace, query, message):
    body = problem(api.get(f"/v1/posts?{query}", workspace.test_key), 400, "invalid_query")
    assert body["errors"][0]["field"] == "cursor" and message in body["errors"][0]["message"]


def test_a_cursor_with_an_offset_skips_after_the_cursor(api, workspace):
    key = workspace.test_key
    ids = list(reversed(_create(api, key, 6)))
    first = api.get("/v1/posts?limit=2", key).json
    page = api.get(f"/v1/posts?limit=2&offset=1&cursor={first['next_cursor']}", key).json
    assert [item["id"] for item in page["data"]] == ids[3:5]


def test_a_deep_page_by_cursor_reads_one_page(api, workspace, aws):
    """Counted at the SDK: the items DynamoDB returned for the query of a deep page."""
    from chalicelib.data.models import PostRecord

    key = workspace.test_key
    _create(api, key, 30)
    cursor = None
    for _ in range(4):  # to the fifth page
        answer = api.get("/v1/posts?limit=5" + (f"&cursor={cursor}" if cursor else ""), key).json
        cursor = answer["next_cursor"]
    counted = []
    events = PostRecord._get_connection().connection.client.meta.events

    def count(parsed, **_):
        counted.append(parsed.get("Count", 0))

    events.register("after-call.dynamodb.Query", count)
    try:
        assert len(api.get(f"/v1/posts?limit=5&cursor={cursor}", key).json["data"]) == 5
        by_cursor = sum(counted)
        counted.clear()
        assert len(api.get("/v1/posts?limit=5&offset=20", key).json["data"]) == 5
        by_offset = sum(counted)
    finally:
        events.unregister("after-call.dynamodb.Query", count)
    assert by_cursor == 6 and by_offset == 26  # a page and one more, against every item skipped too

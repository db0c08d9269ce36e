"""Bodies a hostile or careless client sends get a clear 4xx, and nothing is written."""

from __future__ import annotations

import json

from tests.conftest import problem


def _posts(api, workspace):
    return api.get("/v1/posts", workspace.test_key).json["total"]


def test_ten_thousand_nested_arrays_are_a_400_not_a_crash(api, workspace):
    body = problem(api.post("/v1/posts", workspace.test_key, raw=b"[" * 10000 + b"]" * 10000), 400, "json_too_deep")
    assert "32 levels" in body["detail"]
    nested = {"content": "hi", "platforms": ["twitter"], "platform_settings": {"twitter": {}}}
    for _ in range(40):
        nested = {"content": "hi", "tags": [], "x": nested}
    problem(api.post("/v1/posts", workspace.test_key, nested), 400, "json_too_deep")
    assert _posts(api, workspace) == 0


def test_a_field_named_twice_is_refused(api, workspace):
    raw = b'{"content": "first", "content": "second", "platforms": ["twitter"]}'
    body = problem(api.post("/v1/posts", workspace.test_key, raw=raw), 400, "duplicate_json_key")
    assert "'content' twice" in body["detail"]
    assert _posts(api, workspace) == 0


def test_nul_and_lone_surrogates_are_not_stored(api, workspace):
    for text, field in ((r"a\u0000b", "content"), (r"\ud800", "content"), (r"ok", "tags[0]")):
        tags = '["\\udfff"]' if field == "tags[0]" else "[]"
        raw = f'{{"content": "{text}", "platforms": ["twitter"], "tags": {tags}}}'.encode()
        body = problem(api.post("/v1/posts", workspace.test_key, raw=raw), 422, "invalid_characters")
        assert body["errors"][0]["field"] == field
    # A surrogate pair, as JSON escapes an emoji, is a character like any other.
    created = api.post("/v1/posts", workspace.test_key, raw=b'{"content": "\\ud83d\\ude00", "platforms": ["twitter"]}')
    assert created.status == 201 and created.json["data"]["content"] == "😀"
    assert _posts(api, workspace) == 1


def test_fifteen_thousand_unknown_fields_get_a_short_answer(api, workspace):
    body = {"content": "hi", "platforms": ["twitter"], **{f"f{n}": 0 for n in range(15000)}}
    answer = api.post("/v1/posts", workspace.test_key, body)
    problem(answer, 422)
    assert len(answer.json["errors"]) == 50 and answer.json["errors_truncated"] is True
    assert answer.json["errors"][0]["field"] == "f0"
    assert len(answer.raw) < 10_000
    assert _posts(api, workspace) == 0


def test_an_answer_in_utf8_is_valid_json_with_the_text_as_sent(api, workspace):
    text = "Zürich 東京 🚀"
    created = api.post(
        "/v1/posts",
        workspace.test_key,
        raw=json.dumps({"content": text, "platforms": ["twitter"]}, ensure_ascii=False).encode(),
    )
    assert text.encode() in created.raw  # UTF-8 on the wire, not \u escapes
    assert created.json["data"]["content"] == text


def test_an_empty_media_id_names_no_media(api, workspace):
    # Found by Schemathesis: "" was taken for a URL to fetch, and the fetch failed with a 500.
    body = problem(
        api.post("/v1/posts", workspace.test_key, {"content": "hi", "platforms": ["twitter"], "media_ids": [""]}), 422
    )
    assert body["errors"][0]["field"] == "media_ids[0]"


def test_a_query_parameter_without_a_name_is_a_400(api, workspace):
    # Found by Schemathesis: "?limit=1&=null" was answered as if the nameless parameter were not there.
    body = problem(api.get("/v1/posts?limit=1&=null", workspace.test_key), 400, "invalid_query")
    assert body["errors"] == [{"field": "query", "message": "a parameter has no name"}]
    assert api.get("/v1/posts?limit=1&utm_source=mail", workspace.test_key).status == 200  # a named extra is fine

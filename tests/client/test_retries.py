"""The client's retries, against a scripted server on loopback: what is retried (a dropped
connection, 5xx, 429, 409 in flight) and what is not, that Retry-After is honoured, that every
attempt of a write carries the same Idempotency-Key, and that refusals become errors by kind."""

from __future__ import annotations

import asyncio
import json
import time

import openpost
import pytest

from tests.client.scripted_api import DROP, SILENT, ScriptedApi, problem

POST = {"data": {"id": "p1", "status": "draft", "content": "hi"}}


def client(api, **options):
    return openpost.Openpost(api_key="op_test_sk_x", base_url=api.base_url, **options)


@pytest.mark.parametrize(
    "failure",
    [
        DROP,
        (503, {"Retry-After": "0"}, problem(503, "unavailable")),
        (500, {}, problem(500, "internal_error")),
        (429, {"Retry-After": "0"}, problem(429, "rate_limited")),
        (409, {}, problem(409, "idempotency_key_in_flight")),
    ],
    ids=["dropped", "503", "500", "429", "409-in-flight"],
)
def test_a_create_is_retried_with_the_same_idempotency_key(failure):
    with ScriptedApi([failure, failure, (201, {}, POST)]) as api:
        post = client(api).posts.create(content="hi", platforms=["twitter"])
    assert post.id == "p1"
    keys = [seen.headers.get("idempotency-key") for seen in api.seen]
    assert len(keys) == 3 and keys[0] and len(set(keys)) == 1, keys


def test_the_callers_key_is_sent_as_given():
    with ScriptedApi([(201, {}, POST)]) as api:
        client(api).posts.create(content="hi", idempotency_key="demo-launch-v1")
    assert api.seen[0].headers["idempotency-key"] == "demo-launch-v1"


def test_two_calls_have_two_keys_and_reads_have_none():
    with ScriptedApi([(201, {}, POST), (201, {}, POST), (200, {}, POST)]) as api:
        openpost_client = client(api)
        openpost_client.posts.create(content="a")
        openpost_client.posts.create(content="a")
        openpost_client.posts.get("p1")
    first, second, read = (seen.headers.get("idempotency-key") for seen in api.seen)
    assert first and second and first != second and read is None


def test_retry_after_is_honoured():
    with ScriptedApi([(429, {"Retry-After": "1"}, problem(429, "rate_limited")), (200, {}, POST)]) as api:
        started = time.monotonic()
        client(api).posts.get("p1")
    assert time.monotonic() - started >= 1.0 and len(api.seen) == 2


def test_retries_give_up_with_the_error_by_kind():
    answers = [(429, {"Retry-After": "0"}, problem(429, "rate_limited", "Slow down.", request_id="req-9"))] * 3
    with ScriptedApi(answers) as api, pytest.raises(openpost.RateLimitedError) as caught:
        client(api, max_retries=2).posts.list().first_page()
    assert len(api.seen) == 3
    error = caught.value
    assert (error.status, error.code, error.detail, error.request_id) == (429, "rate_limited", "Slow down.", "req-9")
    assert error.retry_after == 0


def test_a_dropped_connection_surfaces_as_a_connection_error_when_retries_run_out():
    with ScriptedApi([DROP, DROP]) as api, pytest.raises(openpost.APIConnectionError):
        client(api, max_retries=1).posts.get("p1")
    assert len(api.seen) == 2


def test_a_timeout_is_retried_with_the_same_key_then_surfaces_as_a_timeout_error():
    with ScriptedApi([SILENT, (201, {}, POST)]) as api:
        assert client(api, timeout=0.3).posts.create(content="hi").id == "p1"
    assert len({seen.headers["idempotency-key"] for seen in api.seen}) == 1 and len(api.seen) == 2
    with ScriptedApi([SILENT, SILENT]) as api, pytest.raises(openpost.APITimeoutError):
        client(api, timeout=0.3, max_retries=1).posts.get("p1")
    assert len(api.seen) == 2


def test_the_async_client_gives_up_by_kind_like_the_sync_one():
    async def run(api):
        async with openpost.AsyncOpenpost(
            api_key="op_test_sk_x", base_url=api.base_url, timeout=0.3, max_retries=1
        ) as async_client:
            return await async_client.posts.get("p1")

    with ScriptedApi([SILENT, SILENT]) as api, pytest.raises(openpost.APITimeoutError):
        asyncio.run(run(api))
    with ScriptedApi([DROP, DROP]) as api, pytest.raises(openpost.APIConnectionError) as dropped:
        asyncio.run(run(api))
    assert not isinstance(dropped.value, openpost.APITimeoutError)
    answers = [(503, {"Retry-After": "0"}, problem(503, "unavailable", "Down."))] * 2
    with ScriptedApi(answers) as api, pytest.raises(openpost.ServerError) as caught:
        asyncio.run(run(api))
    assert caught.value.status == 503 and len(api.seen) == 2


@pytest.mark.parametrize(
    "status, kind",
    [
        (400, openpost.BadRequestError),
        (401, openpost.AuthenticationError),
        (404, openpost.NotFoundError),
        (409, openpost.ConflictError),
        (422, openpost.ValidationError),
    ],
)
def test_refusals_are_not_retried_and_raise_by_kind(status, kind):
    errors = [{"field": "content", "platform": "twitter", "message": "too long"}] if status == 422 else []
    answer = (status, {"X-Request-Id": "req-1"}, problem(status, f"code_{status}", "Because.", errors=errors))
    with ScriptedApi([answer]) as api, pytest.raises(kind) as caught:
        client(api).posts.create(content="hi")
    assert len(api.seen) == 1
    assert (caught.value.code, caught.value.detail, caught.value.request_id) == (f"code_{status}", "Because.", "req-1")
    assert caught.value.errors == errors


def test_pages_are_fetched_lazily_by_cursor():
    page = lambda ids, cursor: {  # noqa: E731
        "data": [{"id": i} for i in ids],
        "total": 3,
        "limit": 2,
        "offset": 0,
        "next_cursor": cursor,
    }
    with ScriptedApi([(200, {}, page(["a", "b"], "djE6Y3Vyc29y")), (200, {}, page(["c"], None))]) as api:
        posts = client(api).posts.list(limit=2, status="draft")
        items = iter(posts)
        assert next(items).id == "a" and len(api.seen) == 1  # one page, not all
        assert [p.id for p in items] == ["b", "c"] and posts.total == 3
    assert api.seen[-1].path == "/v1/posts?limit=2&status=draft&cursor=djE6Y3Vyc29y"


def test_the_async_client_retries_with_the_same_key():
    async def run(api):
        async with openpost.AsyncOpenpost(api_key="op_test_sk_x", base_url=api.base_url) as async_client:
            return await async_client.posts.create(content="hi")

    with ScriptedApi([DROP, (502, {}, problem(502, "bad_gateway")), (201, {}, POST)]) as api:
        post = asyncio.run(run(api))
    assert post.id == "p1" and len({seen.headers["idempotency-key"] for seen in api.seen}) == 1
    assert len(api.seen) == 3


def test_settings_come_from_the_environment_then_the_local_state_file(tmp_path, monkeypatch):
    state = tmp_path / ".openpost" / "local.json"
    state.parent.mkdir()
    state.write_text('{"base_url": "http://127.0.0.1:9", "test_key": "op_test_sk_file"}')
    monkeypatch.delenv("OPENPOST_API_KEY", raising=False)
    monkeypatch.delenv("OPENPOST_BASE_URL", raising=False)
    monkeypatch.delenv("OPENPOST_LOCAL_STATE", raising=False)
    monkeypatch.chdir(tmp_path)
    from_file = openpost.Openpost()
    assert (from_file.api_key, from_file.base_url) == ("op_test_sk_file", "http://127.0.0.1:9")
    monkeypatch.setenv("OPENPOST_API_KEY", "op_test_sk_env")
    assert openpost.Openpost().api_key == "op_test_sk_env"
    assert openpost.Openpost(api_key="op_test_sk_arg").api_key == "op_test_sk_arg"
    monkeypatch.chdir("/")
    monkeypatch.delenv("OPENPOST_API_KEY")
    with pytest.raises(openpost.ConfigurationError):
        openpost.Openpost()


def test_an_upload_streams_the_file_to_the_presigned_url_without_the_api_key(tmp_path):
    payload = bytes(range(256)) * 2400  # 600 KB: three chunks
    path = tmp_path / "clip.png"
    path.write_bytes(payload)
    with ScriptedApi([]) as api:
        ticket = {
            "id": "m1",
            "status": "pending",
            "upload_url": f"{api.base_url}/bucket/uploads/m1?X-Amz-Signature=abc",
            "upload_method": "PUT",
            "upload_headers": {"Content-Type": "image/png"},
        }
        api.answers = [
            (201, {}, {"data": ticket}),
            DROP,  # the first PUT breaks: the whole file is sent again
            (200, {}, None),
            (200, {}, {"data": {"id": "m1", "status": "pending"}}),
            (200, {}, {"data": {"id": "m1", "status": "ready"}}),
        ]
        progress = []
        media = client(api).media.upload(path, alt_text="A clip", on_progress=lambda *p: progress.append(p))
    assert media.status == "ready"
    request, _, put, *_ = api.seen
    assert json.loads(request.body) == {
        "filename": "clip.png",
        "content_type": "image/png",
        "size": 614400,
        "alt_text": "A clip",
    }
    assert put.method == "PUT" and put.body == payload and "authorization" not in put.headers
    assert put.headers["content-type"] == "image/png" and put.headers["content-length"] == str(len(payload))
    assert progress[-4:] == [(0, 614400), (262144, 614400), (524288, 614400), (614400, 614400)]

"""What happens when two writers meet: the version condition, a published post, a key in flight."""

from __future__ import annotations

import copy
import types

import pytest
from chalice import Response

from chalicelib.api import api_keys as api_keys_blueprint
from chalicelib.api.routing import Call
from chalicelib.data.posts import PostStore
from chalicelib.errors import ConflictError


def _create(api, key, **fields):
    answer = api.post("/v1/posts", key, {"content": "Hello", "platforms": ["twitter"], **fields})
    assert answer.status == 201, answer
    return answer.json["data"]["id"]


def test_an_edit_computed_from_a_stale_read_is_refused(api, services, workspace):
    """The publisher (here: publish-now through the API) moves the post on after an editor read it;
    the editor's conditional write must fail rather than publish-then-overwrite."""
    post_id = _create(api, workspace.test_key, schedule_at="2026-05-02T14:00:00Z")
    store = PostStore()
    scope = f"{workspace.workspace.id}#test"
    stale = store.get(scope, post_id)
    assert api.post(f"/v1/posts/{post_id}/publish", workspace.test_key).status == 202
    edited = copy.deepcopy(stale)
    edited.content = "edited too late"
    with pytest.raises(ConflictError):
        store.replace(stale, edited)
    current = store.get(scope, post_id)
    assert current.status == "publishing" and current.content == "Hello"


def test_a_cancel_computed_from_a_stale_read_deletes_nothing(api, workspace):
    post_id = _create(api, workspace.test_key, schedule_at="2026-05-02T14:00:00Z")
    store = PostStore()
    scope = f"{workspace.workspace.id}#test"
    stale = store.get(scope, post_id)
    assert api.request("PATCH", f"/v1/posts/{post_id}", workspace.test_key, body={"content": "v2"}).status == 200
    with pytest.raises(ConflictError):
        store.delete([stale])
    assert store.get(scope, post_id).content == "v2"
    assert api.get("/v1/posts", workspace.test_key).json["total"] == 1


@pytest.mark.parametrize("status", ["published", "failed"])
def test_a_finished_post_cannot_be_edited_or_published(api, workspace, status):
    post_id = _create(api, workspace.test_key)
    store = PostStore()
    scope = f"{workspace.workspace.id}#test"
    before = store.get(scope, post_id)
    after = copy.deepcopy(before)
    after.status = status  # as the publisher leaves it
    store.replace(before, after)
    for method in ("PATCH", "PUT"):
        answer = api.request(method, f"/v1/posts/{post_id}", workspace.test_key, body={"content": "again"})
        assert answer.status == 409 and answer.json["code"] == "post_not_editable"
        assert status in answer.json["detail"]
    answer = api.post(f"/v1/posts/{post_id}/publish", workspace.test_key)
    assert answer.status == 409 and answer.json["code"] == "post_not_publishable"
    assert api.delete(f"/v1/posts/{post_id}", workspace.test_key).status == 204  # removed from the workspace
    assert api.get(f"/v1/posts?status={status}", workspace.test_key).json["total"] == 0


def test_a_request_in_flight_with_the_same_key_is_409(services, workspace):
    """While the first request with a key is still running, a second one with it is refused."""
    principal = services.api_keys.authenticate(f"Bearer {workspace.test_key}")
    op = next(o for o in api_keys_blueprint.blueprint.operations if o.operation_id == "create_api_key")
    request = types.SimpleNamespace(path="/v1/api-keys", raw_body=b'{"name": "a"}', lambda_context=None)
    call = Call(principal=principal, body=None, query=None, headers={"idempotency-key": "in-flight"})
    seen = {}

    def first_request():
        try:
            services.idempotency.run(principal, op, request, call, lambda: Response(body="{}", status_code=201))
        except ConflictError as error:
            seen["error"] = error
        return Response(body='{"data": {}}', status_code=201, headers={"Content-Type": "application/json"})

    services.idempotency.run(principal, op, request, call, first_request)
    assert seen["error"].status == 409 and seen["error"].code == "idempotency_key_in_flight"

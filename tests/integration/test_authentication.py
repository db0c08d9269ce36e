"""Bearer authentication on every /v1 route: each way a key can be wrong gets its own 401."""

from __future__ import annotations

import pytest

from chalicelib.domain.api_keys import new_secret

PROTECTED = ["/v1/integrations", "/v1/api-keys"]


def assert_401(answer, code):
    assert answer.status == 401, answer
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    body = answer.json
    assert body["code"] == code
    assert body["status"] == 401
    assert body["title"] and body["detail"] and body["type"].endswith(code.replace("_", "-"))
    assert "Traceback" not in answer.raw.decode()


@pytest.mark.parametrize("path", PROTECTED)
def test_missing_key(api, workspace, path):
    assert_401(api.get(path), "missing_api_key")


@pytest.mark.parametrize(
    "authorization",
    [
        "op_test_sk_abc",  # no scheme
        "Basic dXNlcjpwYXNz",  # another scheme
        "Bearer",  # nothing after the scheme
        "Bearer op_test_sk_short",  # too short
        "Bearer op_prod_sk_" + "a" * 40,  # no such mode
        "Bearer op_test_sk_" + "a" * 39 + "!",  # a character keys never contain
    ],
)
def test_malformed_key(api, workspace, authorization):
    assert_401(api.get("/v1/integrations", headers={"Authorization": authorization}), "malformed_api_key")


def test_unknown_key(api, workspace):
    assert_401(api.get("/v1/integrations", new_secret("test")), "invalid_api_key")


def test_scheme_is_case_insensitive(api, workspace):
    answer = api.get("/v1/integrations", headers={"Authorization": f"bearer {workspace.test_key}"})
    assert answer.status == 200


def test_revoked_key(api, workspace):
    created = api.post("/v1/api-keys", workspace.test_key, {"name": "to revoke"}).json["data"]
    assert api.get("/v1/integrations", created["secret"]).status == 200
    assert api.delete(f"/v1/api-keys/{created['id']}", workspace.test_key).status == 204
    assert_401(api.get("/v1/integrations", created["secret"]), "invalid_api_key")


def test_rotated_key_works_for_24_hours_then_expires(api, workspace, clock):
    own_id = api.get("/v1/api-keys", workspace.test_key).json["data"][0]["id"]
    rotated = api.post(f"/v1/api-keys/{own_id}/rotate", workspace.test_key)
    assert rotated.status == 201, rotated
    new_secret_ = rotated.json["data"]["secret"]
    assert rotated.json["data"]["replaces"]["expires_at"] == "2026-05-02T12:00:00Z"

    clock.advance(hours=23, minutes=59, seconds=59)
    assert api.get("/v1/integrations", workspace.test_key).status == 200
    clock.advance(seconds=1)
    assert_401(api.get("/v1/integrations", workspace.test_key), "expired_api_key")
    assert api.get("/v1/integrations", new_secret_).status == 200


def test_a_key_revoked_elsewhere_is_honoured_within_60_seconds(api, workspace, services, clock):
    """Authentication is cached per container for at most 60 s; revocation in another container
    (here: the store directly) takes effect here once the cached entry is that old."""
    assert api.get("/v1/integrations", workspace.test_key).status == 200
    key = services.api_keys.list(_principal(services, workspace))[0]
    services.api_keys._store.delete(key)  # as another container would
    clock.advance(seconds=59)
    assert api.get("/v1/integrations", workspace.test_key).status == 200
    clock.advance(seconds=1)
    assert_401(api.get("/v1/integrations", workspace.test_key), "invalid_api_key")


def test_openapi_document_is_public(api):
    assert api.get("/v1/openapi.json").status == 200


def _principal(services, workspace):
    return services.api_keys.authenticate(f"Bearer {workspace.test_key}")

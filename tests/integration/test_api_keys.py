"""/v1/api-keys: create, list, revoke, rotate; secrets shown once and never stored."""

from __future__ import annotations

import json

import boto3

from tests.conftest import problem


def test_create_shows_the_secret_once(api, workspace):
    created = api.post("/v1/api-keys", workspace.test_key, {"name": "ci"})
    assert created.status == 201
    data = created.json["data"]
    assert data["secret"].startswith("op_test_sk_") and data["mode"] == "test" and data["name"] == "ci"
    assert data["redacted"] == f"{data['secret'][:15]}…{data['secret'][-4:]}"
    listed = api.get("/v1/api-keys", workspace.test_key).json
    assert listed["total"] == 2 and [item["id"] for item in listed["data"]][0] == data["id"]  # newest first
    assert all("secret" not in item for item in listed["data"])
    assert api.get("/v1/integrations", data["secret"]).status == 200


def test_name_is_validated(api, workspace):
    answer = api.post("/v1/api-keys", workspace.test_key, {"name": ""})
    assert problem(answer, 422, "validation_failed")["errors"][0]["field"] == "name"


def test_no_secret_is_readable_from_any_table(api, workspace, aws):
    """Only hashes are stored, including in the idempotency table that lets a create be replayed."""
    first = api.post("/v1/api-keys", workspace.test_key, {"name": "x"}, headers={"Idempotency-Key": "k-1"})
    replay = api.post("/v1/api-keys", workspace.test_key, {"name": "x"}, headers={"Idempotency-Key": "k-1"})
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json == first.json and replay.status == 201
    rotated = api.post(
        f"/v1/api-keys/{first.json['data']['id']}/rotate", workspace.test_key, headers={"Idempotency-Key": "k-2"}
    ).json["data"]["secret"]
    secrets = [workspace.test_key, workspace.live_key, first.json["data"]["secret"], rotated]
    dynamodb = boto3.client("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        # A test may scan; no request or worker path does.
        dump = json.dumps(dynamodb.scan(TableName=table)["Items"])
        for secret in secrets:
            assert secret not in dump, f"a secret is readable in {table}"
            assert secret[-24:] not in dump


def test_rotating_twice_is_a_conflict(api, workspace):
    key_id = api.get("/v1/api-keys", workspace.test_key).json["data"][0]["id"]
    assert api.post(f"/v1/api-keys/{key_id}/rotate", workspace.test_key).status == 201
    again = api.post(f"/v1/api-keys/{key_id}/rotate", workspace.test_key)
    assert again.status == 409 and again.json["code"] == "api_key_already_rotated"
    keys = api.get("/v1/api-keys", workspace.test_key).json
    assert keys["total"] == 2
    old = next(item for item in keys["data"] if item["id"] == key_id)
    assert old["expires_at"] and old["replaced_by"]


def test_revoking_an_unknown_key_is_404(api, workspace):
    answer = api.delete("/v1/api-keys/01900000-0000-7000-8000-000000000000", workspace.test_key)
    assert answer.status == 404 and answer.json["code"] == "api_key_not_found"


def test_revoking_twice_is_404(api, workspace):
    created = api.post("/v1/api-keys", workspace.test_key, {"name": "gone"}).json["data"]
    assert api.delete(f"/v1/api-keys/{created['id']}", workspace.test_key).status == 204
    problem(api.delete(f"/v1/api-keys/{created['id']}", workspace.test_key), 404, "api_key_not_found")


def test_idempotency_rules(api, workspace):
    headers = {"Idempotency-Key": "same"}
    assert api.post("/v1/api-keys", workspace.test_key, {"name": "a"}, headers=headers).status == 201
    # Same body with other whitespace and key order is the same request.
    same = api.post("/v1/api-keys", workspace.test_key, raw=b'{ "name" :  "a" }', headers=headers)
    assert same.status == 201 and same.headers.get("idempotent-replayed") == "true"
    different = api.post("/v1/api-keys", workspace.test_key, {"name": "b"}, headers=headers)
    assert different.status == 422 and different.json["code"] == "idempotency_key_reused"
    # Keys are scoped to the workspace and mode: the live world may reuse it.
    live = api.post("/v1/api-keys", workspace.live_key, {"name": "b"}, headers=headers)
    assert live.status == 201 and "idempotent-replayed" not in live.headers
    assert api.get("/v1/api-keys", workspace.test_key).json["total"] == 2


def test_a_failed_request_is_not_recorded(api, workspace):
    headers = {"Idempotency-Key": "retry-me"}
    for _ in range(2):  # refused each time: the refusal was not kept as the key's answer
        answer = api.post("/v1/api-keys", workspace.test_key, {"name": ""}, headers=headers)
        assert problem(answer, 422, "validation_failed")["errors"][0]["field"] == "name"
        assert "idempotent-replayed" not in answer.headers
    assert api.get("/v1/api-keys", workspace.test_key).json["total"] == 1


def test_idempotency_key_length_is_checked(api, workspace):
    answer = api.post("/v1/api-keys", workspace.test_key, {"name": "a"}, headers={"Idempotency-Key": "x" * 256})
    assert answer.status == 400 and answer.json["code"] == "invalid_idempotency_key"


def test_a_replay_shows_the_secret_only_to_a_prompt_retry_and_never_after_revocation(api, workspace, clock):
    headers = {"Idempotency-Key": "shown-once"}
    first = api.post("/v1/api-keys", workspace.test_key, {"name": "ci"}, headers=headers)
    retry = api.post("/v1/api-keys", workspace.test_key, {"name": "ci"}, headers=headers)
    assert retry.status == 201 and retry.json["data"]["secret"] == first.json["data"]["secret"]
    # Ten minutes on, the answer is no longer a lost one: the secret is not shown again.
    clock.advance(minutes=10, seconds=1)
    late = api.post("/v1/api-keys", workspace.test_key, {"name": "ci"}, headers=headers)
    assert late.status == 409 and late.json["code"] == "secret_not_shown_again"
    assert first.json["data"]["id"] in late.json["detail"] and first.json["data"]["secret"] not in late.raw.decode()
    # A key revoked is never shown again, however prompt the retry.
    headers = {"Idempotency-Key": "revoked-then-replayed"}
    created = api.post("/v1/api-keys", workspace.test_key, {"name": "gone"}, headers=headers).json["data"]
    assert api.delete(f"/v1/api-keys/{created['id']}", workspace.test_key).status == 204
    replay = api.post("/v1/api-keys", workspace.test_key, {"name": "gone"}, headers=headers)
    assert replay.status == 409 and replay.json["code"] == "secret_not_shown_again"
    assert created["secret"] not in replay.raw.decode()
    assert api.get("/v1/api-keys", workspace.test_key).json["total"] == 2  # nothing was created again

"""Test and live mode are separate worlds of one workspace: ids of the other world are 404."""

from __future__ import annotations

from tests.conftest import problem


def test_live_key_does_not_see_test_integrations(api, workspace):
    test_items = api.get("/v1/integrations", workspace.test_key).json["data"]
    assert {item["platform"] for item in test_items} >= {"twitter", "bluesky"}
    live = api.get("/v1/integrations", workspace.live_key).json
    assert live["data"] == [] and live["total"] == 0
    for item in test_items:
        answer = api.get(f"/v1/integrations/{item['id']}", workspace.live_key)
        assert answer.status == 404 and answer.json["code"] == "integration_not_found"
        assert api.get(f"/v1/integrations/{item['id']}", workspace.test_key).status == 200


def test_api_keys_of_the_other_mode_are_invisible(api, workspace):
    live_keys = api.get("/v1/api-keys", workspace.live_key).json["data"]
    test_keys = api.get("/v1/api-keys", workspace.test_key).json["data"]
    assert [k["mode"] for k in live_keys] == ["live"] and [k["mode"] for k in test_keys] == ["test"]
    live_id = live_keys[0]["id"]
    problem(api.delete(f"/v1/api-keys/{live_id}", workspace.test_key), 404, "api_key_not_found")
    problem(api.post(f"/v1/api-keys/{live_id}/rotate", workspace.test_key), 404, "api_key_not_found")
    assert api.get("/v1/integrations", workspace.live_key).status == 200  # untouched


def test_another_workspace_is_invisible(api, services, workspace):
    other = services.workspaces.create("Other")
    theirs = api.get("/v1/integrations", other.test_key).json["data"][0]["id"]
    problem(api.get(f"/v1/integrations/{theirs}", workspace.test_key), 404, "integration_not_found")
    their_key = api.get("/v1/api-keys", other.test_key).json["data"][0]["id"]
    problem(api.delete(f"/v1/api-keys/{their_key}", workspace.test_key), 404, "api_key_not_found")

"""/v1/integrations: the test world starts with sandbox accounts."""

from __future__ import annotations


def test_test_world_starts_with_sandbox_integrations(api, workspace):
    answer = api.get("/v1/integrations", workspace.test_key)
    assert answer.status == 200
    body = answer.json
    assert set(body) == {"data", "total", "limit", "offset", "next_cursor"}
    assert body["limit"] == 20 and body["offset"] == 0 and body["total"] == len(body["data"])
    platforms = {item["platform"]: item for item in body["data"]}
    assert {"twitter", "bluesky"} <= set(platforms)
    twitter = platforms["twitter"]
    assert set(twitter) >= {"id", "platform", "username", "display_name", "status"}
    assert twitter["status"] == "active" and twitter["sandbox"] is True
    single = api.get(f"/v1/integrations/{twitter['id']}", workspace.test_key)
    assert single.status == 200 and single.json["data"] == twitter


def test_pagination_and_filter(api, workspace):
    everything = api.get("/v1/integrations", workspace.test_key).json
    page = api.get("/v1/integrations?limit=1&offset=1", workspace.test_key).json
    assert page["total"] == everything["total"] and page["limit"] == 1 and page["offset"] == 1
    assert page["data"] == everything["data"][1:2]
    disconnected = api.get("/v1/integrations?status=disconnected", workspace.test_key).json
    assert disconnected["data"] == [] and disconnected["total"] == 0


def test_bad_query_is_400_with_fields(api, workspace):
    for query, field in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        ("status=sleeping", "status"),
    ]:
        answer = api.get(f"/v1/integrations?{query}", workspace.test_key)
        assert answer.status == 400, query
        assert answer.json["code"] == "invalid_query"
        assert [error["field"] for error in answer.json["errors"]] == [field]


def test_unknown_integration_is_404(api, workspace):
    answer = api.get("/v1/integrations/not-an-id", workspace.test_key)
    assert answer.status == 404 and answer.json["code"] == "integration_not_found"

"""GET /v1/health: what uptime monitors and the local stack's start-up check ask."""

from __future__ import annotations

import boto3

from chalicelib import __version__
from tests.conftest import problem


def test_healthy_without_a_key_and_says_nothing_secret(api):
    answer = api.get("/v1/health")
    assert answer.status == 200, answer
    assert answer.json == {"data": {"status": "ok", "version": __version__, "table": "reachable"}}


def test_the_table_unreachable_is_a_503_problem(api, services):
    boto3.client("dynamodb", region_name=services.settings.region).delete_table(
        TableName=services.settings.table_name("workspaces")
    )
    body = problem(api.get("/v1/health"), 503, "temporarily_unavailable")
    assert "workspaces" not in body["detail"] and "arn:" not in str(body)


def test_health_is_in_the_openapi_document_without_security(api):
    document = api.get("/v1/openapi.json").json
    operation = document["paths"]["/v1/health"]["get"]
    assert operation["security"] == []
    assert "503" in operation["responses"] and document["info"]["version"] == __version__

"""GET /v1/health: what uptime monitors and the local stack's start-up check ask."""

from __future__ import annotations

import datetime as dt
import logging

import boto3

from chalicelib import __version__
from chalicelib.clock import ManualClock
from tests.conftest import problem, services_with


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


class SteppingClock(ManualClock):
    """A clock whose monotonic reading moves an eighth of a second each time it is read."""

    def monotonic(self) -> float:
        self.advance(seconds=0.125)
        return super().monotonic()


class Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def test_the_request_s_duration_is_read_from_the_deployment_s_clock(aws, api):
    logs = Records()
    openpost = logging.getLogger("openpost")
    level = openpost.level
    openpost.addHandler(logs)
    openpost.setLevel(logging.INFO)  # the tests run at WARNING; this line is INFO
    try:
        with services_with(aws, SteppingClock(dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC))):
            assert api.get("/v1/health").status == 200
    finally:
        openpost.removeHandler(logs)
        openpost.setLevel(level)
    served = [record for record in logs.records if record.getMessage() == "request served"]
    assert [record.duration_ms for record in served] == [125.0]

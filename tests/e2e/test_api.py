"""The HTTP API of a running local stack, with the keys it printed, over real HTTP."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from openapi_spec_validator import validate

pytestmark = pytest.mark.e2e


def get(stack, path, key=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.get(f"{stack.base_url}{path}", headers=headers, timeout=10)


def test_banner_shows_the_keys_and_a_curl_line_that_works(stack):
    output = stack.output()
    state = stack.state
    assert state["test_key"] in output and state["live_key"] in output and state["workspace_id"] in output
    curl = f'curl -H "Authorization: Bearer {state["test_key"]}" {state["base_url"]}/v1/integrations'
    assert curl in output
    assert state["aws_endpoint_url"] in output  # where moto is, for the developer's own AWS calls


def test_test_key_lists_the_sandbox_integrations(stack):
    answer = get(stack, "/v1/integrations", stack.state["test_key"])
    assert answer.status_code == 200
    integrations = {item["platform"]: item for item in answer.json()["data"]}
    assert {"twitter", "bluesky"} <= set(integrations)
    for platform in ("twitter", "bluesky"):
        integration = integrations[platform]
        assert integration["id"] and integration["username"] and integration["display_name"]
        assert integration["platform"] == platform and integration["status"] == "active"


def test_answers_carry_the_rate_limit_fields_over_http(stack):
    """The local stack counts in its emulated DynamoDB as a deployment does; each request is counted."""
    first = get(stack, "/v1/integrations", stack.state["test_key"])
    second = get(stack, "/v1/posts/0196a0c4-1111-7000-8000-00000000abcd", stack.state["test_key"])
    assert first.status_code == 200 and second.status_code == 404
    assert first.headers["RateLimit-Policy"] == second.headers["RateLimit-Policy"] == '"default";q=600;w=60'
    used = [int(answer.headers["RateLimit"].split(";r=")[1].split(";")[0]) for answer in (first, second)]
    # One less, unless a new minute began between the two (the window is the clock's minute).
    assert used[1] == used[0] - 1 or used[1] == 599


def test_live_key_sees_no_sandbox_integrations(stack):
    answer = get(stack, "/v1/integrations", stack.state["live_key"])
    assert answer.status_code == 200
    assert answer.json()["data"] == []


def test_no_key_is_401_problem(stack):
    answer = get(stack, "/v1/integrations")
    assert answer.status_code == 401
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.json()["code"]


def test_openapi_document_is_valid(stack):
    answer = get(stack, "/v1/openapi.json")
    assert answer.status_code == 200
    validate(answer.json())


def test_concurrent_requests_each_get_their_own_answer(stack):
    # Chalice's server is threaded; the stack serialises calls into the app, whose current request
    # is a single attribute. Interleaved test and live calls must each see their own world.
    keys = [stack.state["test_key"], stack.state["live_key"]] * 8
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda key: get(stack, "/v1/integrations", key), keys))
    for key, answer in zip(keys, answers, strict=True):
        assert answer.status_code == 200
        assert bool(answer.json()["data"]) == (key == stack.state["test_key"])


def test_every_request_log_line_carries_request_and_workspace_ids(stack):
    """Powertools' JSON log lines name the request and, once authenticated, the workspace."""
    import json
    import time

    marker = f"/v1/integrations?limit=7&offset={int(time.time()) % 1000}"
    assert get(stack, marker, stack.state["test_key"]).status_code == 200
    deadline = time.monotonic() + 10
    served = []
    while time.monotonic() < deadline and not served:
        lines = [json.loads(line) for line in stack.output().splitlines() if line.startswith("{")]
        served = [
            line
            for line in lines
            if line.get("message") == "request served"
            and line.get("workspace_id") == stack.state["workspace_id"]
            and line.get("status") == 200
        ]
        time.sleep(0.2)
    assert served, "no 'request served' line for the workspace"
    line = served[-1]
    assert line["request_id"] and line["level"] == "INFO" and line["service"] == "openpost"
    assert line["mode"] == "test" and line["path"] == "/v1/integrations" and "duration_ms" in line

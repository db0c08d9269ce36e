"""The API's edges, in-process: a method a path lacks is 405 with Allow, OPTIONS is a preflight
for the configured origins, and every such answer is problem+json. (Over HTTP against the local
stack, unknown paths and TRACE too: tests/e2e/test_edges.py.)"""

from __future__ import annotations

import pytest

import app as application
from chalicelib.api import edges
from tests.conftest import problem, services_with

EVERY_PATH = sorted(application.app.routes)


def _real_methods(path):
    return {method for method, entry in application.app.routes[path].items() if not edges.is_edge_route(entry)} | {
        "OPTIONS"
    }


@pytest.mark.parametrize("path", EVERY_PATH)
def test_every_method_a_path_lacks_is_a_405_naming_the_ones_it_has(api, workspace, path):
    allow = edges.ALLOW[path]
    assert set(allow.split(", ")) == _real_methods(path)
    concrete = path.replace("{", "").replace("}", "")
    for method in edges.DECLARABLE:
        if method in allow.split(", "):
            continue
        answer = api.request(method, concrete, workspace.test_key)
        body = problem(answer, 405, "method_not_allowed")
        assert answer.headers["allow"] == allow and method in body["detail"]


def test_a_preflight_from_an_allowed_origin_is_answered(api, aws, clock):
    with services_with(aws, clock, cors_origins=("https://app.example.com",)):
        answer = api.request(
            "OPTIONS",
            "/v1/posts",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, idempotency-key",
            },
        )
        assert answer.status == 204 and answer.raw == b""
        assert answer.headers["access-control-allow-origin"] == "https://app.example.com"
        assert answer.headers["access-control-allow-methods"] == "GET, OPTIONS, POST"
        assert "Idempotency-Key" in answer.headers["access-control-allow-headers"]
        refused = api.request("OPTIONS", "/v1/posts", headers={"Origin": "https://evil.example"})
        body = problem(refused, 403, "origin_not_allowed")
        assert "https://evil.example" in body["detail"]
        assert "access-control-allow-origin" not in refused.headers


def test_answers_to_an_allowed_origin_can_be_read_by_its_pages(api, aws, clock):
    from chalicelib.container import services

    with services_with(aws, clock, cors_origins=("https://app.example.com",)):
        key = services().workspaces.create("Acme").test_key
        answer = api.get("/v1/posts", key, headers={"Origin": "https://app.example.com"})
        assert answer.status == 200
        assert answer.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "RateLimit" in answer.headers["access-control-expose-headers"]
        other = api.get("/v1/posts", key, headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_options_without_an_origin_lists_the_methods(api):
    answer = api.request("OPTIONS", "/v1/posts/123")
    assert answer.status == 204 and answer.headers["allow"] == "DELETE, GET, OPTIONS, PATCH, PUT"

"""The API's edges over real HTTP against the local stack: what API Gateway answers itself (through
the stack's gateway responses), the local server answers the same, as problem+json."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from chalicelib.api.edges import GATEWAY_PROBLEMS

pytestmark = pytest.mark.e2e


def _problem(answer, status, code):
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    body = answer.json()
    assert body["code"] == code and body["status"] == status
    return body


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "TRACE", "PROPFIND"])
@pytest.mark.parametrize("path", ["/", "/v2/posts", "/v1/nothing/here", "/v1/posts/1/2/3"])
def test_an_unknown_path_is_404(stack, method, path):
    answer = requests.request(method, f"{stack.base_url}{path}", timeout=10)
    body = _problem(answer, 404, "not_found")
    assert body == GATEWAY_PROBLEMS["MISSING_AUTHENTICATION_TOKEN"].body()  # what the gateway says deployed


@pytest.mark.parametrize("method", ["DELETE", "PUT", "TRACE", "PROPFIND"])
def test_a_method_the_path_lacks_is_405_with_allow(stack, method):
    answer = requests.request(
        method, f"{stack.base_url}/v1/posts", timeout=10, headers={"Authorization": f"Bearer {stack.state['test_key']}"}
    )
    _problem(answer, 405, "method_not_allowed")
    assert answer.headers["Allow"] == "GET, OPTIONS, POST"


def test_a_preflight_is_answered(stack):
    answer = requests.options(
        f"{stack.base_url}/v1/posts/abc",
        timeout=10,
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "PATCH"},
    )
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == "https://app.example.com"  # the local stack allows "*"
    assert answer.headers["Access-Control-Allow-Methods"] == "DELETE, GET, OPTIONS, PATCH, PUT"


def _raw(stack, request: bytes) -> str:
    host, port = stack.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def test_a_request_it_cannot_read_gets_a_problem_not_a_page(stack):
    raw = _raw(stack, b"GET /v1/posts HTTP/1.1\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n")
    head, _, body = raw.partition("\r\n\r\n")
    assert head.splitlines()[0].startswith("HTTP/1.") and " 431 " in head.splitlines()[0]
    assert "application/problem+json" in head and '"status": 431' in body
    # A request line too broken to name its HTTP version gets the problem alone, no page either.
    assert '"code": "bad_request"' in _raw(stack, b"GET /v1/posts HTTP/1.1 extra\r\n\r\n")
    assert "<html" not in raw.lower()


def test_fifty_simultaneous_connections_are_all_served(stack):
    def one(_):
        return requests.get(f"{stack.base_url}/v1/openapi.json", timeout=30).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        assert list(pool.map(one, range(50))) == [200] * 50

"""The answers at the API's edges: a method a path lacks, a CORS preflight, a path that is not there.

API Gateway knows only the methods each path declares: for any other it answers 403 "Missing
Authentication Token", as it does for a path it does not know. So every path also declares the
methods it lacks, answered here with 405 and ``Allow``, and ``OPTIONS``, answered as a preflight for
the deployment's CORS origins. What is left to API Gateway (unknown paths, bodies over its limit,
throttling, timeouts) it answers through gateway responses (``GATEWAY_PROBLEMS``, installed by the
stack), and the local server answers the same (tools/devstack_http.py): always problem+json,
never a bare message or an HTML page.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from chalice import Chalice, Response

from chalicelib.api import problems

# The methods API Gateway lets a path declare (besides ANY).
DECLARABLE = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key"
EXPOSED_HEADERS = "Idempotent-Replayed, RateLimit, RateLimit-Policy, Retry-After, Location"
PREFLIGHT_MAX_AGE_SECONDS = 600


class GatewayProblem:
    """A gateway response type of API Gateway, as the problem it becomes."""

    def __init__(self, status: int, code: str, title: str, detail: str):
        self.status, self.code, self.title, self.detail = status, code, title, detail

    def body(self, detail: str | None = None) -> dict[str, object]:
        return problems.problem_body(self.status, self.code, self.title, detail or self.detail)


# API Gateway's own answers, by gateway response type, and what each becomes.
GATEWAY_PROBLEMS: dict[str, GatewayProblem] = {
    "MISSING_AUTHENTICATION_TOKEN": GatewayProblem(
        404, "not_found", "Not found", "No such path. The API's paths are listed at /v1/openapi.json."
    ),
    "REQUEST_TOO_LARGE": GatewayProblem(
        413, "payload_too_large", "Payload too large", "The request is larger than the API accepts."
    ),
    "THROTTLED": GatewayProblem(
        429, "rate_limited", "Too many requests", "The API is receiving more requests than it serves; retry shortly."
    ),
    "QUOTA_EXCEEDED": GatewayProblem(
        429, "rate_limited", "Too many requests", "The API's request quota is used up; retry later."
    ),
    "UNSUPPORTED_MEDIA_TYPE": GatewayProblem(
        415, "unsupported_media_type", "Unsupported media type", "Send the body as application/json."
    ),
    "INTEGRATION_TIMEOUT": GatewayProblem(
        504,
        "timeout",
        "Gateway timeout",
        "The request took longer than the API allows (29 s). If it carried an "
        "Idempotency-Key, retrying with the same key is safe.",
    ),
    "DEFAULT_4XX": GatewayProblem(400, "bad_request", "Bad request", "The API gateway refused the request."),
    "DEFAULT_5XX": GatewayProblem(
        502,
        "bad_gateway",
        "Bad gateway",
        "The API could not answer; retrying a request with an Idempotency-Key is safe.",
    ),
}


def gateway_problem_response(kind: str) -> Response:
    problem = GATEWAY_PROBLEMS[kind]
    return problems.problem_response(problem.status, problem.code, problem.title, problem.detail)


def cors_headers(origin: str | None, allowed_origins: Sequence[str]) -> dict[str, str]:
    """The headers that let a browser at ``origin`` read an answer, if it is allowed."""
    if not origin or not (origin in allowed_origins or "*" in allowed_origins):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSED_HEADERS, "Vary": "Origin"}


def _method_not_allowed(app: Chalice, allow: str):
    def view(**_path_params):
        method = app.current_request.method
        return problems.problem_response(
            405,
            "method_not_allowed",
            "Method not allowed",
            f"{method} is not a method of this path; it takes {allow}.",
            headers={"Allow": allow},
        )

    return view


def _preflight(app: Chalice, allow: str):
    def view(**_path_params):
        from chalicelib.container import services

        allowed_origins = services().settings.cors_origins
        headers = {key.lower(): value for key, value in (app.current_request.headers or {}).items()}
        origin = headers.get("origin")
        if origin and not cors_headers(origin, allowed_origins):
            return problems.problem_response(
                403,
                "origin_not_allowed",
                "Origin not allowed",
                f"Browsers at {origin} may not call this API; the deployment's cors_origins lists those that may.",
                headers={"Allow": allow},
            )
        cors = cors_headers(origin, allowed_origins)
        if cors:
            cors.update(
                {
                    "Access-Control-Allow-Methods": allow,
                    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                    "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
                }
            )
        return Response(body="", status_code=204, headers={"Allow": allow, **cors})

    return view


# Each path's own methods, as its Allow header lists them.
ALLOW: dict[str, str] = {}
_EDGE_VIEWS = ("method_not_allowed_", "preflight_")


def is_edge_route(entry) -> bool:
    """Whether a Chalice route entry is one of those ``install`` adds (not an API operation)."""
    return entry.view_name.startswith(_EDGE_VIEWS)


def install(app: Chalice) -> None:
    """Declare, on every path, the methods it lacks (405) and OPTIONS (a preflight). Call it once,
    after every blueprint is registered."""
    for number, (path, methods) in enumerate(sorted(app.routes.items())):
        declared = sorted(set(methods) | {"OPTIONS"})
        allow = ALLOW[path] = ", ".join(declared)
        missing = [method for method in DECLARABLE if method not in methods and method != "OPTIONS"]
        if missing:
            view = _method_not_allowed(app, allow)
            view.__name__ = f"method_not_allowed_{number}"
            app.route(path, methods=missing)(view)
        if "OPTIONS" not in methods:
            view = _preflight(app, allow)
            view.__name__ = f"preflight_{number}"
            app.route(path, methods=["OPTIONS"])(view)


def local_gateway_answer(kind: str) -> dict[str, object]:
    """What the local server sends where API Gateway would answer with a gateway response."""
    problem = GATEWAY_PROBLEMS[kind]
    return {
        "statusCode": problem.status,
        "headers": {"Content-Type": problems.PROBLEM_CONTENT_TYPE},
        "multiValueHeaders": {},
        "body": json.dumps(problem.body()),
    }

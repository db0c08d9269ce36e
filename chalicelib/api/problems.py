"""RFC 9457 problem details: how every error leaves the API."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from chalice import Response

from chalicelib.errors import OpenpostError

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://openpost.dev/problems/"
MAX_LISTED_ERRORS = 50


def problem_body(
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: Iterable[Mapping[str, str]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code.replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        listed = [dict(error) for _, error in zip(range(MAX_LISTED_ERRORS + 1), errors, strict=False)]
        if len(listed) > MAX_LISTED_ERRORS:
            # A body with thousands of bad fields gets the first ones, not a megabyte of them.
            listed = listed[:MAX_LISTED_ERRORS]
            body["errors_truncated"] = True
        body["errors"] = listed
    if extra:
        body.update(extra)
    return body


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: Iterable[Mapping[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    return Response(
        body=json.dumps(problem_body(status, code, title, detail, errors, extra)),
        status_code=status,
        headers={"Content-Type": PROBLEM_CONTENT_TYPE, **(headers or {})},
    )


def from_error(error: OpenpostError) -> Response:
    return problem_response(
        error.status,
        error.code,
        error.title,
        error.detail,
        errors=getattr(error, "errors", None),
        headers=error.headers,
        extra=error.extra,
    )


# Chalice answers some requests itself before our code runs (unsupported content type, a method
# the route lacks) with {"Code": ..., "Message": ...}; these become problems too.
_CHALICE_CODES = {
    "BadRequestError": "bad_request",
    "UnauthorizedError": "unauthenticated",
    "ForbiddenError": "forbidden",
    "NotFoundError": "not_found",
    "MethodNotAllowedError": "method_not_allowed",
    "RequestTimeoutError": "request_timeout",
    "ConflictError": "conflict",
    "UnprocessableEntityError": "validation_failed",
    "TooManyRequestsError": "rate_limited",
    "UnsupportedMediaType": "unsupported_media_type",
    "InternalServerError": "internal_error",
}


def from_chalice_error(response: Response) -> Response:
    body = response.body
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:
            return response
    if not (isinstance(body, dict) and set(body) == {"Code", "Message"}):
        return response
    code = _CHALICE_CODES.get(body["Code"], "error")
    title = code.replace("_", " ").capitalize()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    return problem_response(response.status_code, code, title, str(body["Message"]), headers=headers)

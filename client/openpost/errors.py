"""Errors by kind. Every answer the API refuses is an ``APIError`` subclass carrying the problem
body's ``code`` and ``detail``, the HTTP status and the request id, so callers catch what they can
handle (``except openpost.RateLimitedError``) and log the rest with something to quote."""

from __future__ import annotations

from typing import Any


class OpenpostError(Exception):
    """Anything this package raises."""


class ConfigurationError(OpenpostError):
    """No API key, or settings that cannot work."""


class APIConnectionError(OpenpostError):
    """The API could not be reached, or the connection broke before an answer (retried first)."""


class APITimeoutError(APIConnectionError):
    """No answer in time (retried first)."""


class APIError(OpenpostError):
    """The API answered with an error: a problem+json body (RFC 9457) with a stable ``code``."""

    status: int

    def __init__(
        self,
        status: int,
        *,
        code: str | None = None,
        title: str | None = None,
        detail: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ):
        self.status = status
        self.code = code or "unknown_error"
        self.title = title
        self.detail = detail or title or f"HTTP {status}"
        self.errors = errors or []
        self.request_id = request_id
        self.body = body
        self.headers = headers or {}
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.detail} ({self.code}, HTTP {self.status}"
        text += f", request {self.request_id})" if self.request_id else ")"
        for error in self.errors:
            where = ".".join(str(part) for part in (error.get("platform"), error.get("field")) if part)
            text += f"\n  {where}: {error.get('message')}" if where else f"\n  {error.get('message')}"
        return text


class BadRequestError(APIError):
    """400: the request is malformed (bad JSON, a bad header)."""


class AuthenticationError(APIError):
    """401: no key, an unknown key, or a revoked one."""


class PermissionDeniedError(APIError):
    """403: the key may not do this."""


class NotFoundError(APIError):
    """404: no such object in this workspace."""


class ConflictError(APIError):
    """409: the object's state forbids it, or the same Idempotency-Key is still in flight."""


class ValidationError(APIError):
    """422: the body breaks a rule; ``errors`` lists each field (and platform) at fault."""


class RateLimitedError(APIError):
    """429: too many requests; ``retry_after`` says how many seconds to wait."""

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))


class ServerError(APIError):
    """5xx: the API failed; nothing is known to have changed (retried first)."""


BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitedError,
}


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, from either of its forms (seconds, or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import datetime as dt
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - dt.datetime.now(dt.UTC)).total_seconds())


REQUEST_ID_HEADERS = ("x-request-id", "request-id", "apigw-requestid", "x-amzn-requestid")


def error_from_response(status: int, headers: dict[str, str], body: Any) -> APIError:
    problem = body if isinstance(body, dict) else {}
    request_id = problem.get("request_id") or next(
        (headers[name] for name in REQUEST_ID_HEADERS if headers.get(name)), None
    )
    kind = BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    return kind(
        status,
        code=problem.get("code"),
        title=problem.get("title"),
        detail=problem.get("detail") or (body if isinstance(body, str) and body else None),
        errors=problem.get("errors"),
        request_id=request_id,
        body=body,
        headers=headers,
    )

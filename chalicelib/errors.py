"""One hierarchy for every error a caller can see.

Each error carries its HTTP status, a stable machine ``code`` and a human ``detail``; the API layer
renders them as RFC 9457 problem details in one place (chalicelib/api/problems.py). Domain and
data-access code raise these and never build HTTP responses themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class OpenpostError(Exception):
    status = 500
    code = "internal_error"
    title = "Internal server error"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


class BadRequestError(OpenpostError):
    status = 400
    code = "bad_request"
    title = "Bad request"


class AuthenticationError(OpenpostError):
    status = 401
    code = "unauthenticated"
    title = "Unauthenticated"

    def __init__(self, detail: str, *, code: str | None = None):
        super().__init__(detail, code=code, headers={"WWW-Authenticate": 'Bearer realm="openpost"'})


class NotFoundError(OpenpostError):
    status = 404
    code = "not_found"
    title = "Not found"


class ConflictError(OpenpostError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLargeError(OpenpostError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaTypeError(OpenpostError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class ValidationError(OpenpostError):
    """The request is well formed but its meaning is not acceptable (422)."""

    status = 422
    code = "validation_failed"
    title = "Validation failed"

    def __init__(self, detail: str, *, errors: Iterable[Mapping[str, str]] = (), code: str | None = None):
        super().__init__(detail, code=code)
        self.errors = [dict(error) for error in errors]


class InvalidQueryError(BadRequestError):
    """A query string that does not parse (400), with the same field list as ValidationError."""

    code = "invalid_query"

    def __init__(self, detail: str, *, errors: Iterable[Mapping[str, str]] = ()):
        super().__init__(detail)
        self.errors = [dict(error) for error in errors]


class RateLimitedError(OpenpostError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(
        self,
        detail: str,
        *,
        retry_after: int,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ):
        super().__init__(detail, headers={**(headers or {}), "Retry-After": str(max(1, int(retry_after)))}, extra=extra)


class ServiceUnavailableError(OpenpostError):
    """A dependency failed and nothing was changed; the request can be retried as it is."""

    status = 503
    code = "temporarily_unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str, *, retry_after: int = 2):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})

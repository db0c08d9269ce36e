"""One hierarchy for every error a caller can see: the API's own, a platform's, a media file's.

Each error carries its HTTP status, a stable machine ``code`` and a human ``detail`` (also
``message``); the API layer renders them as RFC 9457 problem details in one place
(chalicelib/api/problems.py). Domain and data-access code raise these and never build HTTP responses
themselves. A code means one status wherever it is raised (tests/unit/test_errors.py checks it):
a platform's refusal stored on a post target and the same refusal met while connecting an account
are the same code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Each class's own code and the status and title it answers with, gathered as the classes are
# defined: an error raised with another class's code (a platform refusing media as
# ``media_too_large``) answers that class's status, so a code means one status everywhere.
_BY_CODE: dict[str, tuple[int, str]] = {}


class OpenpostError(Exception):
    status = 500
    code = "internal_error"
    title = "Internal server error"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            _BY_CODE[cls.code] = (cls.status, cls.title)

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
            self.status, self.title = _BY_CODE.get(code, (self.status, self.title))
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    @property
    def message(self) -> str:
        return self.detail


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

    def __init__(self, detail: str, *, retry_after: int = 2, code: str | None = None):
        super().__init__(detail, code=code, headers={"Retry-After": str(retry_after)})


# --- media ---------------------------------------------------------------------------------------
class MediaRejectedError(ValidationError):
    """A media file or URL that cannot be used (a damaged file, a type we do not take, a URL that
    cannot be fetched): ``code`` is stable for clients (chalicelib/media/probe.py and fetch.py name
    them), ``message`` is written for the user."""

    code = "media_rejected"


class MediaTooLargeError(MediaRejectedError):
    """A file over a size limit (ours, or a platform's)."""

    code = "media_too_large"


class MediaUnavailableError(NotFoundError):
    """A stored media file that is gone (deleted after the post that names it was written)."""

    code = "media_unavailable"


class MediaFetchError(MediaRejectedError):
    """A media URL could not be fetched (chalicelib/media/fetch.py): refused, unreachable, too large."""

    code = "url_unreachable"


# --- platforms -----------------------------------------------------------------------------------
# What an adapter raises (chalicelib/platforms/base.py says how the engine treats each kind). Its
# code is stored on the post target; a connect call meets the same errors before anything is stored.
class PlatformError(OpenpostError):
    """Base of what an adapter raises. ``platform_error`` is the platform's own name for the
    failure where it gives one (Slack's ``channel_not_found``), for callers that act on one."""

    status = 502
    code = "platform_error"
    title = "Bad gateway"
    platform_error: str | None = None


class TransientError(PlatformError):
    """Worth trying again: a 5xx, a dropped connection before the request was sent, a timeout on a
    platform that honours idempotency keys. ``retry_after`` (seconds) when the platform said."""

    status = 503
    code = "platform_unavailable"
    title = "Service unavailable"

    def __init__(self, message: str, *, code: str | None = None, retry_after: float | None = None):
        super().__init__(message, code=code, headers={"Retry-After": str(max(1, int(retry_after or 2)))})
        self.retry_after = retry_after


class PlatformRateLimitedError(TransientError):
    """The platform is rate limiting us (or the account): wait ``retry_after`` seconds."""

    status = 429
    code = "rate_limited"
    title = "Too many requests"


class PermanentError(PlatformError):
    """Trying again would fail the same way: the platform refused the content or the request."""

    code = "platform_rejected"


class AuthenticationFailedError(PermanentError):
    """The account's credentials no longer work and could not be refreshed: the integration needs
    the user to reconnect it."""

    code = "integration_needs_refresh"


class OutcomeUnknownError(PlatformError):
    """The request may have reached the platform (a timeout after sending) on a platform that offers
    no idempotency: repeating it could publish twice, so the engine never does."""

    code = "outcome_unknown"


class PlatformNotConfiguredError(OpenpostError):
    """The deployment lacks what a platform needs (its app's credentials, a media bucket)."""

    status = 503
    code = "platform_not_configured"
    title = "Platform not configured"


class GrantRejectedError(BadRequestError):
    """The platform refused an OAuth authorization code (used, expired or revoked): the user must
    start connecting again."""

    code = "oauth_code_invalid"

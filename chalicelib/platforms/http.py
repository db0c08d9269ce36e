"""Calling a platform over HTTP, and turning what went wrong into the engine's error kinds.

Every live adapter that speaks plain HTTP (Mastodon, Discord, Slack, Telegram) goes through ``call``
so that one rule decides the hardest question: after a failure, might the platform have published
the part? A connection that was never made sent nothing, so trying again is safe. A read timeout, or
a connection dropped after the request went out, may have published it: only a platform that
recognises a repeated request (``idempotent``) may be asked again; on the others the engine must be
told the outcome is unknown, never to retry blindly.

The platform's answer is classified by ``raise_for_answer`` once each adapter has read the
platform's own error fields (they differ: Slack answers 200 with ``ok: false``, Telegram puts the
wait in ``parameters.retry_after``).
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Mapping
from typing import Any, NoReturn

import requests
from urllib3.exceptions import NewConnectionError

from chalicelib.platforms.base import (
    AuthenticationFailedError,
    OutcomeUnknownError,
    PermanentError,
    PlatformRateLimitedError,
    TransientError,
)

# (connect, read) seconds. Connecting is quick or it is not happening; reading waits for a platform
# that is slow to store the post, well inside the publisher's own time limit.
TIMEOUT: tuple[float, float] = (5.0, 20.0)
# A platform that says "come back in an hour" is still a platform we come back to, not a failure;
# but a queue cannot hold a message longer than 12 hours, and a wait past this is more likely a
# misread header than a real instruction.
MAX_RETRY_AFTER = 3600.0


def new_session() -> requests.Session:
    """The session a container's adapters share: pooled, kept-alive connections to each platform,
    and no retries of its own (after a failure only the engine decides whether to try again, since a
    repeat may publish twice). Timeouts are given per call (``TIMEOUT``)."""
    session = requests.Session()
    for prefix in ("https://", "http://"):
        session.mount(prefix, requests.adapters.HTTPAdapter(max_retries=0, pool_maxsize=10))
    return session


def call(
    method: str,
    url: str,
    *,
    session: requests.Session,
    platform: str,
    idempotent: bool,
    timeout: tuple[float, float] = TIMEOUT,
    **kwargs: Any,
) -> requests.Response:
    """One HTTP request to ``platform`` on ``session`` (the adapter's, from its deployment). Returns
    any answer (the caller classifies it); raises a TransientError or OutcomeUnknownError when no
    answer came back."""
    try:
        return session.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
    except requests.RequestException as error:
        raise transport_error(error, platform, idempotent, sent=method.upper() != "GET") from None


def transport_error(error: requests.RequestException, platform: str, idempotent: bool, *, sent: bool = True):
    """What a request that got no answer means for the post. ``sent`` is False for reads, which
    publish nothing and are always safe to repeat."""
    if _nothing_sent(error):
        return TransientError(f"{platform} could not be reached; nothing was sent, so it will be tried again.")
    if not sent or idempotent:
        # Safe to repeat: a read publishes nothing, and an idempotent platform recognises the repeat.
        return TransientError(f"{platform} did not answer in time; it will be asked again.")
    return OutcomeUnknownError(
        f"{platform} did not answer after the post was sent, so it may or may not have been published. "
        f"{platform} offers no way to recognise a repeated request, so it was not sent again: check the "
        "account before publishing this post again."
    )


def _nothing_sent(error: requests.RequestException) -> bool:
    # A connect timeout, a refused connection, a name that does not resolve, or a failed TLS
    # handshake: the request itself never left this machine.
    if isinstance(error, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    if isinstance(error, requests.ConnectionError):
        reason = error.args[0] if error.args else None
        reason = getattr(reason, "reason", reason)  # urllib3 wraps it in MaxRetryError
        return isinstance(reason, NewConnectionError)
    if isinstance(
        error, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)
    ):
        return True
    return False


def retry_after(headers: Mapping[str, str], body_value: Any = None) -> float | None:
    """The wait a platform asked for, in seconds: a value from its body (preferred: it is usually
    more precise), else the ``Retry-After`` header (seconds or an HTTP date)."""
    for value in (body_value, headers.get("Retry-After")):
        seconds = _seconds(value, headers)
        if seconds is not None:
            return min(max(seconds, 0.0), MAX_RETRY_AFTER)
    return None


def answered_at(headers: Mapping[str, str]) -> dt.datetime | None:
    """When the platform answered, by its own clock (the ``Date`` header every origin server sends):
    a time it names (an HTTP-date ``Retry-After``, a rate-limit reset) is measured from this, never
    from our clock, so a skew between the two clocks does not change the wait."""
    try:
        when = email.utils.parsedate_to_datetime(headers.get("Date") or "")
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _seconds(value: Any, headers: Mapping[str, str]) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    sent = answered_at(headers)
    return (when - sent).total_seconds() if sent else None


def raise_for_answer(
    platform: str,
    status: int,
    message: str,
    *,
    wait: float | None = None,
    auth_failed: bool = False,
    code: str | None = None,
) -> NoReturn:
    """Raise the engine's error for a failed answer. ``message`` is the platform's own words, shown
    to the user on the target; ``auth_failed`` lets an adapter name a revoked token the platform
    reports without a 401 (Slack's ``token_revoked``, a deleted Discord webhook)."""
    detail = f"{platform} answered HTTP {status}: {message}" if message else f"{platform} answered HTTP {status}."
    if status == 429:
        raise PlatformRateLimitedError(
            f"{platform} is rate limiting this account: {message or 'too many requests'}.", retry_after=wait
        )
    if auth_failed or status in (401, 403):
        raise AuthenticationFailedError(
            f"{platform} refused the account's credentials ({message or f'HTTP {status}'}); reconnect the account."
        )
    if status >= 500:
        raise TransientError(detail, retry_after=wait)
    raise PermanentError(detail, code=code)


def json_body(response: requests.Response) -> Any:
    """The answer's JSON, or None when it is not JSON (a proxy's HTML error page)."""
    try:
        return response.json()
    except ValueError:
        return None


def unreadable_answer(platform: str, idempotent: bool):
    """A success status whose body cannot be read: the part was probably published, but we cannot
    tell where. Asking again is safe only where a repeat is recognised."""
    if idempotent:
        return TransientError(f"{platform} sent an answer that could not be read; it will be asked again.")
    return OutcomeUnknownError(
        f"{platform} accepted the post but its answer could not be read, so it may have been published. "
        "It was not sent again: check the account before publishing this post again."
    )

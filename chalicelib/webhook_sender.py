"""Sending one signed webhook request, to a URL a user chose, without letting it reach our network.

The URL passes the address policy of chalicelib/outbound.py before every send (not only when it
was registered: a name can change what it resolves to), and the connection is checked again once
made, so the request only ever goes to the address that was checked (no DNS rebinding). Redirects
are never followed: a 3xx is a failed delivery, like any other answer outside 2xx. One deadline
covers connecting, sending and reading the answer.

Signatures follow Standard Webhooks: ``webhook-signature`` holds ``v1,<base64 HMAC-SHA256>`` over
``{id}.{timestamp}.{body}`` with the secret after ``whsec_``, one entry per secret in use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from chalicelib.clock import Clock, SystemClock
from chalicelib.outbound import (
    AddressRefusedError,
    DeadlinePassedError,
    Guard,
    PeerRefusedError,
    UnresolvableHostError,
    public_addresses,
    take_over,
)

USER_AGENT = "openpost-webhooks/1 (+https://github.com/openpost)"
TIMEOUT_SECONDS = 10.0
MAX_URL_LENGTH = 2048
RESPONSE_KEPT = 1000  # characters of an answer's body kept in the delivery log
SECRET_PREFIX = "whsec_"

URL_NOT_ALLOWED = "url_not_allowed"
URL_UNREACHABLE = "url_unreachable"
TIMEOUT = "timeout"
REDIRECT = "redirect_not_followed"
HTTP_ERROR = "http_error"

_TRANSPORT_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)


class WebhookUrlError(Exception):
    """A URL we do not send to; ``message`` is written for API users."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def new_secret() -> str:
    """A signing secret: ``whsec_`` and 32 random bytes in base64 (the spec asks for 24 to 64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(secrets_in_use: Iterable[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(secret, message_id, timestamp, body) for secret in secrets_in_use),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


def check_url(url: str, *, allow_local: bool) -> None:
    """Whether we may send to ``url`` now: https (http too with the local development switch), no
    user name or password, and a host whose every address is public (loopback too with the
    switch; private, link-local and metadata addresses never). Raises WebhookUrlError."""
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlError(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookUrlError("The URL is not a valid URL.") from None
    schemes = {"https", "http"} if allow_local else {"https"}
    if parts.scheme.lower() not in schemes:
        raise WebhookUrlError("Webhook URLs must use https.")
    if "@" in parts.netloc:
        raise WebhookUrlError("A webhook URL must not contain a user name or password.")
    if not parts.hostname:
        raise WebhookUrlError("The URL is not a valid URL.")
    try:
        public_addresses(parts.hostname, port or (443 if parts.scheme == "https" else 80), allow_local)
    except AddressRefusedError as refused:
        raise WebhookUrlError(f"The URL is not allowed: {refused.reason}.") from None
    except UnresolvableHostError:
        raise WebhookUrlError("The URL's host name does not resolve.") from None


PROBE_SECONDS = 3.0


def check_redirect(url: str, *, allow_local: bool, timeout: float = PROBE_SECONDS, clock: Clock | None = None) -> None:
    """At registration: a HEAD to the URL, through the same guarded connection. A 3xx is refused
    (deliveries never follow redirects, so every one would fail; the message says whether it leads
    into a private network). Anything else, an error or no answer in time is accepted: the endpoint
    may not be up yet. Raises WebhookUrlError."""
    guard = Guard(allow_local, timeout, clock or SystemClock())
    session = requests.Session()
    adapter = take_over(session, guard)
    try:
        request = requests.Request("HEAD", url, headers={"User-Agent": USER_AGENT}).prepare()
        response = session.send(request, allow_redirects=False, proxies={}, timeout=(timeout, timeout))
        response.close()
    except (PeerRefusedError, DeadlinePassedError, *_TRANSPORT_ERRORS):
        return
    finally:
        guard.close()
        adapter.close()
        session.close()
    if not 300 <= response.status_code < 400:
        return
    location = response.headers.get("Location") or ""
    try:
        check_url(requests.compat.urljoin(url, location), allow_local=allow_local)
    except WebhookUrlError:
        raise WebhookUrlError(
            f"The URL redirects ({response.status_code}) to an address that is not allowed; "
            "redirects are never followed."
        ) from None
    raise WebhookUrlError(
        f"The URL answers with a redirect ({response.status_code}); redirects are never followed, so "
        "register the URL it leads to."
    )


@dataclass(frozen=True)
class Answer:
    """What one attempt came to: an HTTP answer, or an error before one arrived."""

    status: int | None
    duration_ms: int
    body: str = ""
    retry_after: str | None = None
    error_code: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def send(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_local: bool,
    timeout: float = TIMEOUT_SECONDS,
    clock: Clock | None = None,
):
    """POST ``body`` to ``url``; never raises for anything the endpoint or the network does. The
    deadline and the duration are read from ``clock`` (the system's unless one is given)."""
    clock = clock or SystemClock()
    started = clock.monotonic()

    def answer(**fields) -> Answer:
        return Answer(duration_ms=int((clock.monotonic() - started) * 1000), **fields)

    try:
        check_url(url, allow_local=allow_local)
    except WebhookUrlError as refused:
        return answer(status=None, error_code=URL_NOT_ALLOWED, error=refused.message)
    guard = Guard(allow_local, timeout, clock)
    session = requests.Session()
    adapter = take_over(session, guard)
    try:
        request = requests.Request("POST", url, data=body, headers=headers).prepare()
        response = session.send(
            request, stream=True, allow_redirects=False, proxies={}, timeout=(guard.remaining(), guard.remaining())
        )
        try:
            text = response.raw.read(RESPONSE_KEPT * 4, decode_content=True).decode("utf-8", errors="replace")
        finally:
            response.close()
        status = response.status_code
        fields = {"status": status, "body": text[:RESPONSE_KEPT], "retry_after": response.headers.get("Retry-After")}
        if 300 <= status < 400:
            return answer(
                **fields, error_code=REDIRECT, error=f"The endpoint answered {status}; redirects are not followed."
            )
        if not 200 <= status < 300:
            return answer(**fields, error_code=HTTP_ERROR, error=f"The endpoint answered {status}.")
        return answer(**fields)
    except PeerRefusedError:
        return answer(
            status=None,
            error_code=URL_NOT_ALLOWED,
            error="The URL is not allowed: it connected to a private, local or reserved network address.",
        )
    except DeadlinePassedError:
        return answer(status=None, error_code=TIMEOUT, error=f"No answer within {timeout:g} seconds.")
    except _TRANSPORT_ERRORS as error:
        if guard.expired or isinstance(error, (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)):
            return answer(status=None, error_code=TIMEOUT, error=f"No answer within {timeout:g} seconds.")
        return answer(status=None, error_code=URL_UNREACHABLE, error="The connection was refused or broke off.")
    finally:
        guard.close()
        adapter.close()
        session.close()

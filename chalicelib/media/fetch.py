"""Fetching media a user named by URL, without letting the URL reach into our own network.

A post may name its media by URL; the API server copies each file into our bucket when the post is
created. The URL is chosen by the user, so this module treats it as hostile: it must not lead the
server to anything that is not a public host on the internet (SSRF), and it must not make the
server wait forever or take unbounded bytes.

Where a fetch may connect is checked twice:

1. Before connecting, for every hop (the URL and each redirect): only http and https, no user name
   or password, a host that is a name or a standard IP address (``2130706433``, ``0177.0.0.1`` and
   ``127.1`` are refused, not interpreted), and every address the name resolves to must be public
   (``is_public_address``).
2. After connecting: the address the socket actually reached (``getpeername``) is checked again,
   before a single byte (or a TLS handshake) is sent. The name is resolved a second time by the
   HTTP library when it connects, and a name under the user's control can answer differently the
   second time (DNS rebinding); only this check sees the address really used. It lives in a
   urllib3 connection subclass, mounted for http and https, so TLS verification and SNI are the
   library's own and unchanged.

Redirects are followed here, at most ``MAX_REDIRECTS``, each hop checked like the first. Proxies and
netrc from the environment are ignored (``trust_env = False``): a proxy would be a connection the
peer check never sees.

Limits. ``max_bytes`` is checked against Content-Length before any of the body is read, and again
while streaming (a server may omit or misstate it); at most ``max_bytes + 1`` bytes are read.
``deadline_seconds`` is one wall-clock budget for the whole fetch, consuming the body included.
Per-read socket timeouts cannot enforce it alone: they restart with every byte, so a server
dripping one byte a second never trips them. At the deadline a timer shuts down every socket the
fetch opened, which wakes a read blocked anywhere (TLS handshake, headers, body); connect and read
timeouts are also set from the time left, and the deadline is checked between chunks. Not covered:
the name lookup itself (``getaddrinfo`` cannot be interrupted); it is bounded by the resolver's own
timeouts.

Addresses that embed an IPv4 address are judged by the IPv4 address they lead to: IPv4-mapped
(``::ffff:a.b.c.d``, which a dual-stack socket really delivers to a.b.c.d), NAT64's well-known
prefix (``64:ff9b::/96``, which a NAT64 gateway translates to a.b.c.d) and 6to4 (``2002::/16``,
which a 6to4 relay delivers to a.b.c.d). So the NAT64 or 6to4 form of a public host is allowed (an
IPv6-only server behind DNS64 reaches every IPv4-only host through NAT64), and the form of a
private, loopback or metadata address is refused. The deprecated IPv4-compatible form (``::a.b.c.d``)
is refused whatever it embeds, as is all IPv6 outside global unicast ``2000::/3``, Teredo included.

Error messages are written for API users and name only the URL the user gave (without its query
string, which often carries a signature): never an address it resolved to or redirected to.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from chalicelib.clock import Clock, SystemClock
from chalicelib.errors import MediaFetchError

# The address policy and the guarded connections are shared with webhook delivery: one copy.
from chalicelib.outbound import (
    DENIED_IPV4_NETWORKS,
    DENIED_IPV6_NETWORKS,
    GLOBAL_UNICAST_IPV6,
    NAT64_PREFIX,
    PRIVATE_HOST,
    SIXTOFOUR_PREFIX,
    AddressRefusedError,
    DeadlinePassedError,
    Guard,
    PeerRefusedError,
    UnresolvableHostError,
    is_public_address,
    public_addresses,
    take_over,
)

__all__ = [
    "ALLOWED_SCHEMES",
    "DEFAULT_CHUNK_SIZE",
    "DENIED_IPV4_NETWORKS",
    "DENIED_IPV6_NETWORKS",
    "GLOBAL_UNICAST_IPV6",
    "MAX_REDIRECTS",
    "NAT64_PREFIX",
    "SIXTOFOUR_PREFIX",
    "URL_HTTP_ERROR",
    "URL_NOT_ALLOWED",
    "URL_TIMEOUT",
    "URL_TOO_LARGE",
    "URL_TOO_MANY_REDIRECTS",
    "URL_UNREACHABLE",
    "Fetched",
    "MediaFetchError",
    "is_public_address",
    "open_url",
]

URL_NOT_ALLOWED = "url_not_allowed"
URL_TOO_MANY_REDIRECTS = "url_too_many_redirects"
URL_TOO_LARGE = "url_too_large"
URL_TIMEOUT = "url_timeout"
URL_HTTP_ERROR = "url_http_error"
URL_UNREACHABLE = "url_unreachable"

ALLOWED_SCHEMES = frozenset({"http", "https"})
MAX_REDIRECTS = 3
DEFAULT_CHUNK_SIZE = 1 << 20

# Media only; the bytes are sniffed afterwards, so this is a courtesy to the server. Identity
# encoding: media gains nothing from compression, and an encoded body's size says little.
_REQUEST_HEADERS = {
    "User-Agent": "openpost-media-fetch/1",
    "Accept": "image/*, video/*, */*;q=0.5",
    "Accept-Encoding": "identity",
}
_SHOWN_URL_LIMIT = 200
_TRANSPORT_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)


@dataclass
class Fetched:
    """An answered fetch whose body has not been read yet. Use it as a context manager: leaving
    it closes the connection (and so does reading ``chunks()`` to the end)."""

    url: str  # the final URL, after redirects
    content_type: str | None  # as the server said; the caller sniffs the bytes anyway
    declared_length: int | None  # Content-Length: a claim, enforced while streaming
    _transfer: _Transfer = field(repr=False, compare=False)

    def chunks(self) -> Iterator[bytes]:
        """The body in pieces of at most ``chunk_size`` bytes. Raises MediaFetchError mid-stream
        (url_too_large, url_timeout, url_unreachable); yields at most ``max_bytes`` in all."""
        return self._transfer.chunks()

    def close(self) -> None:
        self._transfer.close()

    def __enter__(self) -> Fetched:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def open_url(
    url: str,
    *,
    max_bytes: int,
    deadline_seconds: float,
    allow_loopback: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    session: requests.Session | None = None,
    clock: Clock | None = None,
) -> Fetched:
    """Connect to ``url`` (following up to MAX_REDIRECTS redirects) and return the answer, its
    body unread. Raises MediaFetchError.

    ``session`` is taken over for media fetching: its adapters are replaced by guarded ones and
    ``trust_env`` is turned off; only its TLS settings (``verify``, ``cert``) are used, never its
    headers, auth or cookies, which must not travel to a host the user chose. The caller keeps
    ownership and closes it; without one, a session is made and closed with the fetch. The deadline
    runs on ``clock`` (the system's unless one is given)."""
    if max_bytes <= 0 or deadline_seconds <= 0 or chunk_size <= 0:
        raise ValueError("max_bytes, deadline_seconds and chunk_size must be positive")
    explain = _Explain(url, max_bytes, deadline_seconds)
    guard = Guard(allow_loopback, deadline_seconds, clock or SystemClock())
    owned_session = requests.Session() if session is None else None
    session = session or owned_session
    adapter = take_over(session, guard)
    try:
        response = _follow_redirects(session, url, guard, explain)
        declared = _declared_length(response.headers.get("Content-Length"))
        if declared is not None and declared > max_bytes:
            response.close()
            raise explain.too_large()
    except BaseException:
        guard.close()
        adapter.close()
        if owned_session is not None:
            owned_session.close()
        raise
    transfer = _Transfer(response, guard, adapter, owned_session, explain, max_bytes, chunk_size)
    return Fetched(
        url=response.url,
        content_type=response.headers.get("Content-Type"),
        declared_length=declared,
        _transfer=transfer,
    )


def _follow_redirects(session: requests.Session, url: str, guard: Guard, explain: _Explain) -> requests.Response:
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        request = _checked_request(current, guard, explain, redirected=hop > 0)
        response = _send(session, request, guard, explain, redirected=hop > 0)
        if not response.is_redirect:
            if not 200 <= response.status_code < 300:
                response.close()
                raise explain.http_error(response.status_code)
            return response
        location = session.get_redirect_target(response)
        response.close()
        current = urljoin(response.url, location)
    raise explain.too_many_redirects()


def _send(
    session: requests.Session, request: requests.PreparedRequest, guard: Guard, explain: _Explain, *, redirected: bool
) -> requests.Response:
    remaining = guard.remaining()
    if remaining <= 0:
        raise explain.timeout()
    try:
        return session.send(request, stream=True, allow_redirects=False, proxies={}, timeout=(remaining, remaining))
    except PeerRefusedError:
        raise explain.not_allowed(PRIVATE_HOST, redirected) from None
    except DeadlinePassedError:
        raise explain.timeout() from None
    except _TRANSPORT_ERRORS as error:
        raise explain.transport_error(error, guard) from None


def _checked_request(url: str, guard: Guard, explain: _Explain, *, redirected: bool) -> requests.PreparedRequest:
    """The request for one hop, if the URL may be fetched: the first check, before connecting."""
    _check_shape(_split(url, explain, redirected), explain, redirected)
    try:
        # Fresh, not session.prepare_request: no session headers, auth or cookies for the user's host.
        request = requests.Request("GET", url, headers=_REQUEST_HEADERS).prepare()
    except (requests.RequestException, ValueError, UnicodeError):
        raise explain.not_allowed("it is not a valid URL", redirected) from None
    # Judge what will be connected to: the URL as prepared (a non-ASCII host IDNA-encoded; one that
    # cannot be, such as full-width digits, was refused above), read the way requests reads it
    # when it chooses the connection.
    parts = _split(request.url, explain, redirected)
    _check_shape(parts, explain, redirected)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise explain.not_allowed("it is not a valid URL", redirected) from None
    host = parts.hostname or ""
    try:
        public_addresses(host, port, guard.allow_loopback)
    except AddressRefusedError as refused:
        raise explain.not_allowed(refused.reason, redirected) from None
    except UnresolvableHostError:
        raise explain.unreachable("its host name does not resolve") from None
    return request


def _split(url: str, explain: _Explain, redirected: bool) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError:
        raise explain.not_allowed("it is not a valid URL", redirected) from None


def _check_shape(parts: SplitResult, explain: _Explain, redirected: bool) -> None:
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise explain.not_allowed("only http and https URLs can be fetched", redirected)
    if "@" in parts.netloc:
        raise explain.not_allowed("a media URL must not contain a user name or password", redirected)
    if not parts.hostname:
        raise explain.not_allowed("it is not a valid URL", redirected)


def _declared_length(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


class _Transfer:
    """The body of a fetch, read under its limits, and everything to close when it is done."""

    def __init__(
        self,
        response: requests.Response,
        guard: Guard,
        adapter: HTTPAdapter,
        owned_session: requests.Session | None,
        explain: _Explain,
        max_bytes: int,
        chunk_size: int,
    ):
        self._response = response
        self._guard = guard
        self._adapter = adapter
        self._owned_session = owned_session
        self._explain = explain
        self._max_bytes = max_bytes
        self._chunk_size = chunk_size
        self._closed = False

    def chunks(self) -> Iterator[bytes]:
        if self._closed:
            raise RuntimeError("the body was already read or the fetch was closed")
        raw = self._response.raw
        total = 0
        try:
            while True:
                if self._guard.expired:
                    raise self._explain.timeout()
                # One byte past the limit is enough to know the body is too large.
                piece = raw.read(min(self._chunk_size, self._max_bytes + 1 - total), decode_content=True)
                if not piece:
                    break
                total += len(piece)
                if total > self._max_bytes:
                    raise self._explain.too_large()
                yield piece
            # A body without a length ends when the connection does, and the deadline ends it too.
            if self._guard.expired:
                raise self._explain.timeout()
        except _TRANSPORT_ERRORS as error:
            raise self._explain.transport_error(error, self._guard) from None
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._response.close()
        self._guard.close()
        self._adapter.close()
        if self._owned_session is not None:
            self._owned_session.close()


class _Explain:
    """Errors for one fetch, in words for the API user, naming only the URL the user gave."""

    def __init__(self, url: str, max_bytes: int, deadline_seconds: float):
        self.shown = _shown(url)
        self._max_bytes = max_bytes
        self._deadline_seconds = deadline_seconds

    def not_allowed(self, reason: str, redirected: bool) -> MediaFetchError:
        where = "redirects to a URL that is not allowed" if redirected else "is not allowed"
        return MediaFetchError(f"The media URL {self.shown} {where}: {reason}.", code=URL_NOT_ALLOWED)

    def too_many_redirects(self) -> MediaFetchError:
        return MediaFetchError(
            f"The media URL {self.shown} redirects more than {MAX_REDIRECTS} times.", code=URL_TOO_MANY_REDIRECTS
        )

    def too_large(self) -> MediaFetchError:
        return MediaFetchError(
            f"The media URL {self.shown} serves more than {self._max_bytes} bytes, the limit.", code=URL_TOO_LARGE
        )

    def timeout(self) -> MediaFetchError:
        return MediaFetchError(
            f"The media URL {self.shown} could not be fetched within {self._deadline_seconds:g} seconds.",
            code=URL_TIMEOUT,
        )

    def http_error(self, status: int) -> MediaFetchError:
        return MediaFetchError(f"The media URL {self.shown} answered HTTP {status}.", code=URL_HTTP_ERROR)

    def unreachable(self, why: str) -> MediaFetchError:
        return MediaFetchError(f"The media URL {self.shown} could not be reached: {why}.", code=URL_UNREACHABLE)

    def transport_error(self, error: BaseException, guard: Guard) -> MediaFetchError:
        # At the deadline our own shutdown looks like a dropped connection: time is the real cause.
        if guard.expired or isinstance(error, (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)):
            return self.timeout()
        if isinstance(error, (requests.exceptions.SSLError, urllib3.exceptions.SSLError)):
            return self.unreachable("no secure connection could be made (its TLS certificate or handshake failed)")
        if _caused_by(error, urllib3.exceptions.NameResolutionError):
            return self.unreachable("its host name does not resolve")
        return self.unreachable("the connection was refused or broke off")


def _caused_by(error: BaseException | None, kind: type) -> bool:
    # requests wraps urllib3's MaxRetryError, which holds the real cause in .reason.
    for _ in range(4):
        if error is None:
            return False
        if isinstance(error, kind):
            return True
        error = getattr(error, "reason", None) or next(
            (arg for arg in getattr(error, "args", ()) if isinstance(arg, BaseException)), None
        )
    return False


def _shown(url: str) -> str:
    """The URL as the user gave it, for messages: without user name, password, query or fragment."""
    try:
        parts = urlsplit(url)
        shown = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}" if parts.netloc else url
    except ValueError:
        shown = url
    return shown if len(shown) <= _SHOWN_URL_LIMIT else shown[:_SHOWN_URL_LIMIT] + "..."

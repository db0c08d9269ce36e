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
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from chalicelib.errors import MediaFetchError

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

# IPv4 ranges that are not public hosts (IANA's special-purpose registry, plus multicast and the
# reserved 240/4, which includes broadcast). Loopback 127/8 is judged separately (allow_loopback).
DENIED_IPV4_NETWORKS = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network"; connecting to 0.0.0.0 reaches the local host
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",  # private (RFC 1918)
        "100.64.0.0/10",  # carrier-grade NAT, shared address space
        "169.254.0.0/16",  # link-local, including the cloud metadata service 169.254.169.254
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",  # documentation
        "192.88.99.0/24",  # former 6to4 relay anycast
        "198.18.0.0/15",  # benchmarking
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and 255.255.255.255
    )
)
# IPv6: only global unicast is public, minus the parts of it that are not ordinary hosts. This
# leaves out ::/8 (unspecified, loopback, IPv4-compatible), 100::/64, fc00::/7 (unique-local,
# including AWS's metadata fd00:ec2::254), fe80::/10, fec0::/10 and ff00::/8 by construction.
GLOBAL_UNICAST_IPV6 = ipaddress.IPv6Network("2000::/3")
DENIED_IPV6_NETWORKS = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "2001::/23",  # IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
    )
)
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
SIXTOFOUR_PREFIX = ipaddress.IPv6Network("2002::/16")

# Media only; the bytes are sniffed afterwards, so this is a courtesy to the server. Identity
# encoding: media gains nothing from compression, and an encoded body's size says little.
_REQUEST_HEADERS = {
    "User-Agent": "openpost-media-fetch/1",
    "Accept": "image/*, video/*, */*;q=0.5",
    "Accept-Encoding": "identity",
}
# A host name after IDNA encoding, or a name the URL parser would have rejected anyway.
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
# A host whose last label is a number is an IPv4 address to browsers and to inet_aton
# (2130706433, 0x7f.1, 127.1); unless it is the standard dotted quad we refuse to guess.
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")
_SHOWN_URL_LIMIT = 200
_TRANSPORT_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public_address(ip: IPAddress, allow_loopback: bool = False) -> bool:
    """Whether a connection to ``ip`` reaches a public host on the internet. ``allow_loopback``
    (local development only) admits loopback addresses, never private, link-local or metadata."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False  # a zone only means something for link-local and similar
        if ip.ipv4_mapped is not None:
            return is_public_address(ip.ipv4_mapped, allow_loopback)
        if ip.is_loopback:
            return allow_loopback
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            # Through NAT64 or 6to4 even the loopback form would leave the host: never allowed.
            return is_public_address(embedded, allow_loopback=False)
        return ip in GLOBAL_UNICAST_IPV6 and not any(ip in net for net in DENIED_IPV6_NETWORKS)
    if ip.is_loopback:
        return allow_loopback
    return not any(ip in net for net in DENIED_IPV4_NETWORKS)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


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
) -> Fetched:
    """Connect to ``url`` (following up to MAX_REDIRECTS redirects) and return the answer, its
    body unread. Raises MediaFetchError.

    ``session`` is taken over for media fetching: its adapters are replaced by guarded ones and
    ``trust_env`` is turned off; only its TLS settings (``verify``, ``cert``) are used, never its
    headers, auth or cookies, which must not travel to a host the user chose. The caller keeps
    ownership and closes it; without one, a session is made and closed with the fetch."""
    if max_bytes <= 0 or deadline_seconds <= 0 or chunk_size <= 0:
        raise ValueError("max_bytes, deadline_seconds and chunk_size must be positive")
    explain = _Explain(url, max_bytes, deadline_seconds)
    guard = _Guard(allow_loopback, deadline_seconds)
    owned_session = requests.Session() if session is None else None
    session = session or owned_session
    adapter = _take_over(session, guard)
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


def _follow_redirects(session: requests.Session, url: str, guard: _Guard, explain: _Explain) -> requests.Response:
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
    session: requests.Session, request: requests.PreparedRequest, guard: _Guard, explain: _Explain, *, redirected: bool
) -> requests.Response:
    remaining = guard.remaining()
    if remaining <= 0:
        raise explain.timeout()
    try:
        return session.send(request, stream=True, allow_redirects=False, proxies={}, timeout=(remaining, remaining))
    except _PeerRefusedError:
        raise explain.not_allowed(_PRIVATE_HOST, redirected) from None
    except _DeadlinePassedError:
        raise explain.timeout() from None
    except _TRANSPORT_ERRORS as error:
        raise explain.transport_error(error, guard) from None


_PRIVATE_HOST = "the host is a private, local or reserved network address"
_ODD_HOST = "the host must be a name or a standard IP address"


def _checked_request(url: str, guard: _Guard, explain: _Explain, *, redirected: bool) -> requests.PreparedRequest:
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
    addresses = _addresses(host, port, explain, redirected)
    if not addresses or not all(is_public_address(address, guard.allow_loopback) for address in addresses):
        raise explain.not_allowed(_PRIVATE_HOST, redirected)
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


def _addresses(host: str, port: int, explain: _Explain, redirected: bool) -> list[IPAddress]:
    """The addresses ``host`` stands for: itself if it is an IP address, else what it resolves to."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if not _HOST_NAME.fullmatch(host) or _NUMERIC_LABEL.fullmatch(host.rstrip(".").rsplit(".", 1)[-1]):
        raise explain.not_allowed(_ODD_HOST, redirected)
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise explain.unreachable("its host name does not resolve") from None
    except UnicodeError:
        raise explain.not_allowed(_ODD_HOST, redirected) from None
    addresses = []
    for *_, sockaddr in answers:
        try:
            addresses.append(ipaddress.ip_address(sockaddr[0]))
        except ValueError:
            raise explain.not_allowed(_PRIVATE_HOST, redirected) from None
    return addresses


def _declared_length(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


class _Transfer:
    """The body of a fetch, read under its limits, and everything to close when it is done."""

    def __init__(
        self,
        response: requests.Response,
        guard: _Guard,
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


class _PeerRefusedError(Exception):
    """The connection reached an address that is not allowed. Deliberately not an OSError or a
    urllib3 error, so that neither urllib3 nor requests retries it or wraps it."""


class _DeadlinePassedError(Exception):
    """A connection was made after the fetch's deadline or after it was closed."""


class _Guard:
    """What every connection of one fetch must obey: which peers it may reach, and when time is up.

    At the deadline a timer shuts down every socket the fetch opened. It holds duplicates of them
    (``dup``), so it never acts on a descriptor number the system may have reused for something else.
    """

    def __init__(self, allow_loopback: bool, deadline_seconds: float):
        self.allow_loopback = allow_loopback
        self._ends_at = time.monotonic() + deadline_seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._expired = False
        self._closed = False
        self._timer = threading.Timer(deadline_seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self._ends_at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self._expired or self.remaining() <= 0

    def admit(self, sock: socket.socket) -> None:
        """Called with each new connection before anything is sent on it."""
        if not _peer_allowed(sock, self.allow_loopback):
            sock.close()
            raise _PeerRefusedError()
        with self._lock:
            if self._expired or self._closed:
                sock.close()
                raise _DeadlinePassedError()
            self._sockets.append(sock.dup())

    def _expire(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._expired = True
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed by the peer

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._closed = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()


def _peer_allowed(sock: socket.socket, allow_loopback: bool) -> bool:
    """The second check: the address this socket really connected to."""
    try:
        peer = ipaddress.ip_address(sock.getpeername()[0])
    except (OSError, ValueError, IndexError, TypeError):
        return False
    return is_public_address(peer, allow_loopback)


class _GuardedConnectionMixin:
    """A urllib3 connection that shows each new socket to the fetch's guard before using it (for
    HTTPS, before the TLS handshake; the handshake itself is urllib3's, verification and SNI included)."""

    def __init__(self, *args, fetch_guard: _Guard, **kwargs):
        super().__init__(*args, **kwargs)
        self._fetch_guard = fetch_guard

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self._fetch_guard.admit(sock)
        return sock


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedPoolManager(PoolManager):
    def __init__(self, fetch_guard: _Guard, **kwargs):
        super().__init__(**kwargs)
        self._fetch_guard = fetch_guard
        self.pool_classes_by_scheme = {"http": _GuardedHTTPConnectionPool, "https": _GuardedHTTPSConnectionPool}

    def _new_pool(self, scheme, host, port, request_context=None):
        # Added after the pool key is computed (the key has fixed fields), on its way to the connections.
        context = dict(self.connection_pool_kw if request_context is None else request_context)
        context["fetch_guard"] = self._fetch_guard
        return super()._new_pool(scheme, host, port, context)


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, fetch_guard: _Guard):
        self._fetch_guard = fetch_guard  # before super().__init__, which builds the pool manager
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        self.poolmanager = _GuardedPoolManager(
            self._fetch_guard, num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        # Requests are always sent with proxies={}; a proxy's connections would escape the peer check.
        raise RuntimeError("media fetches never go through a proxy")


def _take_over(session: requests.Session, guard: _Guard) -> _GuardedAdapter:
    session.trust_env = False
    adapter = _GuardedAdapter(guard)
    # Every other adapter goes, or a more specific prefix mounted by someone else would win.
    for previous in set(session.adapters.values()):
        previous.close()
    session.adapters.clear()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return adapter


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

    def transport_error(self, error: BaseException, guard: _Guard) -> MediaFetchError:
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

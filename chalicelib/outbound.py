"""Connections to hosts our users choose (media URLs, webhook endpoints), kept out of our network.

One address policy for every such connection, checked twice:

1. Before connecting: every address the host stands for must be public (``public_addresses``);
   names that only look like numbers (``2130706433``, ``127.1``) are refused, not interpreted.
2. After connecting: the address the socket really reached (``getpeername``) is checked again,
   before a single byte (or a TLS handshake) is sent. The HTTP library resolves the name a second
   time when it connects, and a name under the user's control can answer differently then (DNS
   rebinding): only this check sees the address really used, so a connection is only ever made to
   an address that passed the policy. It lives in a urllib3 connection subclass mounted on a
   requests session (``take_over``), so TLS verification and SNI stay the library's own.

A ``Guard`` also carries one deadline for everything a request does, on the clock it is given (so a
test can move it past): between reads and before each connection the time left is read from that
clock. At the deadline a timer also shuts down every socket it opened, which wakes a read blocked
anywhere (a server dripping one byte a second never trips a per-read timeout).

Addresses that embed an IPv4 address are judged by the IPv4 address they lead to: IPv4-mapped
(``::ffff:a.b.c.d``), NAT64's well-known prefix (``64:ff9b::/96``) and 6to4 (``2002::/16``). The
deprecated IPv4-compatible form (``::a.b.c.d``) is refused whatever it embeds, as is all IPv6
outside global unicast ``2000::/3``, Teredo included.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading

import requests
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from chalicelib.clock import Clock

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

# A host name after IDNA encoding, or a name the URL parser would have rejected anyway.
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
# A host whose last label is a number is an IPv4 address to browsers and to inet_aton
# (2130706433, 0x7f.1, 127.1); unless it is the standard dotted quad we refuse to guess.
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")

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


PRIVATE_HOST = "the host is a private, local or reserved network address"
ODD_HOST = "the host must be a name or a standard IP address"


class AddressRefusedError(Exception):
    """The host is not one we connect to; ``reason`` says why, in words for API users."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class UnresolvableHostError(Exception):
    """The host name does not resolve."""


def public_addresses(host: str, port: int, allow_loopback: bool = False) -> list[IPAddress]:
    """The addresses ``host`` stands for (itself if it is an IP address, else what it resolves to),
    if every one of them is public. Raises AddressRefusedError or UnresolvableHostError."""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = _resolve(host, port)
    if not addresses or not all(is_public_address(address, allow_loopback) for address in addresses):
        raise AddressRefusedError(PRIVATE_HOST)
    return addresses


def _resolve(host: str, port: int) -> list[IPAddress]:
    if not _HOST_NAME.fullmatch(host) or _NUMERIC_LABEL.fullmatch(host.rstrip(".").rsplit(".", 1)[-1]):
        raise AddressRefusedError(ODD_HOST)
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UnresolvableHostError() from None
    except UnicodeError:
        raise AddressRefusedError(ODD_HOST) from None
    addresses = []
    for *_, sockaddr in answers:
        try:
            addresses.append(ipaddress.ip_address(sockaddr[0]))
        except ValueError:
            raise AddressRefusedError(PRIVATE_HOST) from None
    return addresses


class PeerRefusedError(Exception):
    """The connection reached an address that is not allowed. Deliberately not an OSError or a
    urllib3 error, so that neither urllib3 nor requests retries it or wraps it."""


class DeadlinePassedError(Exception):
    """A connection was made after the fetch's deadline or after it was closed."""


class Guard:
    """What every connection of one fetch must obey: which peers it may reach, and when time is up.

    At the deadline a timer shuts down every socket the fetch opened. It holds duplicates of them
    (``dup``), so it never acts on a descriptor number the system may have reused for something else.
    """

    def __init__(self, allow_loopback: bool, deadline_seconds: float, clock: Clock):
        self.allow_loopback = allow_loopback
        self._clock = clock
        self._ends_at = clock.monotonic() + deadline_seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._expired = False
        self._closed = False
        # The timer waits (it reads no time): a blocked read has no other way to be woken.
        self._timer = threading.Timer(deadline_seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self._ends_at - self._clock.monotonic()

    @property
    def expired(self) -> bool:
        return self._expired or self.remaining() <= 0

    def admit(self, sock: socket.socket) -> None:
        """Called with each new connection before anything is sent on it."""
        if not _peer_allowed(sock, self.allow_loopback):
            sock.close()
            raise PeerRefusedError()
        with self._lock:
            if self._closed or self.expired:
                sock.close()
                raise DeadlinePassedError()
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

    def __init__(self, *args, fetch_guard: Guard, **kwargs):
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
    def __init__(self, fetch_guard: Guard, **kwargs):
        super().__init__(**kwargs)
        self._fetch_guard = fetch_guard
        self.pool_classes_by_scheme = {"http": _GuardedHTTPConnectionPool, "https": _GuardedHTTPSConnectionPool}

    def _new_pool(self, scheme, host, port, request_context=None):
        # Added after the pool key is computed (the key has fixed fields), on its way to the connections.
        context = dict(self.connection_pool_kw if request_context is None else request_context)
        context["fetch_guard"] = self._fetch_guard
        return super()._new_pool(scheme, host, port, context)


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, fetch_guard: Guard):
        self._fetch_guard = fetch_guard  # before super().__init__, which builds the pool manager
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        self.poolmanager = _GuardedPoolManager(
            self._fetch_guard, num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        # Requests are always sent with proxies={}; a proxy's connections would escape the peer check.
        raise RuntimeError("guarded requests never go through a proxy")


def take_over(session: requests.Session, guard: Guard) -> _GuardedAdapter:
    session.trust_env = False
    adapter = _GuardedAdapter(guard)
    # Every other adapter goes, or a more specific prefix mounted by someone else would win.
    for previous in set(session.adapters.values()):
        previous.close()
    session.adapters.clear()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return adapter

"""Fetching a media URL against real HTTP(S) servers on 127.0.0.1.

Nothing here reaches the network: name lookups go to a table the test controls (a name that is not
in it does not resolve), and any attempt to connect to an address that is not loopback fails the
test. The servers count connections and requests, so "refused before connecting" and "refused
before any request" are checked, not assumed.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import socket
import ssl
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from chalicelib import outbound
from chalicelib.clock import ManualClock
from chalicelib.media.fetch import (
    MAX_REDIRECTS,
    URL_HTTP_ERROR,
    URL_NOT_ALLOWED,
    URL_TIMEOUT,
    URL_TOO_LARGE,
    URL_TOO_MANY_REDIRECTS,
    URL_UNREACHABLE,
    MediaFetchError,
    is_public_address,
    open_url,
)
from tests import media_samples

IMAGE = media_samples.image("image/png", pad_to=300_000)
LIMIT = 10 * 1024 * 1024
# A public address the lookup table may hand out. Never connected to: see loopback_only.
PUBLIC = "93.184.215.14"
DRIP_BYTES = 60  # the drip routes send this many bytes, one every DRIP_INTERVAL seconds:
DRIP_INTERVAL = 0.2  # 12 s in all, far past the 1 s deadline of the tests that use them


# -- servers ---------------------------------------------------------------------------------------


class MediaServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), MediaHandler)
        self.connections = 0
        self.requests = []
        self.stop = threading.Event()
        self.drip_outcomes = []
        self.drip_finished = threading.Event()
        self.clock = None  # the fetch's clock, which the /late route moves on

    def verify_request(self, request, client_address):
        self.connections += 1
        return True

    def handle_error(self, request, client_address):
        pass  # clients hanging up mid-answer is what several tests do

    def url(self, path: str, scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.server_port}{path}"

    def drip_outcome(self) -> str:
        """How the last drip ended: "interrupted" (the client hung up) or "completed"."""
        assert self.drip_finished.wait(DRIP_BYTES * DRIP_INTERVAL + 10)
        return self.drip_outcomes[-1]


class MediaHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        route = urlsplit(self.path)
        name, _, rest = route.path.strip("/").partition("/")
        getattr(self, "route_" + name.replace("-", "_"))(rest, parse_qs(route.query))

    def answer(self, status: int, body: bytes = b"", headers=()):
        self.send_response(status)
        for header, value in headers:
            self.send_header(header, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route_image(self, rest, query):
        self.answer(200, IMAGE, [("Content-Type", "image/png")])

    def route_missing(self, rest, query):
        self.answer(404, b"no such image")

    def route_redirect(self, rest, query):
        hops = int(rest)
        if hops == 0:
            return self.route_image(rest, query)
        self.answer(302, headers=[("Location", f"/redirect/{hops - 1}")])  # relative, as many servers do

    def route_late(self, rest, query):
        # Answers at once, yet on the fetch's clock the answer took longer than the whole budget.
        self.server.clock.advance(seconds=float(rest))
        self.answer(302, headers=[("Location", "/image")])

    def route_to(self, rest, query):
        self.answer(302, headers=[("Location", query["location"][0])])

    def route_declared_huge(self, rest, query):
        # Claims a gigabyte, sends a little, then holds the connection open: a client that reads
        # the body instead of believing the header waits here until its deadline.
        self.send_response(200)
        self.send_header("Content-Length", str(10**9))
        self.end_headers()
        self.wfile.write(b"\0" * 16)
        self.server.stop.wait(30)

    def route_unsized(self, rest, query):
        # No Content-Length: the body ends when the connection does, and it does not end soon.
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for _ in range(8):
            self.wfile.write(b"\1" * 65536)

    def route_chunked(self, rest, query):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for _ in range(8):
            self.wfile.write(b"10000\r\n" + b"\2" * 65536 + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def route_drip_body(self, rest, query):
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.drip(b"x")

    def route_drip_headers(self, rest, query):
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        self.drip(b"a")

    def drip(self, byte: bytes):
        outcome = "completed"
        try:
            for _ in range(DRIP_BYTES):
                if self.server.stop.wait(DRIP_INTERVAL):
                    break
                self.wfile.write(byte)
        except OSError:
            outcome = "interrupted"
        self.close_connection = True
        self.server.drip_outcomes.append(outcome)
        self.server.drip_finished.set()


def _serve(server):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.stop.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def server():
    yield from _serve(MediaServer())


# -- the network, as the tests allow it ------------------------------------------------------------


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Connecting anywhere but loopback fails the test (and is never attempted)."""
    real_connect = socket.socket.connect

    def connect(sock, address):
        if not ipaddress.ip_address(address[0].split("%")[0]).is_loopback:
            raise AssertionError(f"the code under test tried to connect to {address[0]}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


class FakeDns:
    """Name lookups answered from a table: name -> addresses, or a list of such lists handed out
    one per lookup (the last one repeats). A name not in the table does not resolve; IP literals
    are parsed, never looked up."""

    def __init__(self, real_getaddrinfo):
        self.names = {"localhost": ["127.0.0.1"]}
        self.lookups = []
        self._real_getaddrinfo = real_getaddrinfo

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        host = host.decode() if isinstance(host, bytes) else host
        host = host[:-1] if host.endswith(".") else host  # "localhost." is "localhost"
        self.lookups.append(host)
        if host not in self.names:
            try:
                return self._real_getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
            except socket.gaierror:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        answers = self.names[host]
        if answers and isinstance(answers[0], list):
            answers = answers.pop(0) if len(answers) > 1 else answers[0]
        return [_address_info(address, port) for address in answers]


@pytest.fixture(autouse=True)
def dns(monkeypatch):
    fake = FakeDns(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake


def _address_info(address: str, port):
    port = int(port or 0)
    if ipaddress.ip_address(address).version == 4:
        return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))
    return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0))


def _fetch_all(url: str, **options) -> bytes:
    options = {"max_bytes": LIMIT, "deadline_seconds": 10, **options}
    with open_url(url, **options) as fetched:
        return b"".join(fetched.chunks())


def _refusal(url: str, **options) -> MediaFetchError:
    with pytest.raises(MediaFetchError) as caught:
        _fetch_all(url, **options)
    return caught.value


# -- a plain fetch ---------------------------------------------------------------------------------


def test_fetches_from_loopback_when_allowed_and_streams_in_chunks(server):
    with open_url(
        server.url("/image?sig=1"), max_bytes=LIMIT, deadline_seconds=10, allow_loopback=True, chunk_size=64 * 1024
    ) as fetched:
        assert fetched.url == server.url("/image?sig=1")
        assert fetched.content_type == "image/png"
        assert fetched.declared_length == len(IMAGE)
        pieces = list(fetched.chunks())
    assert len(pieces) > 1 and all(len(piece) <= 64 * 1024 for piece in pieces)
    assert b"".join(pieces) == IMAGE


def test_a_body_of_exactly_max_bytes_is_accepted(server):
    assert _fetch_all(server.url("/image"), max_bytes=len(IMAGE), allow_loopback=True) == IMAGE


def test_loopback_is_refused_before_connecting_unless_allowed(server):
    error = _refusal(server.url("/image"))
    assert error.code == URL_NOT_ALLOWED
    assert server.connections == 0 and server.requests == []


def test_environment_proxies_and_a_trusting_session_are_ignored(server, monkeypatch):
    # A proxy would be a connection the peer check never sees (and here, a non-loopback one).
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://10.9.9.9:3128")
    session = requests.Session()
    assert session.trust_env
    assert _fetch_all(server.url("/image"), allow_loopback=True, session=session) == IMAGE
    assert session.trust_env is False
    session.close()


# -- addresses that are not public -----------------------------------------------------------------

LOOPBACK_FORMS = [
    "http://127.0.0.1/",
    "http://127.8.9.10:8080/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://localhost/",
    "https://localhost./x",
    "http://ｌｏｃａｌｈｏｓｔ/",
    "http://１２７.０.０.１/",
    "http://127。0。0。1/",
]

NEVER_ALLOWED_FORMS = [
    # private, shared, link-local and metadata, unspecified, multicast, reserved
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.170.2/v2/credentials",
    "http://0.0.0.0/",
    "http://0.1.2.3/",
    "http://224.0.0.251/",
    "http://239.255.255.250/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.2.10/",
    "http://198.18.0.1/",
    "http://[::]/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fc00::1]/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[fec0::1]/",
    "http://[ff02::1]/",
    "http://[ff0e::1]/",
    # IPv4 inside IPv6: mapped, compatible, translated, 6to4, NAT64 (well-known and local-use), Teredo
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[::127.0.0.1]/",
    "http://[::8.8.8.8]/",
    "http://[::ffff:0:127.0.0.1]/",
    "http://[2002:7f00:1::1]/",
    "http://[2002:a9fe:a9fe::]/",
    "http://[2002:a00:1::]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[64:ff9b::127.0.0.1]/",
    "http://[64:ff9b::10.0.0.1]/",
    "http://[64:ff9b:1::a00:1]/",
    "http://[2001::1]/",
    "http://[2001:db8::1]/",
    # numbers that inet_aton and browsers read as IPv4 (here: loopback, private, metadata)
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://0x7f000001/",
    "http://0x7f.0.0.1/",
    "http://0177.1/",
    "http://017700000001/",
    "http://127.0.0.1./",
    "http://10.1/",
    "http://3232235777/",
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://169.254.43518/",
    "http://127.0.0.01/",
]


@pytest.mark.parametrize("url", LOOPBACK_FORMS)
def test_loopback_in_any_form_is_refused(url):
    error = _refusal(url)
    assert error.code == URL_NOT_ALLOWED


@pytest.mark.parametrize("url", NEVER_ALLOWED_FORMS)
def test_private_reserved_and_disguised_addresses_are_refused_even_with_loopback_allowed(url):
    error = _refusal(url, allow_loopback=True)
    assert error.code == URL_NOT_ALLOWED, error.message


@pytest.mark.parametrize(
    "answers",
    [
        ["169.254.169.254"],
        ["10.1.2.3"],
        ["100.100.100.200"],
        ["fd00:ec2::254"],
        ["::ffff:192.168.0.1"],
        ["::"],
        [PUBLIC, "192.168.0.10"],
        ["2606:4700:4700::1111", "fe80::1"],
    ],
    ids=str,
)
def test_a_name_that_resolves_to_a_private_address_is_refused(dns, answers):
    dns.names["media.example.test"] = answers
    error = _refusal("https://media.example.test/cat.png", allow_loopback=True)
    assert error.code == URL_NOT_ALLOWED
    # The user learns the rule, not our network's addresses.
    assert "media.example.test/cat.png" in error.message
    assert not any(address in error.message for address in answers)


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "8.8.8.8",
        "1.1.1.1",
        "100.128.0.1",
        "172.32.0.1",
        "192.88.100.1",
        "2606:4700:4700::1111",
        "2a00:1450:4001::200e",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ],
)
def test_public_addresses_are_public(address):
    assert is_public_address(ipaddress.ip_address(address))
    assert is_public_address(ipaddress.ip_address(address), allow_loopback=True)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"])
def test_allow_loopback_admits_loopback(address):
    assert not is_public_address(ipaddress.ip_address(address), allow_loopback=False)
    assert is_public_address(ipaddress.ip_address(address), allow_loopback=True)


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "fd00:ec2::254",
        "fe80::1",
        "0.0.0.0",
        "::",
        "::ffff:169.254.169.254",
        "2002:7f00:1::",
        "64:ff9b::7f00:1",
        "::127.0.0.1",
        "100.64.0.1",
        "ff02::1",
    ],
)
def test_allow_loopback_admits_nothing_else(address):
    assert not is_public_address(ipaddress.ip_address(address), allow_loopback=True)


# -- DNS rebinding: the peer check ------------------------------------------------------------------


def _rebinding(dns):
    # The first lookup (ours, before connecting) sees a public address; the second (the HTTP
    # library's, when it connects) is answered with loopback, where our server is.
    dns.names["rebind.example.test"] = [[PUBLIC], ["127.0.0.1"]]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_name_that_rebinds_to_loopback_is_refused_by_the_peer_check(server, dns, scheme):
    _rebinding(dns)
    error = _refusal(server.url("/image", scheme=scheme, host="rebind.example.test"))
    assert error.code == URL_NOT_ALLOWED
    assert dns.lookups.count("rebind.example.test") == 2  # the connection was made, then refused
    assert server.requests == []
    assert "127.0.0.1" not in error.message


def test_without_the_peer_check_the_rebinding_test_reaches_the_server(server, dns, monkeypatch):
    # Shows that the test above tests the peer check: take it away and the request goes through.
    monkeypatch.setattr(outbound, "_peer_allowed", lambda sock, allow_loopback: True)
    _rebinding(dns)
    assert _fetch_all(server.url("/image", host="rebind.example.test")) == IMAGE
    assert server.requests == ["/image"]


# -- redirects -------------------------------------------------------------------------------------


def test_follows_up_to_the_redirect_limit(server):
    with open_url(
        server.url(f"/redirect/{MAX_REDIRECTS}"), max_bytes=LIMIT, deadline_seconds=10, allow_loopback=True
    ) as fetched:
        assert fetched.url == server.url("/redirect/0")
        assert b"".join(fetched.chunks()) == IMAGE
    assert len(server.requests) == MAX_REDIRECTS + 1


def test_a_longer_redirect_chain_is_refused(server):
    error = _refusal(server.url(f"/redirect/{MAX_REDIRECTS + 1}"), allow_loopback=True)
    assert error.code == URL_TOO_MANY_REDIRECTS
    assert len(server.requests) == MAX_REDIRECTS + 1


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://10.0.0.7/admin",
        "http://[fd00:ec2::254]/",
        "http://2852039166/",
        "http://internal.example.test/",
        "ftp://127.0.0.1/image",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "http://user:secret@127.0.0.1:{port}/image",
    ],
)
def test_a_redirect_to_somewhere_not_allowed_is_refused(server, dns, target):
    dns.names["internal.example.test"] = ["10.20.30.40"]
    target = target.format(port=server.server_port)
    error = _refusal(server.url("/to?" + requests.compat.urlencode({"location": target})), allow_loopback=True)
    assert error.code == URL_NOT_ALLOWED
    assert "redirects to a URL that is not allowed" in error.message
    assert "169.254" not in error.message and "10.20" not in error.message and "secret" not in error.message
    assert len(server.requests) == 1  # the redirect was answered; nothing followed


# -- size ------------------------------------------------------------------------------------------


def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body(server):
    # The server holds the body back: reading it would end in url_timeout, not url_too_large.
    with pytest.raises(MediaFetchError) as caught:
        open_url(server.url("/declared-huge"), max_bytes=1000, deadline_seconds=10, allow_loopback=True)
    assert caught.value.code == URL_TOO_LARGE


@pytest.mark.parametrize("route", ["/unsized", "/chunked"])
def test_a_body_without_a_length_is_cut_off_at_the_limit(server, route):
    received = []
    with pytest.raises(MediaFetchError) as caught:
        with open_url(
            server.url(route), max_bytes=100_000, deadline_seconds=10, allow_loopback=True, chunk_size=16 * 1024
        ) as fetched:
            assert fetched.declared_length is None
            for piece in fetched.chunks():
                received.append(piece)
    assert caught.value.code == URL_TOO_LARGE
    assert 0 < sum(map(len, received)) <= 100_000


# -- time ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["/drip-body", "/drip-headers"])
def test_a_slow_drip_ends_at_the_deadline(server, route):
    # A byte every 0.2 s keeps any per-read timeout happy; only the fetch's own deadline ends it.
    with pytest.raises(MediaFetchError) as caught:
        _fetch_all(server.url(route), deadline_seconds=1, allow_loopback=True)
    assert caught.value.code == URL_TIMEOUT
    assert server.drip_outcome() == "interrupted"  # we hung up; the server did not finish


def test_the_deadline_runs_on_the_clock_the_fetch_is_given(server):
    server.clock = ManualClock(dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC))
    with pytest.raises(MediaFetchError) as caught:
        _fetch_all(server.url("/late/11"), deadline_seconds=10, allow_loopback=True, clock=server.clock)
    assert caught.value.code == URL_TIMEOUT
    assert server.requests[-1] == "/late/11"  # the redirect was not followed: no time was left


def test_a_guard_refuses_a_connection_once_its_clock_passes_the_deadline():
    clock = ManualClock(dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC))
    guard = outbound.Guard(allow_loopback=True, deadline_seconds=30, clock=clock)
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        clock.advance(seconds=29)
        assert guard.remaining() == 1 and not guard.expired
        first = socket.create_connection(listener.getsockname())
        guard.admit(first)  # in time
        clock.advance(seconds=2)
        assert guard.expired
        late = socket.create_connection(listener.getsockname())
        with pytest.raises(outbound.DeadlinePassedError):
            guard.admit(late)
        first.close()
    finally:
        guard.close()
        listener.close()


# -- errors ----------------------------------------------------------------------------------------


def test_an_error_status_is_reported_with_the_status_and_without_the_query(server):
    error = _refusal(server.url("/missing?signature=s3cr3t"), allow_loopback=True)
    assert error.code == URL_HTTP_ERROR
    assert error.message == f"The media URL {server.url('/missing')} answered HTTP 404."


def test_a_refused_connection_is_unreachable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = _refusal(f"http://127.0.0.1:{port}/image", allow_loopback=True)
    assert error.code == URL_UNREACHABLE


def test_a_name_that_does_not_resolve_is_unreachable():
    error = _refusal("https://nowhere.example.test/cat.png")
    assert error.code == URL_UNREACHABLE
    assert "does not resolve" in error.message


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/image",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "javascript:alert(1)",
        "//127.0.0.1/image",
        "127.0.0.1/image",
        "",
        "http://",
        "http:///image",
        "http://[::1/",
        "http://127.0.0.1:99999/",
        "http://*.example.test/",
    ],
)
def test_urls_that_are_not_http_or_https_are_refused(url):
    assert _refusal(url, allow_loopback=True).code == URL_NOT_ALLOWED


@pytest.mark.parametrize("userinfo", ["user:secret@", "user@", ":secret@", "@", "a%40b:secret@"])
def test_a_user_name_or_password_is_refused(server, userinfo):
    error = _refusal(f"http://{userinfo}127.0.0.1:{server.server_port}/image", allow_loopback=True)
    assert error.code == URL_NOT_ALLOWED
    assert "secret" not in error.message
    assert server.connections == 0


# -- TLS -------------------------------------------------------------------------------------------


class TlsMediaServer(MediaServer):
    def __init__(self, context: ssl.SSLContext):
        super().__init__()
        self.tls = context
        self.server_names = []
        context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)

    def finish_request(self, request, client_address):
        try:
            request = self.tls.wrap_socket(request, server_side=True)
        except OSError:
            return  # the client did not trust us: the point of one test
        try:
            super().finish_request(request, client_address)
        finally:
            request.close()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A certificate authority and a certificate for media.example.test that it signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def certificate(subject, issuer, public_key, signing_key, extensions):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "openpost test authority")])
    ca = certificate(
        ca_name,
        ca_name,
        ca_key.public_key(),
        ca_key,
        [
            (x509.BasicConstraints(ca=True, path_length=None), True),
            (
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                True,
            ),
            (x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False),
        ],
    )
    leaf = certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "media.example.test")]),
        ca_name,
        key.public_key(),
        ca_key,
        [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (x509.SubjectAlternativeName([x509.DNSName("media.example.test")]), False),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
            (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False),
        ],
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "chain.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder


@pytest.fixture
def tls_server(certificates, dns):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates / "chain.pem", certificates / "key.pem")
    dns.names["media.example.test"] = ["127.0.0.1"]
    yield from _serve(TlsMediaServer(context))


def test_https_keeps_sni_and_verifies_against_the_sessions_authority(tls_server, certificates):
    session = requests.Session()
    session.verify = str(certificates / "ca.pem")
    url = tls_server.url("/image", scheme="https", host="media.example.test")
    assert _fetch_all(url, allow_loopback=True, session=session) == IMAGE
    assert tls_server.server_names == ["media.example.test"]
    session.close()


def test_https_refuses_a_certificate_nobody_vouches_for(tls_server):
    error = _refusal(tls_server.url("/image", scheme="https", host="media.example.test"), allow_loopback=True)
    assert error.code == URL_UNREACHABLE
    assert tls_server.requests == []

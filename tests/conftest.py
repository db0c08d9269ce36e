"""Shared fixtures. AWS is moto, in-process here; tests/e2e drive the real local stack over HTTP."""

from __future__ import annotations

import os

from tools.emulated_aws import one_key_pair_for_symmetric_keys, use_fake_credentials

# Before anything imports boto3 or Powertools: fake credentials so nothing can reach real AWS, and
# metrics printed nowhere.
use_fake_credentials(os.environ)
os.environ.update(
    {
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
)

import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import ipaddress  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib import container  # noqa: E402
from chalicelib.clock import ManualClock  # noqa: E402
from chalicelib.settings import Settings  # noqa: E402
from tools.provision import provision  # noqa: E402

one_key_pair_for_symmetric_keys()

_real_getaddrinfo = socket.getaddrinfo


def _loopback_only_getaddrinfo(host, *args, **kwargs):
    """Name resolution as on a machine without a network: IP literals and localhost only. Media
    URLs and account servers in tests name hosts on purpose; none may be looked up for real."""
    name = host.decode() if isinstance(host, bytes) else str(host or "")
    try:
        ipaddress.ip_address(name.strip("[]").split("%")[0])
    except ValueError as exc:
        if name.lower() not in ("localhost", "localhost.localdomain", ""):
            raise socket.gaierror(socket.EAI_NONAME, f"tests resolve no names ({name})") from exc
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def no_name_lookups(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only_getaddrinfo)


@pytest.fixture
def clock():
    return ManualClock(dt.datetime(2026, 5, 1, 12, 0, 0, tzinfo=dt.UTC))


@pytest.fixture
def aws():
    """Every openpost resource, fresh, in moto."""
    with mock_aws():
        yield provision("openpost-test")


@pytest.fixture
def services(aws, clock):
    # As in the local stack, media URLs may point at this machine (tests serve files on loopback);
    # tests of the refusal build their own Services without it.
    environment = {**aws.environment(), "OPENPOST_ALLOW_LOOPBACK_MEDIA_URLS": "true"}
    built = container.Services(Settings.from_environ(environment), clock=clock)
    container.use(built)
    yield built
    container.use(None)


@contextlib.contextmanager
def services_with(aws, clock, **settings):
    """Services on the provisioned resources with some settings changed (a platform's URL on a
    local server, a loopback switch), installed for the handlers while the block runs."""
    built = container.Services(Settings.from_environ(aws.environment()).model_copy(update=settings), clock=clock)
    container.use(built)
    try:
        yield built
    finally:
        container.use(None)


@pytest.fixture
def media_host():
    """A loopback web server hosting the files posts name by URL."""
    from tests.platform_servers.media_host import MediaHost

    with MediaHost() as host:
        yield host


@pytest.fixture
def workspace(services):
    return services.workspaces.create("Acme")


@pytest.fixture
def api(services):
    """The Chalice app, driven in-process with the same events API Gateway sends."""
    from chalice.test import Client

    import app as application

    with Client(application.app) as client:
        yield ApiClient(client)


class ApiClient:
    """A thin convenience over chalice.test.Client: JSON in, parsed JSON out."""

    def __init__(self, client):
        self._client = client

    def request(
        self, method: str, path: str, key: str | None = None, body=None, headers=None, raw: bytes | None = None
    ):
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if key is not None:
            all_headers["Authorization"] = f"Bearer {key}"
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        response = self._client.http.request(method, path, headers=all_headers, body=payload)
        return Answer(response.status_code, dict(response.headers), response.body)

    def get(self, path, key=None, **kw):
        return self.request("GET", path, key, **kw)

    def post(self, path, key=None, body=None, **kw):
        return self.request("POST", path, key, body=body, **kw)

    def delete(self, path, key=None, **kw):
        return self.request("DELETE", path, key, **kw)


def problem(answer, status, code=None):
    """The problem body of an error answer, after checking its status, media type and code."""
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/problem+json"
    if code:
        assert answer.json["code"] == code, answer.json
    return answer.json


class Answer:
    def __init__(self, status: int, headers: dict, raw: bytes):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.raw = raw

    @property
    def json(self):
        return json.loads(self.raw) if self.raw else None

    def __repr__(self):
        return f"<{self.status} {self.raw[:300]!r}>"


# Seconds an adapter is told its worker has left when a test builds a Part itself: a publisher's
# 60 s less the worker's 5 s margin (chalicelib/workers/publisher.py), as a fresh invocation has.
TIME_LEFT = 55.0


class RunningClock(ManualClock):
    """Real time, moved further when a test says so: the deployment's clock beside a local platform
    server, which keeps real time (token lifetimes, rate-limit resets, how long a video takes to
    process). Sleeping waits for real, since the server's time must pass too."""

    def __init__(self) -> None:
        super().__init__()
        self._offset = 0.0

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self._offset)

    def time(self) -> float:
        return time.time() + self._offset

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        time.sleep(seconds)

    def advance(self, **delta: float) -> dt.datetime:
        self._offset += dt.timedelta(**delta).total_seconds()
        return self.now()

    def set(self, moment: dt.datetime) -> None:
        self._offset += (moment - self.now()).total_seconds()

"""Shared fixtures. AWS is moto, in-process here; tests/e2e drive the real local stack over HTTP."""
from __future__ import annotations

import os

from tools.emulated_aws import use_fake_credentials

# Before anything imports boto3 or Powertools: fake credentials so nothing can reach real AWS, and
# metrics printed nowhere.
use_fake_credentials(os.environ)
os.environ.update({
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_TRACE_DISABLED": "true",
})

import datetime as dt  # noqa: E402
import json  # noqa: E402

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib import container  # noqa: E402
from chalicelib.clock import ManualClock  # noqa: E402
from chalicelib.settings import Settings  # noqa: E402
from tools.provision import provision  # noqa: E402


@pytest.fixture
def clock():
    return ManualClock(dt.datetime(2026, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc))


@pytest.fixture
def aws():
    """Every openpost resource, fresh, in moto."""
    with mock_aws():
        yield provision("openpost-test")


@pytest.fixture
def services(aws, clock):
    built = container.Services(Settings.from_environ(aws.environment()), clock=clock)
    container.use(built)
    yield built
    container.use(None)


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

    def request(self, method: str, path: str, key: str | None = None, body=None, headers=None, raw: bytes | None = None):
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

"""Fixtures and builders shared by the integration tests: the Lambda runtime fed from moto's queues,
the chat platforms' and Mastodon's local servers with services that reach them, and the few steps
many tests take through the API (connect an account, publish now, read a post back)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import boto3
import pytest
import requests

from tests.conftest import TIME_LEFT, services_with
from tests.integration.lambda_runtime import LambdaRuntime
from tests.platform_servers.chat_apis import DiscordServer, SlackServer, TelegramServer


@pytest.fixture
def runtime(aws, services):
    """Delivers moto's queue messages and scheduled events to the very handlers Lambda runs."""
    return LambdaRuntime(aws)


def publish_directly(services, runtime) -> str:
    """Run the publisher on the one waiting message without the queue, so that what it raises (a
    RetryLaterError) reaches the test; the worker is told it has a fresh invocation's time."""
    (message,) = runtime.peek()
    body = json.loads(message["Body"])
    return services.publisher.publish(
        body["workspace_id"],
        body["mode"],
        body["post_id"],
        body["target_id"],
        body["dispatch_id"],
        time_left=lambda: TIME_LEFT,
        integration_id=body.get("integration_id"),
    )


# --- the chat platforms and Mastodon on loopback --------------------------------------------------
@pytest.fixture
def discord():
    with DiscordServer() as server:
        yield server


@pytest.fixture
def slack():
    with SlackServer() as server:
        yield server


@pytest.fixture
def telegram():
    with TelegramServer() as server:
        yield server


@pytest.fixture
def chat_services(aws, clock, slack, telegram):
    """The app's services as tests/conftest.py builds them, with the platforms on loopback; a module
    that talks to them makes this its ``services``."""
    with services_with(
        aws, clock, allow_loopback_platforms=True, slack_api_url=slack.api_url, telegram_api_url=telegram.api_url
    ) as built:
        yield built


MASTODON_TOKEN = "openpost-mastodon-token-4c2e"


@pytest.fixture
def mastodon():
    """mastodon-mock, a real server of Mastodon's client API, with one account holding MASTODON_TOKEN."""
    from mastodon_mock.config import SeedAccount, SeedConfig
    from mastodon_mock.testing import MockServer

    account = SeedAccount(username="openpost", display_name="openpost news", access_token=MASTODON_TOKEN)
    with MockServer(seed=SeedConfig(accounts=[account])) as server:
        yield MastodonInstance(server.base_url)


class MastodonInstance:
    """The server as a follower's client sees it, plus its fault control plane."""

    def __init__(self, base_url: str):
        self.url = base_url

    def get(self, path: str):
        answer = requests.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {MASTODON_TOKEN}"}, timeout=5)
        answer.raise_for_status()
        return answer.json()

    def statuses(self) -> list:
        me = self.get("/api/v1/accounts/verify_credentials")
        return list(reversed(self.get(f"/api/v1/accounts/{me['id']}/statuses")))  # oldest first

    def fault(self, effect: dict, count: int = 1) -> None:
        rule = {"match": {"methods": ["POST"], "path": "/api/v1/statuses"}, "effect": effect, "count": count}
        requests.post(f"{self.url}/api/v1/_mock/faults", json=rule, timeout=5).raise_for_status()


# --- steps through the API ----------------------------------------------------------------------------
def connect(api, key, platform: str, body: dict) -> dict:
    answer = api.post(f"/v1/integrations/{platform}/connect", key, body)
    assert answer.status == 201, answer
    return answer.json["data"]


# An OAuth platform's connection: our connect URL, the platform's consent (its local server's
# ``authorize``, which answers the redirect back to us), then our callback, as a program asks for it.
ASKS_FOR_JSON = {"Accept": "application/json"}  # a program asking for the integration, not a browser


def start_oauth_connect(api, key, platform: str) -> dict:
    answer = api.get(f"/v1/integrations/{platform}/connect", key)
    assert answer.status == 200, answer
    return answer.json["data"]


def callback_path(redirect: str) -> str:
    """The path and query the platform sent the browser back to, for our in-process API (a fragment,
    such as the "#_" Meta appends, never reaches the server)."""
    parts = urlsplit(redirect)
    return f"{parts.path}?{parts.query}"


def oauth_connect(api, key, platform: str, server, user_id=None) -> dict:
    """The integration the whole round trip creates; ``server`` is the platform's local server."""
    started = start_oauth_connect(api, key, platform)
    answer = api.get(callback_path(server.authorize(started["url"], user_id)), headers=ASKS_FOR_JSON)
    assert answer.status == 200, answer
    return answer.json["data"]


def held(services, workspace, integration_id):
    """The credentials the live integration holds, as the engine reads them."""
    from chalicelib.domain.credentials import AccountCredentials

    return AccountCredentials(services.credentials, workspace.workspace.id, "live", integration_id)


def publish_now(api, key, platform: str, content: str, segments=(), **fields) -> str:
    body = {"content": content, "platforms": [platform], **fields}
    if segments:
        body["segments"] = [{"content": text} for text in segments]
    created = api.post("/v1/posts", key, body)
    assert created.status == 201, created
    post_id = created.json["data"]["id"]
    assert api.post(f"/v1/posts/{post_id}/publish", key).status == 202
    return post_id


def read_post(api, key, post_id: str) -> dict:
    return api.get(f"/v1/posts/{post_id}", key).json["data"]


def the_target(api, key, post_id: str) -> dict:
    (target,) = read_post(api, key, post_id)["post_targets"]
    return target


def integration_status(api, key, integration_id: str) -> str:
    return api.get(f"/v1/integrations/{integration_id}", key).json["data"]["status"]


def table_holds(services, *secrets: str) -> bool:
    """Whether any integration item, read straight from the table, shows one of the secrets."""
    table = f"{services.settings.resource_prefix}-integrations"
    dumped = json.dumps(boto3.client("dynamodb").scan(TableName=table)["Items"])
    return any(secret in dumped for secret in secrets)

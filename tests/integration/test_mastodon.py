"""Mastodon accounts, end to end against mastodon-mock: a real server of Mastodon's client API that
none of us wrote, run on loopback. It honours ``Idempotency-Key`` and injects faults on request
(``POST /api/v1/_mock/faults``), so lost answers, rate limits and outages are the server's own.

The account is connected through the API with a live key; posts go out through the real path
(create, publish now, the publisher Lambda fed from moto's queue); what the server stored is read
back through its public API, as a follower's client would read it.
"""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from chalicelib.data.integrations import IntegrationStore
from chalicelib.domain.publishing import RetryLaterError
from chalicelib.domain.records import Integration
from chalicelib.platforms.base import Part, PermanentError
from chalicelib.platforms.mastodon import Mastodon
from tests.conftest import TIME_LEFT
from tests.integration.conftest import (
    MASTODON_TOKEN,
    connect,
    integration_status,
    publish_directly,
    publish_now,
    read_post,
    table_holds,
    the_target,
)
from tests.platform_servers.chat_apis import ChatServer

TOKEN = MASTODON_TOKEN


@pytest.fixture
def services(chat_services):
    return chat_services


@pytest.fixture
def key(workspace):
    return workspace.live_key


class AnswerLosingProxy(ChatServer):
    """Passes every call through to the server; when armed (``fail_next("slow")``), lets a status be
    made and then holds its answer past the client's patience. mastodon-mock's own latency fault
    cannot do this: a client that hangs up cancels the request before the status is made."""

    def __init__(self, target: str):
        super().__init__()
        self.target = target

    def handle(self, method, path, query, body, headers):
        def forward():
            answer = requests.request(
                method,
                f"{self.target}{path}",
                params=query,
                timeout=5,
                json=body if method == "POST" else None,
                headers={name: headers[name] for name in ("authorization", "idempotency-key") if name in headers},
            )
            return answer.status_code, {}, answer.json()

        if method == "POST" and path == "/api/v1/statuses":
            return self.posting("statuses", None, forward)
        return forward()


@pytest.fixture
def account(api, key, mastodon):
    return connect(api, key, "mastodon", {"instance_url": mastodon.url, "access_token": TOKEN})


# --- connecting ------------------------------------------------------------------------------------
def test_connect_reads_the_servers_limits_and_seals_the_token(api, key, mastodon, services, workspace):
    shown = connect(api, key, "mastodon", {"instance_url": mastodon.url, "access_token": TOKEN})
    assert shown["platform"] == "mastodon" and shown["status"] == "active"
    assert shown["username"] == "openpost@mock.local" and shown["display_name"] == "openpost news"
    profile = IntegrationStore().get(workspace.workspace.id, "live", shown["id"]).profile
    assert profile["max_characters"] == 500 and profile["characters_reserved_per_url"] == 23
    assert not table_holds(services, TOKEN)


def test_connect_with_a_wrong_token_is_422(api, key, mastodon):
    answer = api.post("/v1/integrations/mastodon/connect", key, {"instance_url": mastodon.url, "access_token": "nope"})
    assert answer.status == 422 and answer.json["code"] == "invalid_credentials"


def test_connect_to_a_server_that_is_down_is_503(api, key):
    answer = api.post(
        "/v1/integrations/mastodon/connect", key, {"instance_url": "http://127.0.0.1:9", "access_token": TOKEN}
    )
    assert answer.status == 503 and answer.json["code"] == "platform_unavailable"


def test_an_instance_on_a_private_address_is_refused(api, key, services):
    services.__dict__["settings"] = services.settings.model_copy(update={"allow_loopback_platforms": False})
    for url in ("http://127.0.0.1:9", "https://127.0.0.1", "https://10.0.0.8"):
        answer = api.post("/v1/integrations/mastodon/connect", key, {"instance_url": url, "access_token": TOKEN})
        assert answer.status == 422 and answer.json["code"] == "invalid_url", (url, answer)


# --- publishing ------------------------------------------------------------------------------------
def test_a_single_status_with_its_settings(api, key, runtime, mastodon, account):
    post_id = publish_now(
        api,
        key,
        "mastodon",
        "Hello, fediverse",
        platform_settings={"mastodon": {"visibility": "unlisted", "spoiler_text": "news", "language": "en"}},
    )
    runtime.drain()
    (status,) = mastodon.statuses()
    assert status["content"] == "<p>Hello, fediverse</p>"
    assert (status["visibility"], status["spoiler_text"], status["language"]) == ("unlisted", "news", "en")
    target = the_target(api, key, post_id)
    assert target["status"] == "published"
    assert (target["platform_post_id"], target["platform_post_url"]) == (status["id"], status["url"])


def test_a_thread_is_a_reply_chain(api, key, runtime, mastodon, account):
    post_id = publish_now(
        api,
        key,
        "mastodon",
        "Thread, part one",
        segments=["Part two", "Part three"],
        platform_settings={"mastodon": {"visibility": "public"}},
    )
    runtime.drain()
    first, second, third = mastodon.statuses()
    assert [s["content"] for s in (first, second, third)] == [
        "<p>Thread, part one</p>",
        "<p>Part two</p>",
        "<p>Part three</p>",
    ]
    assert first["in_reply_to_id"] is None
    assert second["in_reply_to_id"] == first["id"] and third["in_reply_to_id"] == second["id"]
    context = mastodon.get(f"/api/v1/statuses/{first['id']}/context")
    assert [s["id"] for s in context["descendants"]] == [second["id"], third["id"]]
    assert read_post(api, key, post_id)["status"] == "published"


def test_401_flags_the_account(api, key, runtime, mastodon, account):
    mastodon.fault({"type": "status", "status": 401, "body": {"error": "The access token was revoked"}})
    post_id = publish_now(api, key, "mastodon", "Hello")
    runtime.drain()
    target = the_target(api, key, post_id)
    assert target["status"] == "failed" and target["error"]["code"] == "integration_needs_refresh"
    assert integration_status(api, key, account["id"]) == "needs_refresh"
    assert mastodon.statuses() == []


def test_429_waits_for_retry_after(api, key, runtime, services, mastodon, account):
    mastodon.fault({"type": "ratelimit", "headers": {"Retry-After": "9"}})
    post_id = publish_now(api, key, "mastodon", "Hello")
    with pytest.raises(RetryLaterError) as later:
        publish_directly(services, runtime)
    assert later.value.seconds == 9
    runtime.drain()
    assert the_target(api, key, post_id)["status"] == "published" and len(mastodon.statuses()) == 1


def test_429_without_retry_after_waits_until_the_window_resets(api, key, runtime, services, mastodon, account):
    # Mastodon itself sends only X-RateLimit-Reset, an ISO 8601 time.
    reset = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=40)).isoformat()
    mastodon.fault({"type": "ratelimit", "headers": {"Retry-After": "", "X-RateLimit-Reset": reset}})
    publish_now(api, key, "mastodon", "Hello")
    with pytest.raises(RetryLaterError) as later:
        publish_directly(services, runtime)
    # The Date header counts whole seconds and the server refreshes it on a timer that a busy machine
    # delays: around 40, not a default backoff.
    assert 37 <= later.value.seconds <= 43


def test_5xx_is_retried_until_it_succeeds(api, key, runtime, mastodon, account):
    mastodon.fault({"type": "status", "status": 503}, count=2)
    post_id = publish_now(api, key, "mastodon", "Hello")
    for _ in range(2):
        runtime.deliver()
        assert the_target(api, key, post_id)["error"]["retrying"] is True
        runtime.time_passes()
    runtime.drain()
    assert the_target(api, key, post_id)["status"] == "published" and len(mastodon.statuses()) == 1


def test_an_answer_lost_after_the_server_accepted_is_retried_and_recognised(api, key, runtime, mastodon, monkeypatch):
    monkeypatch.setattr(Mastodon, "timeout", (2.0, 0.4))
    with AnswerLosingProxy(mastodon.url) as proxy:
        connect(api, key, "mastodon", {"instance_url": proxy.base_url, "access_token": TOKEN})
        proxy.fail_next("slow", delay=1.0)
        post_id = publish_now(api, key, "mastodon", "Hello once")
        runtime.deliver()
        assert the_target(api, key, post_id)["error"]["retrying"] is True
        (made,) = mastodon.statuses()  # made, though we never heard so
        runtime.time_passes()
        runtime.drain()
    target = the_target(api, key, post_id)
    assert target["status"] == "published" and target["platform_post_id"] == made["id"]
    assert proxy.calls.count("statuses") == 2  # asked twice...
    assert len(mastodon.statuses()) == 1  # ...with the same Idempotency-Key: one status


def test_the_servers_refusal_is_shown_to_the_user(mastodon):
    integration = Integration(
        id="i",
        workspace_id="w",
        mode="live",
        platform="mastodon",
        username="openpost",
        display_name="openpost",
        status="active",
        created_at=None,
        updated_at=None,
    )
    held = type("Held", (), {"value": {"instance_url": mastodon.url, "access_token": TOKEN}})()
    with pytest.raises(PermanentError) as refused:
        Mastodon(integration, held).publish(
            Part(text="x" * 501, index=0, total=1, idempotency_key="t:0", time_left=TIME_LEFT)
        )
    assert "too long" in refused.value.message and refused.value.code == "platform_rejected"

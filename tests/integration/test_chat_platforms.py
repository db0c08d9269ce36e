"""Discord, Slack and Telegram accounts, end to end against local servers that answer as the
platforms do (tests/platform_servers/chat_apis.py).

Each account is connected through the API with a live key, then posts go out through the real path:
create, publish now, and the publisher Lambda fed from moto's queue. What each server kept is read
back as a person in the channel would see it. Faults are scripted on the server: a 401 must flag the
account for reconnecting, a 429 must be retried after exactly the platform's wait, a 5xx retried until
it succeeds, and a lost answer must never lead to a second message.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.data.integrations import IntegrationStore
from chalicelib.domain.credentials import AccountCredentials
from chalicelib.domain.publishing import RetryLaterError
from chalicelib.platforms.base import OutcomeUnknownError, Part, TransientError
from tests.conftest import TIME_LEFT, problem
from tests.integration.conftest import (
    connect,
    integration_status,
    publish_directly,
    publish_now,
    read_post,
    table_holds,
    the_target,
)
from tests.platform_servers.chat_apis import DiscordServer, SlackServer, TelegramServer


# --- the world: the servers, and services that reach them (tests/integration/conftest.py) -------------
@pytest.fixture
def services(chat_services):
    return chat_services


@pytest.fixture
def key(workspace):
    return workspace.live_key


# --- connecting ------------------------------------------------------------------------------------
def test_connect_discord_learns_the_webhook_and_seals_it(api, key, discord, services):
    shown = connect(api, key, "discord", {"webhook_url": discord.webhook_url})
    assert shown["platform"] == "discord" and shown["username"] == "openpost news" and shown["status"] == "active"
    assert discord.TOKEN not in json.dumps(shown)
    assert not table_holds(services, discord.TOKEN)
    again = connect(api, key, "discord", {"webhook_url": discord.webhook_url})
    assert again["id"] == shown["id"]  # reconnecting keeps the integration


def test_connect_slack_checks_token_and_channel(api, key, slack, services):
    shown = connect(api, key, "slack", {"bot_token": slack.TOKEN, "channel": slack.CHANNEL_ID})
    assert shown["username"] == "#news" and "openpost test" in shown["display_name"]
    assert slack.calls.count("auth.test") == 1 and slack.calls.count("conversations.info") == 1
    assert not table_holds(services, slack.TOKEN)


def test_connect_telegram_checks_bot_and_chat(api, key, telegram, services, workspace):
    shown = connect(api, key, "telegram", {"bot_token": telegram.TOKEN, "chat_id": "@openpost_news"})
    assert shown["username"] == "@openpost_news" and shown["display_name"] == "openpost news"
    integration = IntegrationStore().get(workspace.workspace.id, "live", shown["id"])
    assert integration.profile["chat_id"] == telegram.CHAT_ID  # the numeric id, stable if renamed
    assert not table_holds(services, telegram.TOKEN)


@pytest.mark.parametrize(
    "platform, body, code",
    [
        ("slack", {"bot_token": "xoxb-wrong", "channel": SlackServer.CHANNEL_ID}, "invalid_credentials"),
        ("slack", {"bot_token": SlackServer.TOKEN, "channel": "C0UNKNOWN"}, "channel_not_found"),
        ("telegram", {"bot_token": "1:wrong", "chat_id": "@openpost_news"}, "invalid_credentials"),
        ("telegram", {"bot_token": TelegramServer.TOKEN, "chat_id": "@somebody_else"}, "chat_not_found"),
    ],
)
def test_refused_credentials_are_422(api, key, slack, telegram, platform, body, code):
    answer = api.post(f"/v1/integrations/{platform}/connect", key, body)
    assert answer.status == 422 and answer.json["code"] == code, answer
    assert api.get("/v1/integrations", key).json["total"] == 0


def test_a_discord_webhook_that_does_not_exist_is_422_webhook_not_found(api, key, discord):
    unknown = discord.webhook_url.replace(discord.WEBHOOK_ID, "1100000000000000999")
    answer = api.post("/v1/integrations/discord/connect", key, {"webhook_url": unknown})
    assert answer.status == 422 and answer.json["code"] == "webhook_not_found", answer
    assert "deleted" in answer.json["detail"] and answer.json["errors"][0]["field"] == "webhook_url"
    wrong_token = discord.webhook_url.rsplit("/", 1)[0] + "/not-the-token"
    answer = api.post("/v1/integrations/discord/connect", key, {"webhook_url": wrong_token})
    assert answer.status == 422 and answer.json["code"] == "webhook_not_found"
    assert "token" in answer.json["detail"]
    elsewhere = api.post(
        "/v1/integrations/discord/connect", key, {"webhook_url": "https://example.com/api/webhooks/1/abc"}
    )
    assert elsewhere.status == 422 and elsewhere.json["code"] == "invalid_credentials"
    assert api.get("/v1/integrations", key).json["total"] == 0


def test_a_slack_channel_without_the_app_is_422_bot_not_in_channel(api, key, slack):
    slack.bot_in_channel = False
    answer = api.post("/v1/integrations/slack/connect", key, {"bot_token": slack.TOKEN, "channel": slack.CHANNEL_ID})
    assert answer.status == 422 and answer.json["code"] == "bot_not_in_channel", answer
    assert "#news" in answer.json["detail"] and "/invite" in answer.json["detail"]
    assert answer.json["errors"][0]["field"] == "channel"
    assert api.get("/v1/integrations", key).json["total"] == 0
    slack.bot_in_channel = True  # invited: now it connects
    assert connect(api, key, "slack", {"bot_token": slack.TOKEN, "channel": slack.CHANNEL_ID})["username"] == "#news"


@pytest.mark.parametrize(
    "chat_type, member, code",
    [
        ("channel", {"status": "administrator", "can_post_messages": False}, "bot_cannot_post"),
        ("channel", {"status": "member"}, "bot_cannot_post"),
        ("channel", {"status": "left"}, "bot_not_in_chat"),
        ("channel", {"status": "kicked", "until_date": 0}, "bot_not_in_chat"),
        ("supergroup", {"status": "restricted", "is_member": True, "can_send_messages": False}, "bot_cannot_post"),
        ("supergroup", {"status": "restricted", "is_member": False, "can_send_messages": True}, "bot_not_in_chat"),
        ("group", {"status": "left"}, "bot_not_in_chat"),
    ],
)
def test_a_telegram_chat_the_bot_cannot_post_to_is_422(api, key, telegram, chat_type, member, code):
    telegram.chat_type, telegram.bot_member = chat_type, member
    answer = api.post(
        "/v1/integrations/telegram/connect", key, {"bot_token": telegram.TOKEN, "chat_id": "@openpost_news"}
    )
    assert answer.status == 422 and answer.json["code"] == code, answer
    assert "openpost_test_bot" in answer.json["detail"] and answer.json["errors"][0]["field"] == "chat_id"
    assert telegram.calls.count("getChatMember") == 1
    assert api.get("/v1/integrations", key).json["total"] == 0
    # What the connect check refuses, Telegram refuses too.
    sent = telegram.handle(
        "POST", f"/bot{telegram.TOKEN}/sendMessage", {}, {"chat_id": "@openpost_news", "text": "Hello"}, {}
    )
    assert sent[0] in (400, 403) and telegram.messages == []


@pytest.mark.parametrize(
    "chat_type, member",
    [
        ("channel", {"status": "creator", "is_anonymous": False}),
        ("supergroup", {"status": "member"}),
        ("supergroup", {"status": "administrator"}),
        ("supergroup", {"status": "restricted", "is_member": True, "can_send_messages": True}),
    ],
)
def test_a_telegram_chat_the_bot_can_post_to_connects(api, key, telegram, chat_type, member):
    telegram.chat_type, telegram.bot_member = chat_type, member
    connect(api, key, "telegram", {"bot_token": telegram.TOKEN, "chat_id": "@openpost_news"})


def test_a_platform_that_cannot_be_reached_is_503(api, key, slack, services):
    services.__dict__["settings"] = services.settings.model_copy(update={"slack_api_url": "http://127.0.0.1:9/api"})
    answer = api.post("/v1/integrations/slack/connect", key, {"bot_token": slack.TOKEN, "channel": slack.CHANNEL_ID})
    assert answer.status == 503 and answer.json["code"] == "platform_unavailable", answer


def test_a_test_key_never_reaches_a_platform(api, workspace, slack):
    answer = api.post(
        "/v1/integrations/slack/connect", workspace.test_key, {"bot_token": slack.TOKEN, "channel": slack.CHANNEL_ID}
    )
    assert answer.status == 422 and answer.json["code"] == "live_mode_required"
    assert slack.calls.items == []


def test_loopback_webhooks_are_refused_unless_the_deployment_allows_them(api, key, discord, services):
    services.__dict__["settings"] = services.settings.model_copy(update={"allow_loopback_platforms": False})
    answer = api.post("/v1/integrations/discord/connect", key, {"webhook_url": discord.webhook_url})
    assert problem(answer, 422, "invalid_credentials")["errors"][0]["field"] == "webhook_url"
    assert discord.calls.items == []  # the token was never sent there


# --- Discord ---------------------------------------------------------------------------------------
@pytest.fixture
def discord_account(api, key, discord):
    return connect(api, key, "discord", {"webhook_url": discord.webhook_url})


def test_the_discord_server_takes_only_api_v10(discord):
    import requests

    for version in ("", "v9", "v6"):
        answer = requests.get(discord.webhook_url_at(version), timeout=5)
        assert answer.status_code == 400 and answer.json()["code"] == 50041
    assert requests.get(discord.webhook_url_at("v10"), timeout=5).json()["id"] == discord.WEBHOOK_ID


@pytest.mark.parametrize("version", ["", "v9", "v10"])
def test_a_discord_webhook_url_in_any_version_is_stored_and_used_as_v10(
    api, key, runtime, services, discord, workspace, version
):
    account = connect(api, key, "discord", {"webhook_url": discord.webhook_url_at(version)})
    stored = AccountCredentials(services.credentials, workspace.workspace.id, "live", account["id"]).value
    assert stored["webhook_url"] == discord.webhook_url
    post_id = publish_now(api, key, "discord", "Pinned to v10")
    runtime.drain()
    assert the_target(api, key, post_id)["status"] == "published" and discord.channel() == ["Pinned to v10"]


def test_a_discord_account_stored_unversioned_before_v10_still_publishes(
    api, key, runtime, services, discord, discord_account, workspace
):
    # Accounts connected before the API version was pinned hold the unversioned URL.
    held = AccountCredentials(services.credentials, workspace.workspace.id, "live", discord_account["id"])
    held.replace({"webhook_url": discord.webhook_url_at("")})
    post_id = publish_now(api, key, "discord", "Still here")
    runtime.drain()
    assert the_target(api, key, post_id)["status"] == "published" and discord.channel() == ["Still here"]
    assert ("POST", "unversioned") not in discord.calls.items


def test_discord_single_post_and_thread_in_a_text_channel(api, key, runtime, discord, discord_account):
    single = publish_now(api, key, "discord", "Release 1.4 is out <3 & more")
    runtime.drain()  # one post after the other: two posts in one batch publish side by side, in any order
    thread = publish_now(api, key, "discord", "A thread, part one", segments=["Part two", "Part three"])
    runtime.drain()
    # A webhook cannot open a thread in a text channel: the parts follow one another, in order.
    assert discord.channel() == ["Release 1.4 is out <3 & more", "A thread, part one", "Part two", "Part three"]
    target = the_target(api, key, single)
    assert target["status"] == "published"
    message = discord.messages[0]
    assert target["platform_post_id"] == message["id"]
    assert target["platform_post_url"] == (
        f"https://discord.com/channels/{discord.GUILD_ID}/{discord.CHANNEL_ID}/{message['id']}"
    )
    assert read_post(api, key, thread)["status"] == "published"


def test_discord_thread_in_a_forum_channel_is_one_forum_post():
    with DiscordServer(forum=True) as forum:
        _publish_a_thread_to(forum)


def _publish_a_thread_to(forum: DiscordServer) -> None:
    # A forum refuses a message outside a thread; the adapter opens one named after the first line.
    from chalicelib.domain.records import Integration
    from chalicelib.platforms.discord import Discord

    integration = Integration(
        id="i",
        workspace_id="w",
        mode="live",
        platform="discord",
        username="news",
        display_name="news",
        status="active",
        created_at=None,
        updated_at=None,
        profile={"guild_id": forum.GUILD_ID, "channel_id": forum.CHANNEL_ID},
    )
    adapter = Discord(integration, _Held({"webhook_url": forum.webhook_url}))
    first = adapter.publish(
        Part(text="Launch day\nEverything new in 2.0", index=0, total=3, idempotency_key="t:0", time_left=TIME_LEFT)
    )
    second = adapter.publish(
        Part(text="Part two", index=1, total=3, idempotency_key="t:1", reply_to=first, root=first, time_left=TIME_LEFT)
    )
    adapter.publish(
        Part(
            text="Part three", index=2, total=3, idempotency_key="t:2", reply_to=second, root=first, time_left=TIME_LEFT
        )
    )
    assert forum.channel() == ["Launch day"]
    (thread_id,) = forum.threads
    assert forum.thread(thread_id) == ["Launch day\nEverything new in 2.0", "Part two", "Part three"]
    assert first.url == f"https://discord.com/channels/{forum.GUILD_ID}/{thread_id}/{first.id}"


class _Held:
    """Credentials as an adapter holds them (AccountCredentials' reading side)."""

    def __init__(self, value):
        self.value = value


def test_discord_401_flags_the_account(api, key, runtime, discord, discord_account):
    discord.fail_next("401")
    post_id = publish_now(api, key, "discord", "Hello")
    runtime.drain()
    target = the_target(api, key, post_id)
    assert target["status"] == "failed" and target["error"]["code"] == "integration_needs_refresh"
    assert integration_status(api, key, discord_account["id"]) == "needs_refresh"
    assert discord.messages == []


def test_discord_429_waits_for_its_retry_after(api, key, runtime, services, discord, discord_account):
    discord.fail_next("429", retry_after=2.5)
    post_id = publish_now(api, key, "discord", "Hello")
    with pytest.raises(RetryLaterError) as later:
        publish_directly(services, runtime)
    assert later.value.seconds == 3  # Discord's 2.5 s, in whole seconds for the queue
    runtime.drain()
    assert the_target(api, key, post_id)["status"] == "published" and discord.channel() == ["Hello"]


def test_discord_5xx_is_retried_until_it_succeeds(api, key, runtime, discord, discord_account):
    discord.fail_next("5xx", times=2)
    post_id = publish_now(api, key, "discord", "Hello")
    for _ in range(2):
        runtime.deliver()
        assert the_target(api, key, post_id)["error"]["retrying"] is True
        runtime.time_passes()
    runtime.drain()
    assert the_target(api, key, post_id)["status"] == "published" and discord.channel() == ["Hello"]


# --- Slack -----------------------------------------------------------------------------------------
@pytest.fixture
def slack_account(api, key, slack):
    return connect(api, key, "slack", {"bot_token": slack.TOKEN, "channel": slack.CHANNEL_ID})


def test_slack_single_post_and_thread(api, key, runtime, slack, slack_account):
    single = publish_now(api, key, "slack", "Ship it: 3 < 4 & <!channel> stays text")
    runtime.drain()  # one batch would publish both side by side, in either order
    thread = publish_now(api, key, "slack", "Thread, part one", segments=["Part two", "Part three"])
    runtime.drain()
    history = slack.history()
    assert [item["text"] for item in history] == ["Ship it: 3 < 4 & <!channel> stays text", "Thread, part one"]
    assert history[0]["replies"] == [] and history[1]["replies"] == ["Part two", "Part three"]
    for post_id, message in ((single, history[0]), (thread, history[1])):
        target = the_target(api, key, post_id)
        assert target["status"] == "published" and target["platform_post_id"] == message["ts"]
        assert (
            target["platform_post_url"]
            == slack.handle(
                "POST",
                "/api/chat.getPermalink",
                {},
                {"channel": slack.CHANNEL_ID, "message_ts": message["ts"]},
                {"authorization": f"Bearer {slack.TOKEN}"},
            )[2]["permalink"]
        )


def test_slack_revoked_token_flags_the_account(api, key, runtime, slack, slack_account):
    slack.fail_next("401")
    post_id = publish_now(api, key, "slack", "Hello")
    runtime.drain()
    target = the_target(api, key, post_id)
    assert target["status"] == "failed" and target["error"]["code"] == "integration_needs_refresh"
    assert "token_revoked" in target["error"]["message"]
    assert integration_status(api, key, slack_account["id"]) == "needs_refresh"


def test_slack_429_waits_for_its_retry_after(api, key, runtime, services, slack, slack_account):
    slack.fail_next("429", retry_after=7)
    post_id = publish_now(api, key, "slack", "Hello")
    with pytest.raises(RetryLaterError) as later:
        publish_directly(services, runtime)
    assert later.value.seconds == 7
    runtime.drain()
    assert the_target(api, key, post_id)["status"] == "published"
    assert [item["text"] for item in slack.history()] == ["Hello"]


@pytest.mark.parametrize("error", ["ratelimited", "rate_limited"])
def test_slack_rate_limit_inside_a_200_waits_and_the_thread_goes_on(
    api, key, runtime, services, slack, slack_account, error
):
    # Slack names a limit in the body of an HTTP 200 too; the thread waits rather than failing part-way.
    slack.fail_next("429", on="chat.postMessage", after=1, in_body=True, error=error, retry_after=9)
    post_id = publish_now(api, key, "slack", "Part one", segments=["Part two"])
    with pytest.raises(RetryLaterError) as later:
        publish_directly(services, runtime)
    assert later.value.seconds == 9
    target = the_target(api, key, post_id)
    assert target["status"] == "publishing" and target["error"]["code"] == "rate_limited"
    runtime.drain()
    assert the_target(api, key, post_id)["status"] == "published"
    assert [(item["text"], item["replies"]) for item in slack.history()] == [("Part one", ["Part two"])]


def test_slack_rate_limit_without_a_wait_backs_off(api, key, runtime, services, slack, slack_account):
    slack.fail_next("429", in_body=True, error="rate_limited", retry_header=False)
    post_id = publish_now(api, key, "slack", "Hello")
    with pytest.raises(RetryLaterError) as later:
        publish_directly(services, runtime)
    assert 1 <= later.value.seconds <= 10  # the engine's first backoff
    assert the_target(api, key, post_id)["error"]["code"] == "rate_limited"


def test_slack_5xx_is_retried_until_it_succeeds(api, key, runtime, slack, slack_account):
    slack.fail_next("5xx")
    post_id = publish_now(api, key, "slack", "Hello")
    runtime.deliver()
    runtime.time_passes()
    runtime.drain()
    assert the_target(api, key, post_id)["status"] == "published"
    assert [item["text"] for item in slack.history()] == ["Hello"]


def test_slack_answer_lost_after_posting_is_never_sent_twice(api, key, runtime, slack, slack_account, monkeypatch):
    from chalicelib.platforms.slack import Slack

    monkeypatch.setattr(Slack, "timeout", (2.0, 0.3))
    slack.fail_next("slow", delay=1.0)
    post_id = publish_now(api, key, "slack", "Hello")
    runtime.drain()
    target = the_target(api, key, post_id)
    assert target["status"] == "failed" and target["error"]["code"] == "outcome_unknown"
    runtime.time_passes()
    runtime.drain()
    assert [item["text"] for item in slack.history()] == ["Hello"]  # posted once, and only once


# --- Telegram --------------------------------------------------------------------------------------
@pytest.fixture
def telegram_account(api, key, telegram):
    return connect(api, key, "telegram", {"bot_token": telegram.TOKEN, "chat_id": str(telegram.CHAT_ID)})


def test_telegram_single_post_and_reply_chain(api, key, runtime, telegram, telegram_account):
    single = publish_now(api, key, "telegram", "Plain *text* stays plain")
    runtime.drain()  # one post after the other: two posts in one batch publish side by side, in any order
    thread = publish_now(api, key, "telegram", "Thread, part one", segments=["Part two", "Part three"])
    runtime.drain()
    feed = telegram.feed()
    assert [item["text"] for item in feed] == ["Plain *text* stays plain", "Thread, part one", "Part two", "Part three"]
    assert feed[0]["reply_to"] is None and feed[1]["reply_to"] is None
    assert feed[2]["reply_to"] == feed[1]["id"] and feed[3]["reply_to"] == feed[2]["id"]
    target = the_target(api, key, single)
    assert target["platform_post_url"] == f"https://t.me/openpost_news/{feed[0]['id']}"
    assert read_post(api, key, thread)["status"] == "published"


def test_telegram_401_flags_the_account(api, key, runtime, telegram, telegram_account):
    telegram.fail_next("401")
    post_id = publish_now(api, key, "telegram", "Hello")
    runtime.drain()
    assert the_target(api, key, post_id)["error"]["code"] == "integration_needs_refresh"
    assert integration_status(api, key, telegram_account["id"]) == "needs_refresh"


def test_telegram_429_waits_for_its_retry_after(api, key, runtime, services, telegram, telegram_account):
    telegram.fail_next("429", retry_after=11)
    post_id = publish_now(api, key, "telegram", "Hello")
    with pytest.raises(RetryLaterError) as later:
        publish_directly(services, runtime)
    assert later.value.seconds == 11
    runtime.drain()
    assert the_target(api, key, post_id)["status"] == "published"
    assert [item["text"] for item in telegram.feed()] == ["Hello"]


def test_telegram_5xx_mid_thread_resumes_where_it_stopped(api, key, runtime, telegram, telegram_account):
    post_id = publish_now(api, key, "telegram", "One", segments=["Two", "Three"])
    telegram.fail_next("5xx")
    runtime.deliver()  # "One" fails: nothing sent
    runtime.time_passes()
    runtime.drain()
    feed = telegram.feed()
    assert [item["text"] for item in feed] == ["One", "Two", "Three"]
    assert feed[2]["reply_to"] == feed[1]["id"]
    assert read_post(api, key, post_id)["status"] == "published"


# --- the shared error mapping ----------------------------------------------------------------------
def test_an_unreachable_platform_is_retryable_and_sent_nothing():
    from chalicelib.platforms import http

    with pytest.raises(TransientError):
        http.call(
            "POST",
            "http://127.0.0.1:9/anything",
            session=http.new_session(),
            platform="Slack",
            idempotent=False,
            timeout=(1, 1),
        )


def test_a_lost_answer_is_unknown_only_where_a_repeat_is_not_recognised(slack):
    from chalicelib.platforms import http

    slack.fail_next("slow", delay=1.0)
    with pytest.raises(OutcomeUnknownError):
        http.call(
            "POST",
            f"{slack.api_url}/chat.postMessage",
            session=http.new_session(),
            platform="Slack",
            idempotent=False,
            timeout=(1, 0.2),
            data={"channel": slack.CHANNEL_ID, "text": "x"},
            headers={"Authorization": f"Bearer {slack.TOKEN}"},
        )
    slack.fail_next("slow", delay=1.0)
    with pytest.raises(TransientError):
        http.call(
            "POST",
            f"{slack.api_url}/chat.postMessage",
            session=http.new_session(),
            platform="Slack",
            idempotent=True,
            timeout=(1, 0.2),
            data={"channel": slack.CHANNEL_ID, "text": "x"},
            headers={"Authorization": f"Bearer {slack.TOKEN}"},
        )

"""Reactions as analytics on Discord and Slack, against the local chat servers
(tests/platform_servers/chat_apis.py): posts published through the real path, their reactions read
one message a call with the credentials the account was connected with. A Slack bot without
reactions:read says so per target and keeps publishing."""

from __future__ import annotations

import pytest

from chalicelib.data.integrations import IntegrationStore
from tests.integration.conftest import connect, publish_now


@pytest.fixture
def services(chat_services):
    return chat_services


@pytest.fixture
def key(workspace):
    return workspace.live_key


def plan_and_refresh(runtime, clock):
    clock.advance(minutes=30)
    runtime.tick("analytics_planner", clock.now())
    runtime.drain("analytics")


def target_analytics(api, key, post_id):
    (target,) = api.get(f"/v1/analytics/post/{post_id}", key).json["data"]["targets"]
    return target


def test_discord_reactions_count_as_likes(api, key, runtime, clock, discord):
    connect(api, key, "discord", {"webhook_url": discord.webhook_url})
    post_id = publish_now(api, key, "discord", "React to this")
    runtime.drain()
    (message,) = discord.messages
    discord.react(message["id"], "👍", 4)
    discord.react(message["id"], "🎉", 3)
    plan_and_refresh(runtime, clock)
    target = target_analytics(api, key, post_id)
    assert target["analytics_status"] == "active" and discord.calls.count("message") == 1
    assert (target["impressions"], target["likes"], target["comments"], target["shares"]) == (None, 7, None, None)
    assert {r["emoji"]: r["count"] for r in target["snapshots"][0]["platform_data"]["reactions"]} == {"👍": 4, "🎉": 3}


def test_slack_reactions_and_thread_replies(api, key, runtime, clock, slack):
    connect(api, key, "slack", {"bot_token": slack.TOKEN, "channel": slack.CHANNEL_ID})
    post_id = publish_now(api, key, "slack", "Thoughts?", segments=["First reply from us"])
    runtime.drain()
    parent = slack.messages[0]
    slack.react(parent["ts"], "+1", 5)
    plan_and_refresh(runtime, clock)
    target = target_analytics(api, key, post_id)
    assert target["analytics_status"] == "active" and slack.calls.count("reactions.get") == 1
    assert (target["impressions"], target["likes"], target["comments"], target["shares"]) == (None, 5, 1, None)


def test_a_slack_bot_without_reactions_read_says_so_and_keeps_publishing(api, key, runtime, clock, slack, workspace):
    account = connect(api, key, "slack", {"bot_token": slack.TOKEN, "channel": slack.CHANNEL_ID})
    post_id = publish_now(api, key, "slack", "No peeking")
    runtime.drain()
    slack.reactions_read = False
    plan_and_refresh(runtime, clock)
    target = target_analytics(api, key, post_id)
    assert (target["analytics_status"], target["analytics_reason"]) == ("unavailable", "metrics_not_permitted")
    assert IntegrationStore().get(workspace.workspace.id, "live", account["id"]).status == "active"
    later = publish_now(api, key, "slack", "Still publishing")
    runtime.drain()
    assert api.get(f"/v1/posts/{later}", key).json["data"]["status"] == "published"


# --- Mastodon on mastodon-mock: a server of Mastodon's client API none of us wrote -------------------
def test_mastodon_counters_read_from_mastodon_mock(api, key, runtime, clock):
    import requests
    from mastodon_mock.config import SeedAccount, SeedConfig
    from mastodon_mock.testing import MockServer

    from tests.integration.test_mastodon import TOKEN

    seed = SeedConfig(accounts=[SeedAccount(username="openpost", display_name="openpost news", access_token=TOKEN)])
    with MockServer(seed=seed) as server:
        connect(api, key, "mastodon", {"instance_url": server.base_url, "access_token": TOKEN})
        post_ids = [publish_now(api, key, "mastodon", f"Status {index}") for index in range(3)]
        runtime.drain()
        status_id = api.get(f"/v1/posts/{post_ids[0]}", key).json["data"]["post_targets"][0]["platform_post_id"]
        auth = {"Authorization": f"Bearer {TOKEN}"}
        requests.post(
            f"{server.base_url}/api/v1/statuses/{status_id}/favourite", headers=auth, timeout=5
        ).raise_for_status()
        requests.post(
            f"{server.base_url}/api/v1/statuses/{status_id}/reblog", headers=auth, timeout=5
        ).raise_for_status()
        plan_and_refresh(runtime, clock)
        first = target_analytics(api, key, post_ids[0])
        assert (first["impressions"], first["likes"], first["comments"], first["shares"]) == (None, 1, 0, 1)
        assert target_analytics(api, key, post_ids[1])["likes"] == 0

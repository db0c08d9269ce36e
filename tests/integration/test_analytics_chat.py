"""Reactions as analytics on Discord and Slack, against the local chat servers
(tests/platform_servers/chat_apis.py): posts published through the real path, their reactions read
one message a call with the credentials the account was connected with. A Slack bot without
reactions:read says so per target and keeps publishing."""

from __future__ import annotations

from chalicelib.data.integrations import IntegrationStore
from tests.integration import test_chat_platforms as chat
from tests.integration.test_chat_platforms import connect, publish_now

# The chat platform tests' fixtures, found by pytest under these names.
discord = chat.discord
slack = chat.slack
telegram = chat.telegram
services = chat.services
key = chat.key


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

"""Connecting a Slack channel: a bot token and the channel's id, checked with Slack.

The token is checked with ``auth.test`` and the app's place in the channel with
``conversations.info``: 422 ``channel_not_found``, or ``bot_not_in_channel`` until the app is
invited, rather than a first post that fails.
"""

from __future__ import annotations

from typing import Any

from chalicelib.platforms.base import AuthenticationFailedError, PermanentError
from chalicelib.platforms.connecting import ConnectContext, ConnectedAccount, refused


def check(body, context: ConnectContext) -> ConnectedAccount:
    from chalicelib.platforms.slack import adapter  # requests: only connecting pays for it

    api_url = context.settings.slack_api_url
    team = adapter.api_call(api_url, "auth.test", body.bot_token, {}, session=context.session)
    channel = _channel(api_url, body.bot_token, body.channel, team, context.session)
    name = channel.get("name") or channel["id"]
    return ConnectedAccount(
        account_id=f"{team.get('team_id')}/{channel['id']}",
        username=f"#{name}",
        display_name=f"#{name} ({team.get('team') or team.get('team_id')})",
        credentials={"bot_token": body.bot_token},
        profile={
            "team_id": team.get("team_id"),
            "team_url": team.get("url"),
            "channel_id": channel["id"],
            "channel_name": name,
            "bot_user_id": team.get("user_id"),
        },
    )


def _channel(api_url: str, token: str, channel_id: str, team: dict[str, Any], session) -> dict[str, Any]:
    """The channel, once the app (``auth.test``'s answer) is known to be in it."""
    from chalicelib.platforms.slack import adapter

    app = f"@{team.get('user') or 'the app'}"
    try:
        channel = adapter.api_call(api_url, "conversations.info", token, {"channel": channel_id}, session=session)[
            "channel"
        ]
    except AuthenticationFailedError:
        raise
    except PermanentError as error:
        if error.platform_error != "channel_not_found":
            raise
        raise refused(
            "channel_not_found",
            "channel",
            f"Slack has no channel {channel_id} that {app} can see: check the channel's id (channel "
            f"details > About); a private channel shows only once the app is in it (/invite {app}).",
        ) from None
    if not channel.get("is_member"):
        # conversations.info reports the caller's membership: a bot that is not in the channel gets
        # not_in_channel from chat.postMessage.
        raise refused(
            "bot_not_in_channel",
            "channel",
            f"{app} is not in #{channel.get('name') or channel_id}: type /invite {app} in the channel, "
            "then connect again.",
        )
    return channel

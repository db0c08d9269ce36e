"""Connecting a Discord channel: its webhook URL, checked with Discord.

Posts go to the webhook's channel; in a forum channel each post opens a forum post, and a thread's
later parts go into it. A webhook that was deleted, or a URL whose token was mistyped, is refused
with ``webhook_not_found`` rather than discovered when the first post fails.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from chalicelib.errors import ValidationError
from chalicelib.platforms.connecting import ConnectContext, ConnectedAccount, refused

HOSTS = frozenset({"discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com"})
UNKNOWN_WEBHOOK = 10015
INVALID_WEBHOOK_TOKEN = 50027


def check(body, context: ConnectContext) -> ConnectedAccount:
    url, webhook_id = _webhook_url(body.webhook_url, context)
    webhook = _webhook(url, webhook_id, context.session)
    name = str(webhook.get("name") or f"webhook {webhook_id}")
    avatar = webhook.get("avatar")
    return ConnectedAccount(
        account_id=str(webhook.get("id") or webhook_id),
        username=name,
        display_name=name,
        credentials={"webhook_url": url},
        profile={
            "webhook_id": str(webhook.get("id") or webhook_id),
            "channel_id": str(webhook.get("channel_id") or ""),
            "guild_id": str(webhook.get("guild_id") or ""),
        },
        avatar_url=f"https://cdn.discordapp.com/avatars/{webhook_id}/{avatar}.png" if avatar else None,
    )


def _webhook_url(given: str, context: ConnectContext) -> tuple[str, str]:
    from chalicelib.platforms.discord import adapter  # requests costs ~0.1 s: only connecting pays for it

    parts = urlsplit(given.strip())
    found = adapter.WEBHOOK_PATH.match(parts.path)
    if (
        found is None
        or parts.query
        or parts.fragment
        or not (parts.hostname in HOSTS or context.allows_loopback(parts.hostname))
    ):
        raise ValidationError(
            "This is not a Discord webhook URL.",
            code="invalid_credentials",
            errors=[
                {
                    "field": "webhook_url",
                    "message": "Expected https://discord.com/api/webhooks/{id}/{token} "
                    "(a version after /api, such as /v10, is fine).",
                }
            ],
        )
    context.user_url(given.strip(), "webhook_url")
    # Stored on the API version openpost speaks (v10), whatever version the pasted URL names.
    return adapter.webhook_url(given.strip()), found.group(1)


def _webhook(url: str, webhook_id: str, session) -> dict[str, Any]:
    """The webhook (``GET`` on its URL), refused with ``webhook_not_found`` when Discord has no
    webhook at that URL: deleted, or its token mistyped."""
    from chalicelib.platforms import http

    response = http.call("GET", url, session=session, platform="Discord", idempotent=True)
    answer = http.json_body(response)
    body = answer if isinstance(answer, dict) else {}
    where = "Channel settings > Integrations > Webhooks"
    if response.status_code == 404 or body.get("code") == UNKNOWN_WEBHOOK:
        raise refused(
            "webhook_not_found",
            "webhook_url",
            f"Discord has no webhook {webhook_id}: it was deleted, or the URL is mistyped. Copy the URL "
            f"again from {where}.",
        )
    if response.status_code == 401 or body.get("code") == INVALID_WEBHOOK_TOKEN:
        raise refused(
            "webhook_not_found",
            "webhook_url",
            f"Discord's webhook {webhook_id} does not take the token at the end of this URL (it was "
            f"reset, or the URL is cut short). Copy the URL again from {where}.",
        )
    if response.status_code >= 400:
        http.raise_for_answer(
            "Discord",
            response.status_code,
            str(body.get("message") or ""),
            wait=http.retry_after(response.headers, body.get("retry_after")),
        )
    if not isinstance(answer, dict):
        http.raise_for_answer("Discord", 502, "an answer that could not be read")
    return answer

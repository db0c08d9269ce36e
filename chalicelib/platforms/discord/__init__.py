"""Discord: messages through a channel's webhook (API v10); a thread goes out in the channel, or as a forum post.

What openpost knows of the platform, declared for the registry (chalicelib/platforms/registry.py);
see chalicelib/platforms/descriptor.py for what each field means.
"""

from __future__ import annotations

import importlib

from pydantic import Field

from chalicelib.media.spec import GIF, JPEG, MOV, MP4, PNG, WEBP, MediaRules, MiB
from chalicelib.platforms import shapes
from chalicelib.platforms.descriptor import (
    REPLY,
    Connect,
    ConnectRequest,
    Metrics,
    PlatformDescriptor,
    PlatformSettingsModel,
    SandboxIdentity,
    TextLimit,
    TextRule,
)
from chalicelib.text.units import CODE_POINTS

NAME, TITLE = "discord", "Discord"

# Discord's API is Python 3 and counts code points (discord/discord-api-docs#1315, a Discord
# engineer: "\U0010FFFF \uffff would be considered 3 characters").
TEXT = TextRule(text=(TextLimit(2000, CODE_POINTS),))

# Discord: up to 10 attachments per message, any file type; 10 MiB for bots and webhooks in a
# server without boosts (discord-api-docs #7312, January 2025). The limit has been on the
# whole request ("we limit the request instead of the file", discord-api-docs #415), so we hold
# all of a message's files to it. Attachment ``description`` (alt text): 1,024 characters; the
# API counts code points (discord-api-docs #1315). unconfirmed: whether today's limit is per
# file or per request (the per-request reading is the stricter); docs raised it to 20 MiB in
# September 2026 (#8578) while the API still refused more than 10 MiB (#8572).
MEDIA = MediaRules(
    platform=NAME,
    name=TITLE,
    post_noun="message",
    max_images=10,
    max_videos=10,
    max_media=10,
    image_types=frozenset({JPEG, PNG, GIF, WEBP}),
    video_types=frozenset({MP4, MOV}),
    max_image_bytes=10 * MiB,
    max_video_bytes=10 * MiB,
    max_part_bytes=10 * MiB,
    images_with_video=True,
    alt_text=True,
    max_alt_text=1024,
    alt_text_unit=CODE_POINTS,
)


class ConnectDiscord(ConnectRequest):
    webhook_url: str = Field(
        min_length=1,
        max_length=500,
        examples=["https://discord.com/api/webhooks/123456789012345678/abcDEF"],
        description="The channel's webhook URL (Channel settings > Integrations > Webhooks).",
    )


PLATFORM = PlatformDescriptor(
    name=NAME,
    title=TITLE,
    text=TEXT,
    media=MEDIA,
    thread_style=REPLY,
    # Webhook executions take no nonce we can enforce: a lost answer may have published.
    idempotent=False,
    connect=Connect(
        kind="credentials",
        body=ConnectDiscord,
        check="chalicelib.platforms.discord.connect:check",
        summary="Connect a Discord channel webhook",
        description="Checks the webhook with Discord and learns its name and channel. Posts go to that channel; "
        "in a forum channel each post opens a forum post, and a thread's later parts go into it.",
    ),
    settings=PlatformSettingsModel,
    sandbox=SandboxIdentity(
        username="#sandbox", display_name="openpost Sandbox (Discord)", post_id=shapes.snowflake(1420070400000)
    ),  # Discord's snowflake epoch
    adapter="chalicelib.platforms.discord.adapter:Discord",
    # Reactions on the webhook's own messages (Get Webhook Message), one a call.
    metrics=Metrics(
        reader="chalicelib.platforms.discord.metrics:DiscordMetrics", batch=1, exposes=frozenset({"likes"})
    ),
)


def __getattr__(attribute: str):
    # The adapter's names (its class, its helpers) as the platform's own, loaded on first use:
    # importing the descriptor loads neither an HTTP client nor a platform SDK.
    if attribute.startswith("__"):
        raise AttributeError(attribute)
    return getattr(importlib.import_module(f"{__name__}.adapter"), attribute)

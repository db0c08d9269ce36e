"""Telegram: messages a bot sends to one chat; a thread is a chain of replies.

What openpost knows of the platform, declared for the registry (chalicelib/platforms/registry.py);
see chalicelib/platforms/descriptor.py for what each field means.
"""

from __future__ import annotations

import importlib
from fractions import Fraction

from pydantic import Field

from chalicelib.media.spec import GIF, JPEG, MB, MOV, MP4, PNG, WEBP, MediaRules, aspect
from chalicelib.platforms import shapes
from chalicelib.platforms.descriptor import (
    REPLY,
    Connect,
    ConnectRequest,
    DeploymentSetting,
    PlatformDescriptor,
    PlatformSettingsModel,
    SandboxIdentity,
    TextLimit,
    TextRule,
)
from chalicelib.text.units import CODE_POINTS

NAME, TITLE = "telegram", "Telegram"

# Bot API: text 1-4096 characters, caption 0-1024, after entities parsing. The Bot API server
# (tdlib) compares utf8_length(), a count of code points, with message_text_length_max; a send
# of 4,096 astral characters (8,192 UTF-16 units) is accepted (FerroxLabs/wayland#934).
TEXT = TextRule(text=(TextLimit(4096, CODE_POINTS),), caption=(TextLimit(1024, CODE_POINTS),))

# Telegram Bot API: sendPhoto "at most 10 MB", width + height at most 10,000, width-to-height
# ratio at most 20; other files 50 MB by upload; sendMediaGroup sends 2-10 photos and videos
# together (one alone goes by sendPhoto or sendVideo). No alt-text field. unconfirmed: GIF and
# WebP as photos (sent as a still), and which megabyte the Bot API means (decimal kept).
MEDIA = MediaRules(
    platform=NAME,
    name=TITLE,
    post_noun="message",
    max_images=10,
    max_videos=10,
    max_media=10,
    image_types=frozenset({JPEG, PNG, GIF, WEBP}),
    video_types=frozenset({MP4, MOV}),
    max_image_bytes=10 * MB,
    max_video_bytes=50 * MB,
    images_with_video=True,
    alt_text=False,
    max_alt_text=None,
    max_image_side_sum=10_000,
    image_aspect=aspect(Fraction(1, 20), 20, "1:20 and 20:1"),
)


class ConnectTelegram(ConnectRequest):
    bot_token: str = Field(
        min_length=1, max_length=200, pattern=r"^\d+:[\w-]+$", description="The bot's token from @BotFather."
    )
    chat_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^(@[A-Za-z][A-Za-z0-9_]{3,}|-?\d+)$",
        examples=["@my_channel", "-1001234567890"],
        description="The chat's @username or numeric id; the bot must be allowed to post there.",
    )


PLATFORM = PlatformDescriptor(
    name=NAME,
    title=TITLE,
    text=TEXT,
    media=MEDIA,
    thread_style=REPLY,
    # The Bot API takes no idempotency key.
    idempotent=False,
    connect=Connect(
        kind="credentials",
        body=ConnectTelegram,
        check="chalicelib.platforms.telegram.connect:check",
        summary="Connect a Telegram chat",
        description="Checks the bot token (`getMe`), the chat (`getChat`) and that the bot may post there "
        "(`getChatMember`): 422 `chat_not_found`, `bot_not_in_chat` or `bot_cannot_post` otherwise.",
    ),
    settings=PlatformSettingsModel,
    sandbox=SandboxIdentity(
        username="@openpost_sandbox",
        display_name="openpost Sandbox (Telegram)",
        post_id=shapes.snowflake(1704067200000, random_bits=10),
    ),  # from 2024: short, as Telegram's are
    adapter="chalicelib.platforms.telegram.adapter:Telegram",
    # A bot sees a message's reaction counts only as the chat's admin, and views not at all: no
    # metrics, and analytics say platform_has_no_metrics.
    metrics=None,
    deployment_settings=(DeploymentSetting("telegram_api_url", "https://api.telegram.org"),),
)


def __getattr__(attribute: str):
    # The adapter's names (its class, its helpers) as the platform's own, loaded on first use:
    # importing the descriptor loads neither an HTTP client nor a platform SDK.
    if attribute.startswith("__"):
        raise AttributeError(attribute)
    return getattr(importlib.import_module(f"{__name__}.adapter"), attribute)

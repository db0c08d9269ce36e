"""Slack: messages a bot posts to one channel; a thread uses thread_ts.

What openpost knows of the platform, declared for the registry (chalicelib/platforms/registry.py);
see chalicelib/platforms/descriptor.py for what each field means.
"""

from __future__ import annotations

import importlib

from pydantic import Field

from chalicelib.media.spec import GB, GIF, JPEG, MOV, MP4, PNG, WEBP, MediaRules
from chalicelib.platforms import shapes
from chalicelib.platforms.descriptor import (
    REPLY,
    Connect,
    ConnectRequest,
    DeploymentSetting,
    Metrics,
    PlatformDescriptor,
    PlatformSettingsModel,
    SandboxIdentity,
    TextLimit,
    TextRule,
)
from chalicelib.text.units import UTF16_UNITS

NAME, TITLE = "slack", "Slack"

# Slack truncates a message's text beyond 40,000 characters (changelog "Truncating really long
# messages", 2018; chat.postMessage). The unit is not documented: UTF-16, the stricter.
TEXT = TextRule(text=(TextLimit(40000, UTF16_UNITS),))

# Slack: files up to 1 GB, any type; ``alt_txt`` on files.getUploadURLExternal, refused past
# 1,000 characters ("alt_txt_too_large"; unit not documented: UTF-16). unconfirmed: 10 files
# per message (what the app allows; files.completeUploadExternal documents no maximum).
MEDIA = MediaRules(
    platform=NAME,
    name=TITLE,
    post_noun="message",
    text_with_media=True,
    max_images=10,
    max_videos=10,
    max_media=10,
    image_types=frozenset({JPEG, PNG, GIF, WEBP}),
    video_types=frozenset({MP4, MOV}),
    max_image_bytes=1 * GB,
    max_video_bytes=1 * GB,
    images_with_video=True,
    alt_text=True,
    max_alt_text=1000,
    alt_text_unit=UTF16_UNITS,
)


class ConnectSlack(ConnectRequest):
    bot_token: str = Field(
        min_length=1,
        max_length=500,
        pattern=r"^\S+$",
        description="The app's bot token (xoxb-...), with chat:write, and files:write and files:read to post media.",
    )
    channel: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Z0-9]+$",
        examples=["C0123456789"],
        description="The channel's id (channel details > About); invite the app to the channel.",
    )


PLATFORM = PlatformDescriptor(
    name=NAME,
    title=TITLE,
    text=TEXT,
    media=MEDIA,
    thread_style=REPLY,
    # chat.postMessage takes no idempotency key.
    idempotent=False,
    connect=Connect(
        kind="credentials",
        body=ConnectSlack,
        check="chalicelib.platforms.slack.connect:check",
        summary="Connect a Slack channel",
        description="Checks the bot token (`auth.test`) and that the app is in the channel (`conversations.info`): "
        "422 `channel_not_found` or `bot_not_in_channel` otherwise.",
    ),
    settings=PlatformSettingsModel,
    sandbox=SandboxIdentity(username="#sandbox", display_name="openpost Sandbox (Slack)", post_id=shapes.message_ts()),
    adapter="chalicelib.platforms.slack.adapter:Slack",
    # reactions.get (reactions, and replies of a thread), one a call; needs reactions:read.
    metrics=Metrics(
        reader="chalicelib.platforms.slack.metrics:SlackMetrics", batch=1, exposes=frozenset({"likes", "comments"})
    ),
    deployment_settings=(DeploymentSetting("slack_api_url", "https://slack.com/api"),),
)


def __getattr__(attribute: str):
    # The adapter's names (its class, its helpers) as the platform's own, loaded on first use:
    # importing the descriptor loads neither an HTTP client nor a platform SDK.
    if attribute.startswith("__"):
        raise AttributeError(attribute)
    return getattr(importlib.import_module(f"{__name__}.adapter"), attribute)

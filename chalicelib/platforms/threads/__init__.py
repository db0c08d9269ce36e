"""Threads (Meta): posts, carousels and reply-chain threads through the Threads API, on the
account's long-lived user token.

What openpost knows of the platform, declared for the registry (chalicelib/platforms/registry.py);
see chalicelib/platforms/descriptor.py for what each field means.
"""

from __future__ import annotations

import importlib
from fractions import Fraction
from typing import Literal

from chalicelib.media.spec import GB, JPEG, MOV, MP4, PNG, MediaRules, MiB, aspect
from chalicelib.platforms import shapes
from chalicelib.platforms.descriptor import (
    REPLY,
    Connect,
    DeploymentSetting,
    Metrics,
    PlatformDescriptor,
    PlatformSettingsModel,
    SandboxIdentity,
    TextLimit,
    TextRule,
)
from chalicelib.text.units import UTF8_BYTES, UTF16_UNITS

NAME, TITLE = "threads", "Threads"

# Threads counts UTF-8 bytes: Meta's Threads posts documentation says emoji count as their UTF-8
# byte length, and posts of under 500 characters but over 500 bytes are refused ("Param text
# must be at most 500 characters long"; gitroomhq/postiz-app#1946 measured it).
TEXT = TextRule(text=(TextLimit(500, UTF8_BYTES),))

# Threads API, posts: a carousel mixes images and videos; ``alt_text`` for images and videos
# (Threads "Accessibility"). Media specifications of Meta's Threads posts page: images JPEG or PNG,
# "8 MB maximum" (read as MiB: Meta's answer for the same limit says "less than 8 MiB"), aspect
# ratio limit 10:1; video MOV or MP4, 1 GB, aspect between 0.01:1 and 10:1. A carousel holds "at
# least 2 and up to 20" items (Meta's own sample app, fbsamples/threads_api, Postman collection);
# alt text at most 1,000 characters (reference of POST /{threads-user-id}/threads; unit not
# documented: UTF-16).
MEDIA = MediaRules(
    platform=NAME,
    name=TITLE,
    max_images=20,
    max_videos=20,
    max_media=20,
    image_types=frozenset({JPEG, PNG}),
    video_types=frozenset({MP4, MOV}),
    max_image_bytes=8 * MiB,
    max_video_bytes=1 * GB,
    images_with_video=True,
    alt_text=True,
    max_alt_text=1000,
    alt_text_unit=UTF16_UNITS,
    image_aspect=aspect(Fraction(1, 10), 10, "1:10 and 10:1"),
    video_aspect=aspect(Fraction(1, 100), 10, "0.01:1 and 10:1"),
)


class ThreadsSettings(PlatformSettingsModel):
    # reply_control of POST /{threads-user-id}/threads, its five values as the reference lists them;
    # none sent means Threads' default, everyone. Every part of a thread gets the same setting, so
    # no reply in the chain is more open than the first post.
    reply_control: (
        Literal["everyone", "accounts_you_follow", "mentioned_only", "parent_post_author_only", "followers_only"] | None
    ) = None


PLATFORM = PlatformDescriptor(
    name=NAME,
    title=TITLE,
    text=TEXT,
    media=MEDIA,
    thread_style=REPLY,
    # Creating and publishing a container takes no idempotency key.
    idempotent=False,
    connect=Connect(
        kind="oauth",
        consent="chalicelib.platforms.threads.connect:consent",
        finish="chalicelib.platforms.threads.connect:finish",
        callback_path="/api/platforms/threads/callback",
        handle_prefix="@",
        summary="Start connecting a Threads account",
        description="Starts the OAuth 2.0 flow that connects a Threads account to the workspace, in live mode, "
        "asking for threads_basic and threads_content_publish. Open `url` in the user's browser; "
        "after they approve, Threads sends them to `redirect_uri`, which finishes the connection. "
        "The attempt expires after 10 minutes and works once.",
        callback_summary="Finish connecting a Threads account",
        callback_description="Where Threads sends the user's browser after the Authorization Window. Exchanges "
        "the code for a long-lived token and creates the integration (or reconnects the "
        "existing one, keeping its id). 400 when the state is unknown, used or expired, or "
        "the user declined. A browser gets a small HTML page saying what happened; a client "
        "that sends `Accept: application/json` gets the integration (or the problem) as JSON.",
    ),
    settings=ThreadsSettings,
    sandbox=SandboxIdentity(
        username="openpost_sandbox", display_name="openpost Sandbox (Threads)", post_id=shapes.timed_number(20)
    ),  # a long numeric media id
    adapter="chalicelib.platforms.threads.adapter:Threads",
    # The insights edge, one post a call; views count as impressions.
    metrics=Metrics(reader="chalicelib.platforms.threads.metrics:ThreadsMetrics", batch=1),
    deployment_settings=(
        DeploymentSetting("threads_api_url", "https://graph.threads.net"),
        DeploymentSetting("threads_authorize_url", "https://threads.net/oauth/authorize"),
    ),
    # The Threads app's id and secret (the Threads app id, not the Meta app id): the code exchange
    # and the long-lived token exchange authenticate with them.
    app_credentials=("client_id", "client_secret"),
)


def __getattr__(attribute: str):
    # The adapter's names as the platform's own, loaded on first use: importing the descriptor
    # loads no HTTP client.
    if attribute.startswith("__"):
        raise AttributeError(attribute)
    return getattr(importlib.import_module(f"{__name__}.adapter"), attribute)

"""Bluesky (the AT Protocol): post records in the account's repository, on an app password's session.

What openpost knows of the platform, declared for the registry (chalicelib/platforms/registry.py);
see chalicelib/platforms/descriptor.py for what each field means.
"""

from __future__ import annotations

import importlib
from typing import Literal

from pydantic import Field

from chalicelib.media.spec import GIF, JPEG, PNG, WEBP, MediaRules
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
from chalicelib.text.units import GRAPHEMES, UTF8_BYTES

NAME, TITLE = "bluesky", "Bluesky"

# Lexicon app.bsky.feed.post: text has maxGraphemes 300 and maxLength 3000, and the lexicon's
# maxLength counts UTF-8 bytes (@atproto/lexicon validates it with utf8Len).
TEXT = TextRule(text=(TextLimit(300, GRAPHEMES), TextLimit(3000, UTF8_BYTES)))

# Bluesky. Lexicon app.bsky.embed.images: at most 4 images, blob accept image/*, maxSize
# 1,000,000. Newer lexicons raise maxSize to 2,000,000 ("formerly limited to 1 MB"), but
# self-hosted PDSes on older releases still refuse more, and the adapter (bluesky/adapter.py)
# refuses more than 1,000,000: we keep the figure every server takes. Video is not published
# here yet. ``alt`` has no maxLength in the lexicon: we take the official app's limit, 2,000
# graphemes (social-app MAX_ALT_TEXT), so alt text written there fits here too, and a record
# cannot grow without bound.
MEDIA = MediaRules(
    platform=NAME,
    name=TITLE,
    max_images=4,
    max_videos=0,
    max_media=4,
    image_types=frozenset({JPEG, PNG, GIF, WEBP}),
    video_types=frozenset(),
    max_image_bytes=1_000_000,
    max_video_bytes=0,
    images_with_video=False,
    alt_text=True,
    max_alt_text=2000,
    alt_text_unit=GRAPHEMES,
)


class BlueskySettings(PlatformSettingsModel):
    # A threadgate record on the first post ("everyone" is no gate).
    who_can_reply: Literal["everyone", "following", "mentioned", "nobody"] | None = None
    langs: list[str] | None = Field(default=None, max_length=3)


class ConnectBluesky(ConnectRequest):
    identifier: str = Field(
        min_length=1,
        max_length=253,
        examples=["you.bsky.social"],
        description="The account's handle (or its DID, or its email address).",
    )
    password: str = Field(
        min_length=1,
        max_length=200,
        examples=["xxxx-xxxx-xxxx-xxxx"],
        description="An app password (Settings > Privacy and security > App passwords). "
        "The account's own password is refused.",
    )
    service: str | None = Field(
        default=None,
        max_length=300,
        examples=["https://bsky.social"],
        description="The account's server (PDS), for accounts hosted elsewhere "
        "than this deployment's default; https only.",
    )


PLATFORM = PlatformDescriptor(
    name=NAME,
    title=TITLE,
    text=TEXT,
    media=MEDIA,
    thread_style=REPLY,
    # The adapter chooses each record's key, so a repeated call names a record that already exists.
    idempotent=True,
    connect=Connect(
        kind="credentials",
        body=ConnectBluesky,
        check="chalicelib.platforms.bluesky.connect:check",
        summary="Connect a Bluesky account",
        description="Logs in to the account's server with the app password. Refused credentials are a 422 "
        "`invalid_credentials` (nothing is stored); a server that cannot be reached, a 503. Connecting "
        "an account that was connected before brings back the same integration with the new password.",
        instructions="Create an app password in the Bluesky app (Settings > Privacy and security > App "
        "passwords), then POST your handle as `identifier` and the app password as `password`.",
    ),
    settings=BlueskySettings,
    sandbox=SandboxIdentity(
        username="sandbox.openpost.test",
        display_name="openpost Sandbox (Bluesky)",
        post_id=shapes.record_uri("app.bsky.feed.post"),
        url="{base}/bluesky/profile/{handle}/post/{rkey}",
        content_ids=True,
    ),  # a reply names its parent and root by uri and cid
    adapter="chalicelib.platforms.bluesky.adapter:Bluesky",
    # app.bsky.feed.getPosts (25 URIs a call, on the AppView); no impressions.
    metrics=Metrics(
        reader="chalicelib.platforms.bluesky.metrics:BlueskyMetrics",
        batch=25,
        exposes=frozenset({"likes", "comments", "shares"}),
    ),
    deployment_settings=(
        DeploymentSetting("bluesky_service_url", "https://bsky.social"),
        # The AppView that answers getPosts for analytics; the public one needs no login.
        DeploymentSetting("bluesky_appview_url", "https://public.api.bsky.app"),
    ),
)


def __getattr__(attribute: str):
    # The adapter's names (its class, its helpers) as the platform's own, loaded on first use:
    # importing the descriptor loads neither an HTTP client nor a platform SDK.
    if attribute.startswith("__"):
        raise AttributeError(attribute)
    return getattr(importlib.import_module(f"{__name__}.adapter"), attribute)

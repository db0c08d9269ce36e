"""Mastodon: statuses on the account's own instance, with the instance's own limits.

What openpost knows of the platform, declared for the registry (chalicelib/platforms/registry.py);
see chalicelib/platforms/descriptor.py for what each field means.
"""

from __future__ import annotations

import importlib
from typing import Literal

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
from chalicelib.text.units import CODE_POINTS, MASTODON_CHARACTERS

NAME, TITLE = "mastodon", "Mastodon"

# Graphemes, URLs 23, remote mentions as local ones (chalicelib/text/mastodon.py). The server
# sets the limit (500 unless its admin changed it): connecting reads it into the profile.
TEXT = TextRule(text=(TextLimit(500, MASTODON_CHARACTERS),), adjustable=True)

# Mastodon defaults (a server can change them; the adapter reads the instance's own at
# publish). max_media_attachments 4. MediaAttachment: IMAGE_LIMIT 16 MiB and VIDEO_LIMIT 99 MiB,
# validated with ``less_than`` (a file of exactly 16 MiB is refused), a GIF counting as an
# image; more than one attachment with a video is refused ("images_and_video"). Attachmentable:
# images of at most 7680x4320 = 33,177,600 pixels, GIFs 1280x720 = 921,600; videos 3840x2160 =
# 8,294,400 (MAX_VIDEO_MATRIX_LIMIT). Description: 1,500 characters (Ruby String#length, code
# points); recent releases take more, older ones exactly this.
MEDIA = MediaRules(
    platform=NAME,
    name=TITLE,
    max_images=4,
    max_videos=1,
    max_media=4,
    image_types=frozenset({JPEG, PNG, GIF, WEBP}),
    video_types=frozenset({MP4, MOV}),
    max_image_bytes=16 * MiB - 1,
    max_video_bytes=99 * MiB - 1,
    images_with_video=False,
    alt_text=True,
    max_alt_text=1500,
    alt_text_unit=CODE_POINTS,
    max_image_pixels=33_177_600,
    type_max_pixels={GIF: 921_600},
    max_video_pixels=8_294_400,
)


class MastodonSettings(PlatformSettingsModel):
    # Sent as they are with the status.
    visibility: Literal["public", "unlisted", "private", "direct"] | None = None
    spoiler_text: str | None = Field(default=None, max_length=500)
    sensitive: bool | None = None
    language: str | None = Field(default=None, min_length=2, max_length=8)


class ConnectMastodon(ConnectRequest):
    instance_url: str = Field(
        min_length=1,
        max_length=300,
        examples=["https://mastodon.social"],
        description="The account's server. A bare domain means https.",
    )
    access_token: str = Field(min_length=1, max_length=500, description="An access token with write:statuses.")


PLATFORM = PlatformDescriptor(
    name=NAME,
    title=TITLE,
    text=TEXT,
    media=MEDIA,
    thread_style=REPLY,
    # POST /api/v1/statuses honours an Idempotency-Key header, derived from the target and part.
    idempotent=True,
    connect=Connect(
        kind="credentials",
        body=ConnectMastodon,
        check="chalicelib.platforms.mastodon.connect:check",
        summary="Connect a Mastodon account",
        description="Checks the token with the server (`verify_credentials`) and reads the server's limits from "
        "`/api/v2/instance`: posts to this account are measured against its `max_characters`.",
    ),
    settings=MastodonSettings,
    sandbox=SandboxIdentity(
        username="sandbox@mastodon.openpost.test",
        display_name="openpost Sandbox (Mastodon)",
        post_id=shapes.timed_number(16),
    ),  # milliseconds above 16 bits of sequence
    adapter="chalicelib.platforms.mastodon.adapter:Mastodon",
    # GET /api/v1/statuses?id[]= (20 a call, 4.3+); no impressions.
    metrics=Metrics(
        reader="chalicelib.platforms.mastodon.metrics:MastodonMetrics",
        batch=20,
        exposes=frozenset({"likes", "comments", "shares"}),
    ),
)


def __getattr__(attribute: str):
    # The adapter's names (its class, its helpers) as the platform's own, loaded on first use:
    # importing the descriptor loads neither an HTTP client nor a platform SDK.
    if attribute.startswith("__"):
        raise AttributeError(attribute)
    return getattr(importlib.import_module(f"{__name__}.adapter"), attribute)

"""TikTok: described, no live adapter yet (test mode rehearses it in the sandbox).

What openpost knows of the platform, declared for the registry (chalicelib/platforms/registry.py);
see chalicelib/platforms/descriptor.py for what each field means.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.media.spec import GB, JPEG, MB, MOV, MP4, WEBP, MediaRules
from chalicelib.platforms import shapes
from chalicelib.platforms.descriptor import (
    NUMBERED,
    PlatformDescriptor,
    PlatformSettingsModel,
    SandboxIdentity,
    TextLimit,
    TextRule,
)
from chalicelib.text.units import UTF16_UNITS

NAME, TITLE = "tiktok", "TikTok"

# Content Posting API: post_info.title (the caption) of at most 2,200 UTF-16 runes.
TEXT = TextRule(text=(TextLimit(2200, UTF16_UNITS),))

# TikTok Content Posting API: a video post (MP4, MOV or WebM, up to 4 GB) or a photo post of
# up to 35 images (JPEG or WebP, 20 MB each), never both; every post carries media; no alt-text
# field. unconfirmed: the byte figures are from TikTok's media transfer guide as third-party
# guides quote it (decimal reading kept).
MEDIA = MediaRules(
    platform=NAME,
    name=TITLE,
    max_images=35,
    max_videos=1,
    max_media=35,
    image_types=frozenset({JPEG, WEBP}),
    video_types=frozenset({MP4, MOV}),
    max_image_bytes=20 * MB,
    max_video_bytes=4 * GB,
    images_with_video=False,
    requires_media=True,
    alt_text=False,
    max_alt_text=None,
)


class TikTokSettings(PlatformSettingsModel):
    tiktok_title: str | None = Field(default=None, max_length=2200)
    privacy_level: Literal["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"] | None = None
    allow_duet: bool | None = None
    allow_stitch: bool | None = None
    allow_comment: bool | None = None


PLATFORM = PlatformDescriptor(
    name=NAME,
    title=TITLE,
    text=TEXT,
    media=MEDIA,
    thread_style=NUMBERED,
    # The Content Posting API takes no idempotency key.
    idempotent=False,
    settings=TikTokSettings,
    sandbox=SandboxIdentity(
        username="openpost_sandbox", display_name="openpost Sandbox (TikTok)", post_id=shapes.timed_number(20)
    ),
    adapter=None,  # no live adapter yet: a live target fails with platform_not_available
)

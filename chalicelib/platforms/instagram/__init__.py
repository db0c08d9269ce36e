"""Instagram: described, no live adapter yet (test mode rehearses it in the sandbox).

What openpost knows of the platform, declared for the registry (chalicelib/platforms/registry.py);
see chalicelib/platforms/descriptor.py for what each field means.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import Field

from chalicelib.media.spec import JPEG, MB, MOV, MP4, MediaRules, aspect
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

NAME, TITLE = "instagram", "Instagram"

# Caption of 2,200 characters (Instagram Graph API); unit not documented: UTF-16, the stricter.
TEXT = TextRule(text=(TextLimit(2200, UTF16_UNITS),))

# Instagram Platform, content publishing: every post carries media; carousels mix images and
# videos; ``alt_text`` exists for image posts (since March 24, 2025) with no documented limit.
# The IG User media reference, as third-party guides quote it: JPEG the only image format
# supported, 8 MB, aspect ratio 4:5 to 1.91:1; Reels MOV or MP4, 300 MB (newer guides say
# 1 GB: the smaller kept), aspect 0.01:1 to 10:1. unconfirmed: those figures (the reference
# itself was not readable here), and 10 per carousel (the app has taken 20 since 2024).
MEDIA = MediaRules(
    platform=NAME,
    name=TITLE,
    max_images=10,
    max_videos=10,
    max_media=10,
    image_types=frozenset({JPEG}),
    video_types=frozenset({MP4, MOV}),
    max_image_bytes=8 * MB,
    max_video_bytes=300 * MB,
    images_with_video=True,
    requires_media=True,
    alt_text=True,
    max_alt_text=None,
    image_aspect=aspect(Fraction(4, 5), Fraction(191, 100), "4:5 and 1.91:1"),
    video_aspect=aspect(Fraction(1, 100), 10, "0.01:1 and 10:1"),
)


class InstagramSettings(PlatformSettingsModel):
    post_type: Literal["post", "story", "reel"] | None = None
    collaborators: list[str] | None = Field(default=None, max_length=3)


PLATFORM = PlatformDescriptor(
    name=NAME,
    title=TITLE,
    text=TEXT,
    media=MEDIA,
    thread_style=NUMBERED,
    # Content publishing takes no idempotency key.
    idempotent=False,
    settings=InstagramSettings,
    sandbox=SandboxIdentity(
        username="openpost_sandbox", display_name="openpost Sandbox (Instagram)", post_id=shapes.timed_number(20)
    ),  # a long numeric media id
    adapter=None,  # no live adapter yet: a live target fails with platform_not_available
)

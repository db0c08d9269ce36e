"""LinkedIn: described, no live adapter yet (test mode rehearses it in the sandbox).

What openpost knows of the platform, declared for the registry (chalicelib/platforms/registry.py);
see chalicelib/platforms/descriptor.py for what each field means.
"""

from __future__ import annotations

from fractions import Fraction

from chalicelib.media.spec import GIF, JPEG, MB, MP4, PNG, MediaRules, aspect
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

NAME, TITLE = "linkedin", "LinkedIn"

# LinkedIn documents 3,000 characters for a post's commentary, not the unit: we count UTF-16
# code units, the stricter of the units its servers plausibly use (an emoji costs 2).
TEXT = TextRule(text=(TextLimit(3000, UTF16_UNITS),))

# LinkedIn. Posts API, MultiImage: "minimum of 2 images and maximum of 20 images"; a post
# carries images or one video. Images API: JPG, PNG, GIF, pixel count "less than 36,152,320"
# (as connector docs quote it). unconfirmed: image file size (5 MB in third-party guides, 8 MB
# in others; the smaller kept), video MP4 up to 500 MB (75 KB at least, not checked here) and
# 1:2.4 to 2.4:1, alt text 4,086 characters (unit not documented: UTF-16).
MEDIA = MediaRules(
    platform=NAME,
    name=TITLE,
    max_images=20,
    max_videos=1,
    max_media=20,
    image_types=frozenset({JPEG, PNG, GIF}),
    video_types=frozenset({MP4}),
    max_image_bytes=5 * MB,
    max_video_bytes=500 * MB,
    images_with_video=False,
    alt_text=True,
    max_alt_text=4086,
    alt_text_unit=UTF16_UNITS,
    max_image_pixels=36_152_319,
    video_aspect=aspect(Fraction(5, 12), Fraction(12, 5), "1:2.4 and 2.4:1"),
)

PLATFORM = PlatformDescriptor(
    name=NAME,
    title=TITLE,
    text=TEXT,
    media=MEDIA,
    thread_style=NUMBERED,
    # The Posts API takes no idempotency key.
    idempotent=False,
    settings=PlatformSettingsModel,
    sandbox=SandboxIdentity(
        username="openpost-sandbox",
        display_name="openpost Sandbox (LinkedIn)",
        post_id=shapes.timed_number(22, prefix="urn:li:share:"),
    ),
    adapter=None,  # no live adapter yet: a live target fails with platform_not_available
)

"""Threads (Meta): described, no live adapter yet (test mode rehearses it in the sandbox).

What openpost knows of the platform, declared for the registry (chalicelib/platforms/registry.py);
see chalicelib/platforms/descriptor.py for what each field means.
"""
from __future__ import annotations

from fractions import Fraction

from chalicelib.media.spec import GB, JPEG, MB, MOV, MP4, PNG, MediaRules, aspect
from chalicelib.platforms import shapes
from chalicelib.platforms.descriptor import (
    REPLY,
    PlatformDescriptor,
    PlatformSettingsModel,
    SandboxIdentity,
    TextLimit,
    TextRule,
)
from chalicelib.text.units import UTF16_UNITS, UTF8_BYTES

NAME, TITLE = "threads", "Threads"

# Threads counts UTF-8 bytes: Meta's Threads posts documentation says emoji count as their UTF-8
# byte length, and posts of under 500 characters but over 500 bytes are refused ("Param text
# must be at most 500 characters long"; gitroomhq/postiz-app#1946 measured it).
TEXT = TextRule(text=(TextLimit(500, UTF8_BYTES),))

# Threads API, posts: a carousel mixes images and videos; ``alt_text`` for images and videos
# (Threads "Accessibility"). The "Media specifications" of Meta's Threads posts page, as
# third-party guides quote them: images JPEG or PNG, 8 MB, aspect ratio limit 10:1; video MOV
# or MP4, 1 GB, aspect between 0.01:1 and 10:1. unconfirmed: those figures (the page itself was
# not readable here), carousel size (10 when carousels came to the API; the app takes 20), alt
# text 1,000 characters (third-party guides; unit not documented: UTF-16).
MEDIA = MediaRules(
    platform=NAME, name=TITLE,
    max_images=10, max_videos=10, max_media=10,
    image_types=frozenset({JPEG, PNG}), video_types=frozenset({MP4, MOV}),
    max_image_bytes=8 * MB, max_video_bytes=1 * GB,
    images_with_video=True,
    alt_text=True, max_alt_text=1000, alt_text_unit=UTF16_UNITS,
    image_aspect=aspect(Fraction(1, 10), 10, "1:10 and 10:1"),
    video_aspect=aspect(Fraction(1, 100), 10, "0.01:1 and 10:1"),
)

PLATFORM = PlatformDescriptor(
    name=NAME, title=TITLE,
    text=TEXT, media=MEDIA,
    thread_style=REPLY,
    # Creating and publishing a container takes no idempotency key.
    idempotent=False,
    settings=PlatformSettingsModel,
    sandbox=SandboxIdentity(
        username="openpost_sandbox", display_name="openpost Sandbox (Threads)",
        post_id=shapes.timed_number(20)),   # a long numeric media id
    adapter=None,   # no live adapter yet: a live target fails with platform_not_available
)

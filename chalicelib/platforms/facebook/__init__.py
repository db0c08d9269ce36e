"""Facebook Pages: described, no live adapter yet (test mode rehearses it in the sandbox).

What openpost knows of the platform, declared for the registry (chalicelib/platforms/registry.py);
see chalicelib/platforms/descriptor.py for what each field means.
"""

from __future__ import annotations

from chalicelib.media.spec import GB, GIF, JPEG, MB, MOV, MP4, PNG, MediaRules
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

NAME, TITLE = "facebook", "Facebook"

# 63,206 characters for a Page post; unit not documented: UTF-16, the stricter.
TEXT = TextRule(text=(TextLimit(63206, UTF16_UNITS),))

# Facebook Pages. A feed post carries photos or one video. Photos have an ``alt_text_custom``
# field with no documented limit. unconfirmed: photo size 4 MB and formats JPEG, PNG, GIF (the
# Graph API photo reference as we remember it; guides say 10 MB and add WebP, BMP, TIFF),
# 10 photos per post, video 1 GB (the limit without resumable upload, which goes further).
MEDIA = MediaRules(
    platform=NAME,
    name=TITLE,
    max_images=10,
    max_videos=1,
    max_media=10,
    image_types=frozenset({JPEG, PNG, GIF}),
    video_types=frozenset({MP4, MOV}),
    max_image_bytes=4 * MB,
    max_video_bytes=1 * GB,
    images_with_video=False,
    alt_text=True,
    max_alt_text=None,
)

PLATFORM = PlatformDescriptor(
    name=NAME,
    title=TITLE,
    text=TEXT,
    media=MEDIA,
    thread_style=NUMBERED,
    # The Graph API's feed posts take no idempotency key.
    idempotent=False,
    settings=PlatformSettingsModel,
    sandbox=SandboxIdentity(
        username="openpost-sandbox", display_name="openpost Sandbox (Facebook)", post_id=shapes.page_post()
    ),  # "{page id}_{post id}"
    adapter=None,  # no live adapter yet: a live target fails with platform_not_available
)

"""YouTube: described, no live adapter yet (test mode rehearses it in the sandbox).

What openpost knows of the platform, declared for the registry (chalicelib/platforms/registry.py);
see chalicelib/platforms/descriptor.py for what each field means.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from chalicelib.media.spec import GB, MOV, MP4, MediaRules
from chalicelib.platforms import shapes
from chalicelib.platforms.descriptor import (
    NUMBERED,
    PlatformDescriptor,
    PlatformSettingsModel,
    SandboxIdentity,
    TextLimit,
    TextRule,
    http_url,
)
from chalicelib.text.units import UTF8_BYTES, UTF16_UNITS

NAME, TITLE = "youtube", "YouTube"

# YouTube Data API, videos resource: snippet.title at most 100 characters (unit not documented:
# UTF-16, the stricter); snippet.description at most 5,000 bytes (UTF-8). The post's text is the
# description, and every post needs a title (platform_settings.youtube.title).
TEXT = TextRule(
    text=(TextLimit(100, UTF16_UNITS),),
    description=(TextLimit(5000, UTF8_BYTES),),
    body="description",
    title_setting="title",
)

# YouTube Data API, videos.insert: one video per upload, "Maximum file size: 256GB", MIME
# video/*; no images, no alt-text field.
MEDIA = MediaRules(
    platform=NAME,
    name=TITLE,
    max_images=0,
    max_videos=1,
    max_media=1,
    image_types=frozenset(),
    video_types=frozenset({MP4, MOV}),
    max_image_bytes=0,
    max_video_bytes=256 * GB,
    images_with_video=False,
    requires_media=True,
    alt_text=False,
    max_alt_text=None,
)


class YouTubeSettings(PlatformSettingsModel):
    title: str | None = Field(default=None, min_length=1, max_length=100)
    privacy: Literal["public", "private", "unlisted"] | None = None
    made_for_kids: bool | None = None
    youtube_tags: list[str] | None = None
    thumbnail_url: str | None = None

    _check_thumbnail = field_validator("thumbnail_url")(lambda cls, v: v if v is None else http_url(v))


PLATFORM = PlatformDescriptor(
    name=NAME,
    title=TITLE,
    text=TEXT,
    media=MEDIA,
    thread_style=NUMBERED,
    # videos.insert takes no idempotency key.
    idempotent=False,
    settings=YouTubeSettings,
    sandbox=SandboxIdentity(
        username="@openpost-sandbox", display_name="openpost Sandbox (YouTube)", post_id=shapes.url_safe(8)
    ),  # 11 characters of URL-safe base64, a video id's shape
    adapter=None,  # no live adapter yet: a live target fails with platform_not_available
)

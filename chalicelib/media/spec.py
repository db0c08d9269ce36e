"""The shape of a platform's media rules: what its descriptor declares (chalicelib/platforms/),
and what chalicelib/media/rules.py checks a post's media against.

How the figures are read:

- Sizes are the largest file the platform accepts, in bytes. Where a platform writes "5 MB" and
  its own error messages show which megabyte it means (X: "File size exceeds 5242880 bytes"), that
  one; where nothing shows it, the decimal reading, the smaller one. Where the limit is strict
  (Mastodon refuses a file *of* 16 MiB), the figure is one byte less.
- Counts are per part: one post, or one message on the chat platforms. The API as a whole takes at
  most 4 images per part and never images with a video in the Octopost media object, so a larger
  figure only matters for media given as ids.
- Where an instance or account can change a limit (a Mastodon server's settings, a boosted Discord
  server), the rules hold the default and the adapter checks again at publish.
- Picture sizes come from the file's own header as stored: EXIF orientation and a video's rotation
  are not applied (see probe.py). A width-to-height range is therefore passed when either
  orientation fits; for the ranges symmetric about 1:1 (all but Instagram's) that loses nothing.

Each figure's evidence is written beside it in the platform's module; a figure that could not be
confirmed in the platform's own documentation says so (``# unconfirmed:``). Kept cheap to import:
descriptors load it when the API starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from chalicelib.text.units import CODE_POINTS, GRAPHEMES, UTF16_UNITS, counter

JPEG, PNG, GIF, WEBP = "image/jpeg", "image/png", "image/gif", "image/webp"
MP4, MOV = "video/mp4", "video/quicktime"
IMAGE_TYPES = frozenset({JPEG, PNG, GIF, WEBP})  # what uploads and fetching by URL accept
VIDEO_TYPES = frozenset({MP4, MOV})
TYPE_NAMES = {JPEG: "JPEG", PNG: "PNG", GIF: "GIF", WEBP: "WebP", MP4: "MP4", MOV: "MOV"}

MB, MiB = 1_000_000, 1024 * 1024
GB = 1000 * MB

# The units alt text is counted in somewhere.
_ALT_TEXT_UNITS = frozenset({GRAPHEMES, CODE_POINTS, UTF16_UNITS})


@dataclass(frozen=True)
class AspectRange:
    """The widths-to-heights a platform takes, both ends included; ``label`` as its docs put it."""

    minimum: Fraction
    maximum: Fraction
    label: str

    def fits(self, width: int, height: int) -> bool:
        return any(
            self.minimum <= ratio <= self.maximum for ratio in (Fraction(width, height), Fraction(height, width))
        )


@dataclass(frozen=True, kw_only=True)
class MediaRules:
    """One platform's limits on the media of one part (post or message)."""

    platform: str
    name: str  # as users know it: "X", not "twitter"
    max_images: int
    max_videos: int  # 0 when we cannot publish video there
    max_media: int  # images and videos together
    image_types: frozenset
    video_types: frozenset
    max_image_bytes: int
    max_video_bytes: int
    type_max_bytes: Mapping[str, int] = dataclasses.field(default_factory=dict)  # where a type differs
    images_with_video: bool
    alt_text: bool  # the platform has an alt-text field at all
    max_alt_text: int | None  # None: no field, or no limit we know of
    alt_text_unit: str = CODE_POINTS
    requires_media: bool = False  # a post there must carry media
    alone_types: frozenset = frozenset()  # types that must be a part's only media
    max_part_bytes: int | None = None  # all of a part's files together
    max_image_pixels: int | None = None  # width x height
    max_video_pixels: int | None = None
    type_max_pixels: Mapping[str, int] = dataclasses.field(default_factory=dict)
    max_image_side_sum: int | None = None  # width + height
    image_aspect: AspectRange | None = None
    video_aspect: AspectRange | None = None
    post_noun: str = "post"
    # Files go out attached to a message with text (Slack shares them under the message it posted
    # first), so a part with media needs text there.
    text_with_media: bool = False

    def __post_init__(self):
        # The table is data typed in by hand: refuse a slip at import rather than at publish.
        problems = []
        if not self.image_types <= IMAGE_TYPES or not self.video_types <= VIDEO_TYPES:
            problems.append("types outside the ones we accept")
        if self.max_images < 0 or self.max_videos < 0 or self.max_media < 1:
            problems.append("counts")
        if self.max_media > self.max_images + self.max_videos:
            problems.append("max_media above the kinds' own maximums")
        for kind, count, types, size in (
            ("image", self.max_images, self.image_types, self.max_image_bytes),
            ("video", self.max_videos, self.video_types, self.max_video_bytes),
        ):
            if bool(count) != bool(types) or bool(count) != (size > 0):
                problems.append(f"{kind}s: a count, types and a size go together")
        if self.alt_text_unit not in _ALT_TEXT_UNITS or (self.max_alt_text is not None and not self.alt_text):
            problems.append("alt text")
        if problems:
            raise ValueError(f"media rules for {self.platform}: {', '.join(problems)}")

    def types_for(self, kind: str) -> frozenset:
        return self.image_types if kind == "image" else self.video_types

    def max_of(self, kind: str) -> int:
        return self.max_images if kind == "image" else self.max_videos

    def max_bytes(self, content_type: str) -> int:
        if content_type in self.type_max_bytes:
            return self.type_max_bytes[content_type]
        return self.max_video_bytes if content_type in VIDEO_TYPES else self.max_image_bytes

    def max_pixels(self, content_type: str) -> int | None:
        if content_type in self.type_max_pixels:
            return self.type_max_pixels[content_type]
        return self.max_video_pixels if content_type in VIDEO_TYPES else self.max_image_pixels

    def alt_text_length(self, text: str) -> int:
        return counter(self.alt_text_unit)(text)


def aspect(minimum, maximum, label: str) -> AspectRange:
    """A width-to-height range from two ratios (ints or Fractions) and its label."""
    return AspectRange(Fraction(minimum), Fraction(maximum), label)

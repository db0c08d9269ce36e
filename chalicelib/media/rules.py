"""What media each platform takes, and the check the API runs on every part of a post.

A post is checked when it is created or edited, so that one we accept is not refused at publish
time: each part (the first post and every thread segment) against each target platform. The table
below holds one declarative entry per platform, with the evidence for each figure beside it; a
figure we could not confirm in the platform's own documentation says so (``# unconfirmed:``).

How the figures are read:

- Sizes are the largest file the platform accepts, in bytes. Where a platform writes "5 MB" and
  its own error messages show which megabyte it means (X: "File size exceeds 5242880 bytes"), that
  one; where nothing shows it, the decimal reading, the smaller one. Where the limit is strict
  (Mastodon refuses a file *of* 16 MiB), the figure is one byte less.
- Counts are per part: one post, or one message on the chat platforms. The API as a whole takes at
  most 4 images per part and never images with a video in the Octopost media object, so a larger
  figure here only matters for media given as ids.
- Where an instance or account can change a limit (a Mastodon server's settings, a boosted Discord
  server), the table holds the default and the adapter checks again at publish.
- Picture sizes come from the file's own header as stored: EXIF orientation and a video's rotation
  are not applied (see probe.py). A width-to-height range is therefore passed when either
  orientation fits; for the ranges symmetric about 1:1 (all but Instagram's) that loses nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Dict, List, Optional

from chalicelib.domain.platforms import ALIASES
from chalicelib.text.graphemes import grapheme_count
from chalicelib.text.limits import CODE_POINTS, GRAPHEMES, UNIT_NAMES, UTF16_UNITS
from chalicelib.text.plain import code_points, utf16_code_units

JPEG, PNG, GIF, WEBP = "image/jpeg", "image/png", "image/gif", "image/webp"
MP4, MOV = "video/mp4", "video/quicktime"
IMAGE_TYPES = frozenset({JPEG, PNG, GIF, WEBP})   # what uploads and fetching by URL accept
VIDEO_TYPES = frozenset({MP4, MOV})
TYPE_NAMES = {JPEG: "JPEG", PNG: "PNG", GIF: "GIF", WEBP: "WebP", MP4: "MP4", MOV: "MOV"}

MB, MiB = 1_000_000, 1024 * 1024
GB = 1000 * MB

_ALT_TEXT_COUNTERS: Dict[str, Callable[[str], int]] = {
    GRAPHEMES: grapheme_count,
    CODE_POINTS: code_points,
    UTF16_UNITS: utf16_code_units,
}


@dataclass(frozen=True)
class AspectRange:
    """The widths-to-heights a platform takes, both ends included; ``label`` as its docs put it."""

    minimum: Fraction
    maximum: Fraction
    label: str

    def fits(self, width: int, height: int) -> bool:
        return any(self.minimum <= ratio <= self.maximum
                   for ratio in (Fraction(width, height), Fraction(height, width)))


@dataclass(frozen=True, kw_only=True)
class MediaRules:
    """One platform's limits on the media of one part (post or message)."""

    platform: str
    name: str                                  # as users know it: "X", not "twitter"
    max_images: int
    max_videos: int                            # 0 when we cannot publish video there
    max_media: int                             # images and videos together
    image_types: frozenset
    video_types: frozenset
    max_image_bytes: int
    max_video_bytes: int
    type_max_bytes: Mapping[str, int] = dataclasses.field(default_factory=dict)   # where a type differs
    images_with_video: bool
    alt_text: bool                             # the platform has an alt-text field at all
    max_alt_text: Optional[int]                # None: no field, or no limit we know of
    alt_text_unit: str = CODE_POINTS
    requires_media: bool = False               # a post there must carry media
    alone_types: frozenset = frozenset()       # types that must be a part's only media
    max_part_bytes: Optional[int] = None       # all of a part's files together
    max_image_pixels: Optional[int] = None     # width x height
    max_video_pixels: Optional[int] = None
    type_max_pixels: Mapping[str, int] = dataclasses.field(default_factory=dict)
    max_image_side_sum: Optional[int] = None   # width + height
    image_aspect: Optional[AspectRange] = None
    video_aspect: Optional[AspectRange] = None
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
        for kind, count, types, size in (("image", self.max_images, self.image_types, self.max_image_bytes),
                                         ("video", self.max_videos, self.video_types, self.max_video_bytes)):
            if bool(count) != bool(types) or bool(count) != (size > 0):
                problems.append(f"{kind}s: a count, types and a size go together")
        if self.alt_text_unit not in _ALT_TEXT_COUNTERS or (self.max_alt_text is not None and not self.alt_text):
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

    def max_pixels(self, content_type: str) -> Optional[int]:
        if content_type in self.type_max_pixels:
            return self.type_max_pixels[content_type]
        return self.max_video_pixels if content_type in VIDEO_TYPES else self.max_image_pixels

    def alt_text_length(self, text: str) -> int:
        return _ALT_TEXT_COUNTERS[self.alt_text_unit](text)


def _range(minimum: Fraction, maximum: Fraction, label: str) -> AspectRange:
    return AspectRange(Fraction(minimum), Fraction(maximum), label)


_RULES = (
    # X. Media upload docs (docs.x.com/x-api/media, "Best practices"): up to 4 photos, 1 animated
    # GIF or 1 video in a Post; JPG, PNG, GIF, WEBP; image <= 5 MB, animated GIF <= 15 MB. The
    # upload endpoint counts in MiB ("File size exceeds 5242880 bytes", and 536870912 for video).
    # Video: MP4 or MOV, 512 MB by the media introduction; the best-practices page now gives 8 GB
    # for Post video (16 GB for Premium), we keep the figure every account gets. Video aspect ratio
    # "must be between 1:3 and 3:1". Alt text: 1,000 characters (POST /2/media/metadata), unit not
    # documented: UTF-16. A GIF goes alone: X cannot tell us before upload whether it animates,
    # and an animated one takes the whole post.
    MediaRules(
        platform="twitter", name="X",
        max_images=4, max_videos=1, max_media=4,
        image_types=frozenset({JPEG, PNG, GIF, WEBP}), video_types=frozenset({MP4, MOV}),
        max_image_bytes=5 * MiB, max_video_bytes=512 * MiB, type_max_bytes={GIF: 15 * MiB},
        images_with_video=False, alone_types=frozenset({GIF}),
        alt_text=True, max_alt_text=1000, alt_text_unit=UTF16_UNITS,
        video_aspect=_range(Fraction(1, 3), 3, "1:3 and 3:1"),
    ),
    # Bluesky. Lexicon app.bsky.embed.images: at most 4 images, blob accept image/*, maxSize
    # 1,000,000. Newer lexicons raise maxSize to 2,000,000 ("formerly limited to 1 MB"), but
    # self-hosted PDSes on older releases still refuse more, and the adapter (platforms/bluesky.py)
    # refuses more than 1,000,000: we keep the figure every server takes. Video is not published
    # here yet. ``alt`` has no maxLength in the lexicon: we take the official app's limit, 2,000
    # graphemes (social-app MAX_ALT_TEXT), so alt text written there fits here too, and a record
    # cannot grow without bound.
    MediaRules(
        platform="bluesky", name="Bluesky",
        max_images=4, max_videos=0, max_media=4,
        image_types=frozenset({JPEG, PNG, GIF, WEBP}), video_types=frozenset(),
        max_image_bytes=1_000_000, max_video_bytes=0,
        images_with_video=False,
        alt_text=True, max_alt_text=2000, alt_text_unit=GRAPHEMES,
    ),
    # Mastodon defaults (a server can change them; the adapter reads the instance's own at
    # publish). max_media_attachments 4. MediaAttachment: IMAGE_LIMIT 16 MiB and VIDEO_LIMIT 99 MiB,
    # validated with ``less_than`` (a file of exactly 16 MiB is refused), a GIF counting as an
    # image; more than one attachment with a video is refused ("images_and_video"). Attachmentable:
    # images of at most 7680x4320 = 33,177,600 pixels, GIFs 1280x720 = 921,600; videos 3840x2160 =
    # 8,294,400 (MAX_VIDEO_MATRIX_LIMIT). Description: 1,500 characters (Ruby String#length, code
    # points); recent releases take more, older ones exactly this.
    MediaRules(
        platform="mastodon", name="Mastodon",
        max_images=4, max_videos=1, max_media=4,
        image_types=frozenset({JPEG, PNG, GIF, WEBP}), video_types=frozenset({MP4, MOV}),
        max_image_bytes=16 * MiB - 1, max_video_bytes=99 * MiB - 1,
        images_with_video=False,
        alt_text=True, max_alt_text=1500, alt_text_unit=CODE_POINTS,
        max_image_pixels=33_177_600, type_max_pixels={GIF: 921_600}, max_video_pixels=8_294_400,
    ),
    # LinkedIn. Posts API, MultiImage: "minimum of 2 images and maximum of 20 images"; a post
    # carries images or one video. Images API: JPG, PNG, GIF, pixel count "less than 36,152,320"
    # (as connector docs quote it). unconfirmed: image file size (5 MB in third-party guides, 8 MB
    # in others; the smaller kept), video MP4 up to 500 MB (75 KB at least, not checked here) and
    # 1:2.4 to 2.4:1, alt text 4,086 characters (unit not documented: UTF-16).
    MediaRules(
        platform="linkedin", name="LinkedIn",
        max_images=20, max_videos=1, max_media=20,
        image_types=frozenset({JPEG, PNG, GIF}), video_types=frozenset({MP4}),
        max_image_bytes=5 * MB, max_video_bytes=500 * MB,
        images_with_video=False,
        alt_text=True, max_alt_text=4086, alt_text_unit=UTF16_UNITS,
        max_image_pixels=36_152_319,
        video_aspect=_range(Fraction(5, 12), Fraction(12, 5), "1:2.4 and 2.4:1"),
    ),
    # Threads API, posts: a carousel mixes images and videos; ``alt_text`` for images and videos
    # (Threads "Accessibility"). The "Media specifications" of Meta's Threads posts page, as
    # third-party guides quote them: images JPEG or PNG, 8 MB, aspect ratio limit 10:1; video MOV
    # or MP4, 1 GB, aspect between 0.01:1 and 10:1. unconfirmed: those figures (the page itself was
    # not readable here), carousel size (10 when carousels came to the API; the app takes 20), alt
    # text 1,000 characters (third-party guides; unit not documented: UTF-16).
    MediaRules(
        platform="threads", name="Threads",
        max_images=10, max_videos=10, max_media=10,
        image_types=frozenset({JPEG, PNG}), video_types=frozenset({MP4, MOV}),
        max_image_bytes=8 * MB, max_video_bytes=1 * GB,
        images_with_video=True,
        alt_text=True, max_alt_text=1000, alt_text_unit=UTF16_UNITS,
        image_aspect=_range(Fraction(1, 10), 10, "1:10 and 10:1"),
        video_aspect=_range(Fraction(1, 100), 10, "0.01:1 and 10:1"),
    ),
    # Instagram Platform, content publishing: every post carries media; carousels mix images and
    # videos; ``alt_text`` exists for image posts (since March 24, 2025) with no documented limit.
    # The IG User media reference, as third-party guides quote it: JPEG the only image format
    # supported, 8 MB, aspect ratio 4:5 to 1.91:1; Reels MOV or MP4, 300 MB (newer guides say
    # 1 GB: the smaller kept), aspect 0.01:1 to 10:1. unconfirmed: those figures (the reference
    # itself was not readable here), and 10 per carousel (the app has taken 20 since 2024).
    MediaRules(
        platform="instagram", name="Instagram",
        max_images=10, max_videos=10, max_media=10,
        image_types=frozenset({JPEG}), video_types=frozenset({MP4, MOV}),
        max_image_bytes=8 * MB, max_video_bytes=300 * MB,
        images_with_video=True, requires_media=True,
        alt_text=True, max_alt_text=None,
        image_aspect=_range(Fraction(4, 5), Fraction(191, 100), "4:5 and 1.91:1"),
        video_aspect=_range(Fraction(1, 100), 10, "0.01:1 and 10:1"),
    ),
    # Facebook Pages. A feed post carries photos or one video. Photos have an ``alt_text_custom``
    # field with no documented limit. unconfirmed: photo size 4 MB and formats JPEG, PNG, GIF (the
    # Graph API photo reference as we remember it; guides say 10 MB and add WebP, BMP, TIFF),
    # 10 photos per post, video 1 GB (the limit without resumable upload, which goes further).
    MediaRules(
        platform="facebook", name="Facebook",
        max_images=10, max_videos=1, max_media=10,
        image_types=frozenset({JPEG, PNG, GIF}), video_types=frozenset({MP4, MOV}),
        max_image_bytes=4 * MB, max_video_bytes=1 * GB,
        images_with_video=False,
        alt_text=True, max_alt_text=None,
    ),
    # TikTok Content Posting API: a video post (MP4, MOV or WebM, up to 4 GB) or a photo post of
    # up to 35 images (JPEG or WebP, 20 MB each), never both; every post carries media; no alt-text
    # field. unconfirmed: the byte figures are from TikTok's media transfer guide as third-party
    # guides quote it (decimal reading kept).
    MediaRules(
        platform="tiktok", name="TikTok",
        max_images=35, max_videos=1, max_media=35,
        image_types=frozenset({JPEG, WEBP}), video_types=frozenset({MP4, MOV}),
        max_image_bytes=20 * MB, max_video_bytes=4 * GB,
        images_with_video=False, requires_media=True,
        alt_text=False, max_alt_text=None,
    ),
    # YouTube Data API, videos.insert: one video per upload, "Maximum file size: 256GB", MIME
    # video/*; no images, no alt-text field.
    MediaRules(
        platform="youtube", name="YouTube",
        max_images=0, max_videos=1, max_media=1,
        image_types=frozenset(), video_types=frozenset({MP4, MOV}),
        max_image_bytes=0, max_video_bytes=256 * GB,
        images_with_video=False, requires_media=True,
        alt_text=False, max_alt_text=None,
    ),
    # Discord: up to 10 attachments per message, any file type; 10 MiB for bots and webhooks in a
    # server without boosts (discord-api-docs #7312, January 2025). The limit has been on the
    # whole request ("we limit the request instead of the file", discord-api-docs #415), so we hold
    # all of a message's files to it. Attachment ``description`` (alt text): 1,024 characters; the
    # API counts code points (discord-api-docs #1315). unconfirmed: whether today's limit is per
    # file or per request (the per-request reading is the stricter); docs raised it to 20 MiB in
    # September 2026 (#8578) while the API still refused more than 10 MiB (#8572).
    MediaRules(
        platform="discord", name="Discord", post_noun="message",
        max_images=10, max_videos=10, max_media=10,
        image_types=frozenset({JPEG, PNG, GIF, WEBP}), video_types=frozenset({MP4, MOV}),
        max_image_bytes=10 * MiB, max_video_bytes=10 * MiB, max_part_bytes=10 * MiB,
        images_with_video=True,
        alt_text=True, max_alt_text=1024, alt_text_unit=CODE_POINTS,
    ),
    # Slack: files up to 1 GB, any type; ``alt_txt`` on files.getUploadURLExternal, refused past
    # 1,000 characters ("alt_txt_too_large"; unit not documented: UTF-16). unconfirmed: 10 files
    # per message (what the app allows; files.completeUploadExternal documents no maximum).
    MediaRules(
        platform="slack", name="Slack", post_noun="message", text_with_media=True,
        max_images=10, max_videos=10, max_media=10,
        image_types=frozenset({JPEG, PNG, GIF, WEBP}), video_types=frozenset({MP4, MOV}),
        max_image_bytes=1 * GB, max_video_bytes=1 * GB,
        images_with_video=True,
        alt_text=True, max_alt_text=1000, alt_text_unit=UTF16_UNITS,
    ),
    # Telegram Bot API: sendPhoto "at most 10 MB", width + height at most 10,000, width-to-height
    # ratio at most 20; other files 50 MB by upload; sendMediaGroup sends 2-10 photos and videos
    # together (one alone goes by sendPhoto or sendVideo). No alt-text field. unconfirmed: GIF and
    # WebP as photos (sent as a still), and which megabyte the Bot API means (decimal kept).
    MediaRules(
        platform="telegram", name="Telegram", post_noun="message",
        max_images=10, max_videos=10, max_media=10,
        image_types=frozenset({JPEG, PNG, GIF, WEBP}), video_types=frozenset({MP4, MOV}),
        max_image_bytes=10 * MB, max_video_bytes=50 * MB,
        images_with_video=True,
        alt_text=False, max_alt_text=None,
        max_image_side_sum=10_000,
        image_aspect=_range(Fraction(1, 20), 20, "1:20 and 20:1"),
    ),
)

RULES: Mapping[str, MediaRules] = {rules.platform: rules for rules in _RULES}


def rules_for(platform: str) -> MediaRules:
    """The rules of ``platform`` (a name from RULES, or the alias "x"); KeyError for any other."""
    try:
        return RULES[ALIASES.get(platform, platform)]
    except KeyError:
        raise KeyError(f"no media rules for platform {platform!r}") from None


@dataclass(frozen=True)
class MediaViolation:
    """One way a part's media breaks a platform's rules. ``field`` is the item's where the item is
    at fault, the part's where the part is."""

    field: str
    message: str
    code: str


def check(platform: str, items: Sequence[Mapping[str, Any]], field: str, *,
          first_part: bool = True) -> List[MediaViolation]:
    """The rules of ``platform`` that one part's media breaks; empty when it fits.

    ``items`` are the part's media in order, each with ``kind`` ("image" or "video"),
    ``content_type``, ``size`` (bytes), ``alt_text``, ``width`` and ``height`` (None when unknown:
    that check is then skipped) and ``field``, where the item was given. ``field`` names the part
    ("media", "segments[2].media_urls"). ``first_part``: "media_required" is checked on the first
    part only. A value exactly at a limit fits.
    """
    rules = rules_for(platform)
    if not items:
        if rules.requires_media and first_part:
            return [MediaViolation(field, f"{rules.name} posts must carry an image or a video; add one.",
                                   "media_required")]
        return []
    violations: List[MediaViolation] = []
    for index, item in enumerate(items):
        violations.extend(_item_violations(rules, item, item.get("field") or f"{field}[{index}]", len(items)))
    violations.extend(_part_violations(rules, items, field))
    return violations


def _item_violations(rules: MediaRules, item: Mapping[str, Any], where: str, count: int) -> List[MediaViolation]:
    kind, content_type = item.get("kind"), item.get("content_type")
    if kind not in ("image", "video"):
        return [MediaViolation(where, f"Only images and videos can be published to {rules.name}.",
                               "media_kind_not_supported")]
    if not rules.max_of(kind):
        return [MediaViolation(where, f"{_plural(kind).capitalize()} cannot be published to {rules.name}; "
                                      f"remove this one or leave {rules.name} out of this post.",
                               "media_kind_not_supported")]
    types = rules.types_for(kind)
    if content_type not in types:
        return [MediaViolation(where, f"{rules.name} takes {_plural(kind)} as {_either(types)}; this one is "
                                      f"{TYPE_NAMES.get(content_type, content_type)}.", "media_type_not_supported")]
    found = []
    size, limit = int(item.get("size") or 0), rules.max_bytes(content_type)
    if size > limit:
        what = "GIFs" if content_type in rules.type_max_bytes else _plural(kind)
        found.append(MediaViolation(where, f"{rules.name} takes {what} of at most {limit:,} bytes; this one is "
                                           f"{size:,} bytes.", "media_too_large"))
    problem = _dimension_problem(rules, kind, content_type, item.get("width"), item.get("height"))
    if problem:
        found.append(MediaViolation(where, problem, "media_dimensions_not_supported"))
    alt_text = item.get("alt_text")
    if alt_text and rules.max_alt_text is not None:
        length = rules.alt_text_length(alt_text)
        if length > rules.max_alt_text:
            found.append(MediaViolation(where, f"{rules.name} takes alt text of at most {rules.max_alt_text:,} "
                                               f"{UNIT_NAMES[rules.alt_text_unit]}; this one has {length:,}.",
                                        "alt_text_too_long"))
    if content_type in rules.alone_types and count > 1:
        found.append(MediaViolation(where, f"{rules.name} takes a {TYPE_NAMES[content_type]} only on its own in a "
                                           f"{rules.post_noun}; this part has {count} media files.",
                                    "media_must_be_alone"))
    return found


def _dimension_problem(rules: MediaRules, kind: str, content_type: str, width: Any, height: Any) -> Optional[str]:
    if not width or not height:
        return None
    width, height = int(width), int(height)
    noun, shape = _plural(kind), f"{width:,} x {height:,}"
    pixels = rules.max_pixels(content_type)
    if pixels is not None and width * height > pixels:
        what = "GIFs" if content_type in rules.type_max_pixels else noun
        return f"{rules.name} takes {what} of at most {pixels:,} pixels; this one is {shape} ({width * height:,})."
    if kind == "image" and rules.max_image_side_sum is not None and width + height > rules.max_image_side_sum:
        return (f"{rules.name} takes {noun} whose width and height add up to at most "
                f"{rules.max_image_side_sum:,} pixels; this one is {shape}.")
    aspect = rules.image_aspect if kind == "image" else rules.video_aspect
    if aspect is not None and not aspect.fits(width, height):
        return f"{rules.name} takes {noun} with a width-to-height ratio between {aspect.label}; this one is {shape}."
    return None


def _part_violations(rules: MediaRules, items: Sequence[Mapping[str, Any]], field: str) -> List[MediaViolation]:
    # Items of a kind the platform does not take were reported one by one; counting them again
    # (too many videos on a platform with none) would only repeat it.
    taken = [item for item in items if item.get("kind") in ("image", "video") and rules.max_of(item["kind"])]
    images = sum(1 for item in taken if item["kind"] == "image")
    videos = len(taken) - images
    found = []
    per = f"per {rules.post_noun}"
    if images > rules.max_images:
        found.append(MediaViolation(field, f"{rules.name} takes at most {_count(rules.max_images, 'image')} {per}; "
                                           f"this one has {images}.", "too_many_images"))
    if videos > rules.max_videos:
        found.append(MediaViolation(field, f"{rules.name} takes at most {_count(rules.max_videos, 'video')} {per}; "
                                           f"this one has {videos}.", "too_many_videos"))
    if not found and len(taken) > rules.max_media:
        found.append(MediaViolation(field, f"{rules.name} takes at most {_count(rules.max_media, 'media file')} "
                                           f"{per}; this one has {len(taken)}.", "too_many_media"))
    if images and videos and not rules.images_with_video:
        found.append(MediaViolation(field, f"{rules.name} does not take images and a video in the same "
                                           f"{rules.post_noun}; put them in separate parts.", "video_with_images"))
    # A file too large on its own was reported as such; the total only tells something new when
    # every file fits by itself.
    sizes = [(int(item.get("size") or 0), rules.max_bytes(item.get("content_type"))) for item in taken]
    total = sum(size for size, _ in sizes)
    if (rules.max_part_bytes is not None and total > rules.max_part_bytes
            and all(size <= limit for size, limit in sizes)):
        found.append(MediaViolation(field, f"{rules.name} takes at most {rules.max_part_bytes:,} bytes of files "
                                           f"{per}; this one has {total:,}.", "media_too_large"))
    return found


def _plural(kind: str) -> str:
    return f"{kind}s"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _either(types: frozenset) -> str:
    names = sorted(TYPE_NAMES[content_type] for content_type in types)
    if len(names) == 1:
        return f"{names[0]} only"
    return f"{', '.join(names[:-1])} or {names[-1]}"

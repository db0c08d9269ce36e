"""What media each platform takes, and the check the API runs on every part of a post.

A post is checked when it is created or edited, so that one we accept is not refused at publish
time: each part (the first post and every thread segment) against each target platform. Each
platform declares its rules in its module under chalicelib/platforms/ (the shape is in spec.py);
this module gathers them and checks a part against them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.media.spec import (  # noqa: F401  (re-exported: the rules' vocabulary)
    GB,
    GIF,
    IMAGE_TYPES,
    JPEG,
    MB,
    MOV,
    MP4,
    PNG,
    TYPE_NAMES,
    VIDEO_TYPES,
    WEBP,
    AspectRange,
    MediaRules,
    MiB,
)
from chalicelib.platforms import registry
from chalicelib.text.units import UNIT_NAMES

RULES: Mapping[str, MediaRules] = {item.name: item.media for item in registry.descriptors()}


def rules_for(platform: str) -> MediaRules:
    """The rules of ``platform`` (a name from RULES, or one of its aliases); KeyError for any other."""
    try:
        return RULES[registry.canonical(platform)]
    except KeyError:
        raise KeyError(f"no media rules for platform {platform!r}") from None


@dataclass(frozen=True)
class MediaViolation:
    """One way a part's media breaks a platform's rules. ``field`` is the item's where the item is
    at fault, the part's where the part is."""

    field: str
    message: str
    code: str


def check(
    platform: str, items: Sequence[Mapping[str, Any]], field: str, *, first_part: bool = True
) -> list[MediaViolation]:
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
            return [
                MediaViolation(field, f"{rules.name} posts must carry an image or a video; add one.", "media_required")
            ]
        return []
    violations: list[MediaViolation] = []
    for index, item in enumerate(items):
        violations.extend(_item_violations(rules, item, item.get("field") or f"{field}[{index}]", len(items)))
    violations.extend(_part_violations(rules, items, field))
    return violations


def _item_violations(rules: MediaRules, item: Mapping[str, Any], where: str, count: int) -> list[MediaViolation]:
    kind, content_type = item.get("kind"), item.get("content_type")
    if kind not in ("image", "video"):
        return [
            MediaViolation(
                where, f"Only images and videos can be published to {rules.name}.", "media_kind_not_supported"
            )
        ]
    if not rules.max_of(kind):
        return [
            MediaViolation(
                where,
                f"{_plural(kind).capitalize()} cannot be published to {rules.name}; "
                f"remove this one or leave {rules.name} out of this post.",
                "media_kind_not_supported",
            )
        ]
    types = rules.types_for(kind)
    if content_type not in types:
        return [
            MediaViolation(
                where,
                f"{rules.name} takes {_plural(kind)} as {_either(types)}; this one is "
                f"{TYPE_NAMES.get(content_type, content_type)}.",
                "media_type_not_supported",
            )
        ]
    found = []
    size, limit = int(item.get("size") or 0), rules.max_bytes(content_type)
    if size > limit:
        what = "GIFs" if content_type in rules.type_max_bytes else _plural(kind)
        found.append(
            MediaViolation(
                where,
                f"{rules.name} takes {what} of at most {limit:,} bytes; this one is {size:,} bytes.",
                "media_too_large",
            )
        )
    problem = _dimension_problem(rules, kind, content_type, item.get("width"), item.get("height"))
    if problem:
        found.append(MediaViolation(where, problem, "media_dimensions_not_supported"))
    alt_text = item.get("alt_text")
    if alt_text and rules.max_alt_text is not None:
        length = rules.alt_text_length(alt_text)
        if length > rules.max_alt_text:
            found.append(
                MediaViolation(
                    where,
                    f"{rules.name} takes alt text of at most {rules.max_alt_text:,} "
                    f"{UNIT_NAMES[rules.alt_text_unit]}; this one has {length:,}.",
                    "alt_text_too_long",
                )
            )
    if content_type in rules.alone_types and count > 1:
        found.append(
            MediaViolation(
                where,
                f"{rules.name} takes a {TYPE_NAMES[content_type]} only on its own in a "
                f"{rules.post_noun}; this part has {count} media files.",
                "media_must_be_alone",
            )
        )
    return found


def _dimension_problem(rules: MediaRules, kind: str, content_type: str, width: Any, height: Any) -> str | None:
    if not width or not height:
        return None
    width, height = int(width), int(height)
    noun, shape = _plural(kind), f"{width:,} x {height:,}"
    pixels = rules.max_pixels(content_type)
    if pixels is not None and width * height > pixels:
        what = "GIFs" if content_type in rules.type_max_pixels else noun
        return f"{rules.name} takes {what} of at most {pixels:,} pixels; this one is {shape} ({width * height:,})."
    if kind == "image" and rules.max_image_side_sum is not None and width + height > rules.max_image_side_sum:
        return (
            f"{rules.name} takes {noun} whose width and height add up to at most "
            f"{rules.max_image_side_sum:,} pixels; this one is {shape}."
        )
    aspect = rules.image_aspect if kind == "image" else rules.video_aspect
    if aspect is not None and not aspect.fits(width, height):
        return f"{rules.name} takes {noun} with a width-to-height ratio between {aspect.label}; this one is {shape}."
    return None


def _part_violations(rules: MediaRules, items: Sequence[Mapping[str, Any]], field: str) -> list[MediaViolation]:
    # Items of a kind the platform does not take were reported one by one; counting them again
    # (too many videos on a platform with none) would only repeat it.
    taken = [item for item in items if item.get("kind") in ("image", "video") and rules.max_of(item["kind"])]
    images = sum(1 for item in taken if item["kind"] == "image")
    videos = len(taken) - images
    found = []
    per = f"per {rules.post_noun}"
    if images > rules.max_images:
        found.append(
            MediaViolation(
                field,
                f"{rules.name} takes at most {_count(rules.max_images, 'image')} {per}; this one has {images}.",
                "too_many_images",
            )
        )
    if videos > rules.max_videos:
        found.append(
            MediaViolation(
                field,
                f"{rules.name} takes at most {_count(rules.max_videos, 'video')} {per}; this one has {videos}.",
                "too_many_videos",
            )
        )
    if not found and len(taken) > rules.max_media:
        found.append(
            MediaViolation(
                field,
                f"{rules.name} takes at most {_count(rules.max_media, 'media file')} {per}; this one has {len(taken)}.",
                "too_many_media",
            )
        )
    if images and videos and not rules.images_with_video:
        found.append(
            MediaViolation(
                field,
                f"{rules.name} does not take images and a video in the same "
                f"{rules.post_noun}; put them in separate parts.",
                "video_with_images",
            )
        )
    # A file too large on its own was reported as such; the total only tells something new when
    # every file fits by itself.
    sizes = [(int(item.get("size") or 0), rules.max_bytes(item.get("content_type"))) for item in taken]
    total = sum(size for size, _ in sizes)
    if (
        rules.max_part_bytes is not None
        and total > rules.max_part_bytes
        and all(size <= limit for size, limit in sizes)
    ):
        found.append(
            MediaViolation(
                field,
                f"{rules.name} takes at most {rules.max_part_bytes:,} bytes of files {per}; this one has {total:,}.",
                "media_too_large",
            )
        )
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

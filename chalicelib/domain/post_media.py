"""A post's media: from what the client sent to the verified files of each part, and each target
platform's limits on them.

Clients name media three ways: uploaded ids (``media_ids``, or ``media`` as a list), Octopost's
object of URLs (``media.images[].url`` with ``alt_text``, ``media.video.url``) and each segment's
``media_urls``. Every one ends as a ready file in our bucket before the post is stored, so what is
checked at create is exactly what goes out at publish, and a post never depends on a third-party
URL still answering at publish time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.domain.media import MAX_FILES_PER_POST
from chalicelib.domain.post_rules import Problems
from chalicelib.domain.posts import Post
from chalicelib.errors import MediaRejectedError

# (field, media id or None, url or None, alt text or None, kind expected or None)
Source = tuple[str, str | None, str | None, str | None, str | None]


def sources(post: Post) -> list[list[Source]]:
    """What the client named, part by part, with the field each came from."""
    first: list[Source] = [
        (f"media_ids[{index}]", media_id, None, None, None) for index, media_id in enumerate(post.media_ids or [])
    ]
    if post.media:
        for index, image in enumerate(post.media.get("images") or []):
            first.append((f"media.images[{index}]", None, image["url"], image.get("alt_text"), "image"))
        if post.media.get("video"):
            first.append(("media.video", None, post.media["video"]["url"], None, "video"))
    parts = [first]
    for index, segment in enumerate(post.segments or []):
        parts.append(
            [
                (f"segments[{index}].media_urls[{position}]", None, url, None, None)
                for position, url in enumerate(segment.get("media_urls") or [])
            ]
        )
    return parts


def resolve(
    post: Post, previous: Post | None, media, problems: Problems, time_left: Callable[[], float] | None = None
) -> list[list[dict[str, Any]]]:
    """The attachments of each part; every problem is added to ``problems`` with its field. The URLs
    share one fetch budget, bounded by ``time_left`` (the request's seconds left) when given.

    A URL the previous version of the post already fetched is not fetched again."""
    named = sources(post)
    ids = [media_id for part in named for (_, media_id, _, _, _) in part if media_id]
    found = media.many(post.scope, ids) if ids else {}
    known_urls = {
        item["source_url"]: item
        for part in (previous.attachments if previous else [])
        for item in part
        if item.get("source_url")
    }
    deadline = media.fetch_deadline(time_left)
    fetched: dict[str, dict[str, Any]] = {}
    result: list[list[dict[str, Any]]] = []
    for part in named:
        items = []
        for field, media_id, url, alt_text, kind in part:
            # An empty id is an id too (one that names nothing), never a URL to fetch.
            item = (
                _by_id(found, media_id, field, problems)
                if media_id is not None
                else _by_url(post, media, url, alt_text, kind, field, known_urls, fetched, deadline, problems)
            )
            if item is not None:
                items.append(dict(item, field=field, alt_text=alt_text if alt_text is not None else item["alt_text"]))
        result.append(items)
    if len({item["id"] for part in result for item in part}) > MAX_FILES_PER_POST:
        problems.add(
            "media", f"A post can carry at most {MAX_FILES_PER_POST} files over all its parts.", "too_many_files"
        )
    while len(result) > 1 and not result[-1]:
        result.pop()
    return result if any(result) else []


def _by_id(found, media_id: str, field: str, problems: Problems) -> dict[str, Any] | None:
    item = found.get(media_id)
    if item is None:
        problems.add(
            field,
            f"No media {media_id} in this workspace (media belong to the workspace and mode of "
            "the key that uploaded them).",
            "unknown_media",
        )
        return None
    if item.status == "pending":
        problems.add(
            field,
            f"Media {media_id} is still being uploaded or verified; use it once its status is ready.",
            "media_not_ready",
        )
        return None
    if item.status != "ready":
        problems.add(field, f"Media {media_id} was rejected: {item.reason}", "media_rejected")
        return None
    return item.attachment()


def _by_url(
    post: Post,
    media,
    url: str,
    alt_text,
    kind,
    field: str,
    known: dict[str, dict[str, Any]],
    fetched: dict[str, dict[str, Any]],
    deadline: float,
    problems: Problems,
) -> dict[str, Any] | None:
    if url in fetched:
        return fetched[url]
    if url in known and (kind is None or known[url]["kind"] == kind):
        fetched[url] = known[url]
        return known[url]
    try:
        item = media.fetch(post.workspace_id, post.mode, url, alt_text, kind_hint=kind, deadline=deadline).attachment()
    except MediaRejectedError as error:
        problems.add(field, error.message, error.code)
        return None
    fetched[url] = item
    return item


def check_platforms(post: Post, platforms: Sequence[str], problems: Problems) -> None:
    """Each target platform's media limits, on every part: count, kind, type, size, alt text."""
    from chalicelib.media import rules

    for platform in dict.fromkeys(platforms):
        platform_rules = rules.rules_for(platform)
        for index, part in enumerate(post.attachments or [[]]):
            field = "media" if index == 0 else f"segments[{index - 1}].media_urls"
            for violation in rules.check(platform, part, field, first_part=index == 0):
                problems.add(violation.field, violation.message, violation.code, platform)
            text = post.text_for(platform) if index == 0 else post.segments[index - 1]["content"]
            if part and platform_rules.text_with_media and not text.strip():
                problems.add(
                    "content" if index == 0 else f"segments[{index - 1}].content",
                    f"On {platform_rules.name} files go out with a message: add text to this part.",
                    "text_required",
                    platform,
                )

"""What makes a post valid: its targets, its schedule, its settings and its length on every platform.

Checked at create, at every update and again at publish, all errors at once, each naming its field
(and platform where there is one) so a client can show them beside the right input.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

from chalicelib import text
from chalicelib.clock import Clock
from chalicelib.domain.platforms import describe, numbered_suffix
from chalicelib.domain.posts import MAX_SCHEDULE_AHEAD, Post, Target
from chalicelib.domain.records import Integration
from chalicelib.errors import ValidationError
from chalicelib.ids import uuid7


class Problems:
    """Collects field errors; ``raise_if_any`` turns them into one 422."""

    def __init__(self):
        self.items: list[dict[str, str]] = []

    def add(self, field: str, message: str, code: str, platform: str | None = None) -> None:
        item = {"field": field, "message": message, "code": code}
        if platform:
            item["platform"] = platform
        self.items.append(item)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        codes = {item["code"] for item in self.items}
        code = codes.pop() if len(codes) == 1 else "validation_failed"
        first = self.items[0]["message"]
        detail = first if len(self.items) == 1 else f"{first} (and {len(self.items) - 1} more)"
        raise ValidationError(detail, errors=self.items, code=code)


def resolve_targets(
    post: Post, available: Sequence[Integration], problems: Problems, clock: Clock, previous: Sequence[Target] = ()
) -> list[Target]:
    """One target per integration the post names, directly or through a platform name.

    A target that already existed for the same integration keeps its id, so a client's reference
    to it survives an edit."""
    active = [item for item in available if item.status == "active"]
    by_id = {item.id: item for item in available}
    chosen: dict[str, Integration] = {}
    for index, platform in enumerate(post.platforms):
        matches = [item for item in active if item.platform == platform]
        if not matches:
            problems.add(
                f"platforms[{index}]",
                f"There is no active {platform} integration in this workspace "
                f"({'test' if post.mode == 'test' else 'live'} mode); connect one first.",
                "no_active_integration",
                platform,
            )
        for item in matches:
            chosen.setdefault(item.id, item)
    for index, integration_id in enumerate(post.integration_ids):
        item = by_id.get(integration_id)
        if item is None:
            problems.add(
                f"integrations[{index}]", f"No integration {integration_id} in this workspace.", "unknown_integration"
            )
        elif item.status != "active":
            problems.add(
                f"integrations[{index}]",
                f"Integration {integration_id} ({item.platform}) is "
                f"{item.status.replace('_', ' ')}; reconnect it first.",
                "no_active_integration",
                item.platform,
            )
        else:
            chosen.setdefault(item.id, item)
    if not post.platforms and not post.integration_ids:
        problems.add("platforms", "Name at least one platform or integration to publish to.", "no_target")
    kept = {target.integration_id: target for target in previous}
    return [
        Target(
            id=kept[item.id].id if item.id in kept else uuid7(clock),
            integration_id=item.id,
            platform=item.platform,
            username=item.username,
            key_salt=(kept[item.id].key_salt if item.id in kept else None) or secrets.token_hex(8),
        )
        for item in chosen.values()
    ]


def check_schedule(scheduled_at: dt.datetime, now: dt.datetime, problems: Problems, field: str = "schedule_at") -> None:
    if scheduled_at <= now:
        problems.add(field, "The schedule is in the past; choose a time in the future.", "schedule_in_past")
    elif scheduled_at - now > MAX_SCHEDULE_AHEAD:
        problems.add(field, "A post can be scheduled at most 180 days ahead.", "schedule_too_far")


def check_content(post: Post, integrations: dict[str, Integration], problems: Problems) -> None:
    has_media = bool(post.media_ids or (post.media and (post.media.get("images") or post.media.get("video"))))
    if not post.content.strip() and not has_media:
        problems.add("content", "A post needs content or media.", "content_required")
    segments = post.segments or []
    parts = len(segments) + 1
    checked = set()
    for target in post.targets:
        platform = target.platform
        profile = integrations[target.integration_id].profile if target.integration_id in integrations else {}
        max_characters = profile.get("max_characters")
        key = (platform, max_characters)
        if key in checked:
            continue
        checked.add(key)
        declared = describe(platform)
        numbered = declared.numbered and segments
        # Where the post's text goes out as a description (a video's), its description limit applies.
        description = declared.text.body == "description"
        first = post.text_for(platform) + (numbered_suffix(1, parts) if numbered else "")
        field = f"platform_overrides.{platform}" if platform in post.platform_overrides else "content"
        _limits(
            problems, platform, first, field, max_characters=max_characters, caption=has_media, description=description
        )
        for index, segment in enumerate(segments):
            body = segment["content"] + (numbered_suffix(index + 2, parts) if numbered else "")
            _limits(
                problems,
                platform,
                body,
                f"segments[{index}].content",
                max_characters=max_characters,
                caption=bool(segment.get("media_urls")),
                description=description,
            )
        title_setting = declared.text.title_setting
        if title_setting:
            title = (post.platform_settings.get(platform) or {}).get(title_setting)
            where = f"platform_settings.{platform}.{title_setting}"
            if not title:
                problems.add(
                    where,
                    f"A {declared.title} target needs a {title_setting}.",
                    f"{platform}_{title_setting}_required",
                    platform,
                )
            else:
                _limits(problems, platform, title, where)


def _limits(problems: Problems, platform: str, body: str, field: str, **options) -> None:
    for violation in text.check(platform, body, field=field, **options):
        problems.add(violation.field, violation.message, "character_limit_exceeded", platform)

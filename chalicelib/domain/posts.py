"""Posts: what a post is, and the rules for creating, changing, publishing and removing one.

A post is stored as one record with its targets (one per integration it publishes to) and a
``version`` that every write checks. The publisher claims targets with the same check, so an edit,
a reschedule or a cancel either lands before publishing starts, or is refused with 409: a post is
never published in a form the user has since changed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

EDITABLE = frozenset({"draft", "scheduled"})
MAX_SCHEDULE_AHEAD = dt.timedelta(days=180)


@dataclass
class Target:
    id: str
    integration_id: str
    platform: str
    username: str
    status: str = "pending"  # pending | publishing | published | failed | cancelled
    platform_post_id: str | None = None
    platform_post_url: str | None = None
    published_at: str | None = None  # ISO 8601, as stored
    error: dict[str, Any] | None = None
    # Progress, part by part (the first part, then each segment): what the platform answered for
    # each part already out ({"id", "url", "extra"}), so a retry resumes after the last one.
    parts: list[dict[str, Any]] = field(default_factory=list)
    # The part being sent right now; still set after a crash, it says the outcome of that call is
    # unknown (which matters on a platform that offers no idempotency).
    in_flight: int | None = None
    # Files of a part not yet out that the platform holds from an earlier attempt ({"part index":
    # {attachment id: the platform's handle}}): a retry takes up a video still processing instead of
    # uploading it again, which would restart its processing and might never finish.
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Who is publishing this target, and until when; another worker may take over after that.
    lease_owner: str | None = None
    lease_until: str | None = None
    attempts: int = 0  # tries that failed or may have (a worker that died counts): MAX_ATTEMPTS
    rate_limit_waits: int = 0  # tries the platform refused for a rate limit: MAX_RATE_LIMIT_WAITS
    # Random, chosen when the target is made and kept for its life: what a platform's request keys
    # derived from the target mix in besides its id (Bluesky's record keys, which the id's
    # millisecond alone would make collide for two targets made in the same millisecond). None on
    # targets made before it existed, which keep the keys they were first sent with.
    key_salt: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass
class Post:
    id: str
    workspace_id: str
    mode: str
    status: str
    content: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = 1
    platforms: list[str] = field(default_factory=list)  # as requested (names)
    integration_ids: list[str] = field(default_factory=list)  # as requested (ids)
    targets: list[Target] = field(default_factory=list)  # resolved: one per integration
    scheduled_at: dt.datetime | None = None
    published_at: dt.datetime | None = None
    tags: list[str] = field(default_factory=list)
    platform_overrides: dict[str, str] = field(default_factory=dict)
    platform_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    group_id: str | None = None
    media: dict[str, Any] | None = None  # {"images": [...], "video": {...}|None}
    media_ids: list[str] = field(default_factory=list)
    segments: list[dict[str, Any]] | None = None
    # The verified files of each part (0: the first post, i: segment i), resolved from media_ids,
    # media and segments' media_urls when the post is written: see chalicelib/domain/post_media.py.
    attachments: list[list[dict[str, Any]]] = field(default_factory=list)
    dispatch_id: str | None = None
    # The final status whose event (post.published / post.failed) has been sent, once it has.
    notified: str | None = None

    @property
    def scope(self) -> str:
        return f"{self.workspace_id}#{self.mode}"

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE

    def text_for(self, platform: str) -> str:
        """What goes out as the first part on this platform: its override, or the base content."""
        return self.platform_overrides.get(platform, self.content)

    def attached_media_ids(self) -> set:
        return {item["id"] for part in self.attachments for item in part}

    def body(self) -> dict[str, Any]:
        """The request-shaped part, stored as one document."""
        return {
            "content": self.content,
            "platforms": self.platforms,
            "integration_ids": self.integration_ids,
            "tags": self.tags,
            "platform_overrides": self.platform_overrides,
            "platform_settings": self.platform_settings,
            "media": self.media,
            "media_ids": self.media_ids,
            "segments": self.segments,
            "attachments": self.attachments,
        }


def target_finished(target: Target) -> bool:
    return target.status in ("published", "failed", "cancelled")


def lease_alive(target: Target, now: dt.datetime) -> bool:
    """Whether a worker holds the target now (its lease has not run out)."""
    if not target.lease_until:
        return False
    return dt.datetime.fromisoformat(target.lease_until.replace("Z", "+00:00")) > now


def derived_status(targets: list[Target]) -> str | None:
    """published once a target succeeded and all are done; failed when all failed; else None."""
    if not targets or any(t.status in ("pending", "publishing") for t in targets):
        return None
    if any(t.status == "published" for t in targets):
        return "published"
    return "failed"

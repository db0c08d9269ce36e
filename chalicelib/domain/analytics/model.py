"""What analytics keeps, as plain data: tracked targets, snapshots, an integration's refresh state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

METRICS = ("impressions", "likes", "comments", "shares")


@dataclass(frozen=True)
class Tracked:
    """A published target whose counters are read on the tiers' schedule."""

    workspace_id: str
    mode: str
    post_id: str
    target_id: str
    integration_id: str
    platform: str
    platform_post_id: str
    published_at: dt.datetime
    username: str | None = None
    post_url: str | None = None

    @property
    def scope(self) -> str:
        return f"{self.workspace_id}#{self.mode}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "workspace_id": self.workspace_id,
            "mode": self.mode,
            "post_id": self.post_id,
            "target_id": self.target_id,
            "integration_id": self.integration_id,
            "platform": self.platform,
            "platform_post_id": self.platform_post_id,
            "published_at": self.published_at.astimezone(dt.UTC).isoformat(),
            "username": self.username,
            "post_url": self.post_url,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tracked:
        return cls(**{**data, "published_at": dt.datetime.fromisoformat(data["published_at"])})


@dataclass(frozen=True)
class Snapshot:
    id: str
    workspace_id: str
    mode: str
    post_id: str
    target_id: str
    integration_id: str
    platform: str
    slot: str
    captured_at: dt.datetime
    impressions: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    platform_data: dict[str, Any] = field(default_factory=dict)
    username: str | None = None
    post_url: str | None = None

    @property
    def scope(self) -> str:
        return f"{self.workspace_id}#{self.mode}"


@dataclass
class IntegrationState:
    """An integration's refresh state: a backoff the platform asked for, and metered reads."""

    backoff_until: dt.datetime | None = None
    month: str | None = None
    reads: int = 0
    exhausted: str | None = None  # the month whose read budget ran out
    unavailable: str | None = None  # why the platform refuses this account's reads, while it does

    def budget_exhausted(self, now: dt.datetime) -> bool:
        return self.exhausted == month_of(now)


def month_of(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m")

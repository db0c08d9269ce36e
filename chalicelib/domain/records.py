"""The domain's view of stored things: plain dataclasses, free of PynamoDB."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    created_at: dt.datetime


@dataclass(frozen=True)
class ApiKey:
    id: str
    key_hash: str
    workspace_id: str
    mode: str
    name: str
    prefix: str
    last_four: str
    created_at: dt.datetime
    expires_at: dt.datetime | None = None
    replaced_by: str | None = None

    def usable_at(self, moment: dt.datetime) -> bool:
        return self.expires_at is None or moment < self.expires_at


@dataclass(frozen=True)
class Integration:
    id: str
    workspace_id: str
    mode: str
    platform: str
    username: str
    display_name: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    sandbox: bool = False
    avatar_url: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)

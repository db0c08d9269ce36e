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


@dataclass(frozen=True)
class Webhook:
    """A webhook endpoint. Its secrets are held sealed (chalicelib/data/secrets.py); the previous
    one keeps signing until ``previous_secret_until`` after a rotation."""

    id: str
    workspace_id: str
    mode: str
    url: str
    events: tuple[str, ...]
    description: str
    enabled: bool
    sealed_secret: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = 1
    sealed_previous_secret: str | None = None
    previous_secret_until: dt.datetime | None = None
    disabled_reason: str | None = None
    failing_since: dt.datetime | None = None


@dataclass(frozen=True)
class Delivery:
    """One event on its way to one endpoint, and every attempt at it (``history``, oldest first)."""

    id: str
    workspace_id: str
    mode: str
    webhook_id: str
    event_id: str
    event_type: str
    body: str
    status: str  # pending | sending | succeeded | failed
    attempts: int
    created_at: dt.datetime
    updated_at: dt.datetime
    history: tuple[dict[str, Any], ...] = ()
    next_attempt_at: dt.datetime | None = None
    lease_until: dt.datetime | None = None

"""Integrations: the accounts a workspace posts to."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable
from typing import Any

from chalicelib.clock import Clock
from chalicelib.domain.principal import Principal
from chalicelib.domain.records import Integration
from chalicelib.ids import uuid7
from chalicelib.platforms import registry

STATUSES = ("active", "needs_refresh", "disconnected")
# Listed by default: everything still connected, including accounts that need the user's attention.
CONNECTED = frozenset({"active", "needs_refresh"})

# A test-mode world starts with one account on every platform, served by the sandbox adapter, so
# a user can rehearse any post (including the platforms whose live adapters are still pending)
# without touching a real account.
SANDBOX_ACCOUNTS = tuple(
    (item.name, item.sandbox.username, item.sandbox.display_name) for item in registry.descriptors()
)


def sandbox_integrations(workspace_id: str, now: dt.datetime, clock: Clock) -> list[Integration]:
    return [
        Integration(
            id=uuid7(clock),
            workspace_id=workspace_id,
            mode="test",
            platform=platform,
            username=username,
            display_name=display_name,
            status="active",
            created_at=now,
            updated_at=now,
            sandbox=True,
        )
        for platform, username, display_name in SANDBOX_ACCOUNTS
    ]


class IntegrationService:
    def __init__(self, store, credentials: Callable[[], Any], events: Callable[[], Any], clock: Clock):
        self._store = store
        # The sealed-credentials store and the events queue, built when first used: listing or
        # reading integrations (most requests) needs neither, nor the modules behind them.
        self._credentials_of = credentials
        self._events_of = events
        self._clock = clock

    @property
    def _credentials(self):
        return self._credentials_of()

    @property
    def _events(self):
        return self._events_of()

    def connect(
        self,
        principal: Principal,
        platform: str,
        account_id: str,
        username: str,
        display_name: str,
        credentials: dict,
        profile: dict | None = None,
        avatar_url: str | None = None,
    ) -> Integration:
        """Create the integration for this platform account, or, when the account is already
        connected (even disconnected since), bring the same integration back with the new
        credentials: a reconnect keeps its id, and never loses what it had."""
        from chalicelib.errors import ValidationError

        if principal.mode != "live":
            raise ValidationError(
                "Connect accounts with a live key: test mode publishes to sandbox accounts only "
                "and never reaches a platform.",
                code="live_mode_required",
            )
        profile = {**(profile or {}), "account_id": account_id}
        now = self._clock.now()
        existing = next(
            (
                item
                for item in self._store.list(principal.workspace_id, principal.mode)
                if item.platform == platform and item.profile.get("account_id") == account_id
            ),
            None,
        )
        integration = Integration(
            id=existing.id if existing else uuid7(self._clock),
            workspace_id=principal.workspace_id,
            mode=principal.mode,
            platform=platform,
            username=username,
            display_name=display_name,
            status="active",
            created_at=existing.created_at if existing else now,
            updated_at=now,
            sandbox=False,
            avatar_url=avatar_url,
            profile=profile,
        )
        sealed = self._credentials.seal(principal.workspace_id, principal.mode, integration.id, credentials)
        previous_version = None
        if existing:
            _, previous_version = self._credentials.load(principal.workspace_id, principal.mode, existing.id)
        self._store.upsert(integration, sealed, previous_version)
        return integration

    def disconnect(self, principal: Principal, integration_id: str) -> Integration:
        """Mark the account disconnected, erase its credentials, and say so (integration.disconnected).
        Scheduled posts on it fail when their time comes unless it is reconnected first."""
        from chalicelib.clock import format_timestamp

        integration = self.get(principal, integration_id)
        if integration.status != "disconnected":
            self._store.set_status(
                principal.workspace_id, principal.mode, integration_id, "disconnected", now=self._clock.now()
            )
            _, version = self._credentials.load(principal.workspace_id, principal.mode, integration_id)
            self._credentials.save(principal.workspace_id, principal.mode, integration_id, None, version)
            now = self._clock.now()
            self._events.send(
                {
                    "id": f"evt_{integration_id}_disconnected_{int(now.timestamp())}",
                    "type": "integration.disconnected",
                    "created_at": format_timestamp(now),
                    "workspace_id": principal.workspace_id,
                    "mode": principal.mode,
                    "data": {
                        "integration_id": integration_id,
                        "platform": integration.platform,
                        "username": integration.username,
                    },
                }
            )
        return self.get(principal, integration_id)

    def list(self, principal: Principal, status: str | None = None) -> builtins.list[Integration]:
        wanted = {status} if status else CONNECTED
        return self._store.list(principal.workspace_id, principal.mode, wanted)

    def get(self, principal: Principal, integration_id: str) -> Integration:
        return self._store.get(principal.workspace_id, principal.mode, integration_id)

    def reconnect_sandbox(self, principal: Principal, integration_id: str) -> Integration:
        """Bring a sandbox account back after a scripted failure (``[sandbox:auth]``) left it needing
        a refresh: what reconnecting does for a live account, so a test world can recover too."""
        integration = self.get(principal, integration_id)
        if not integration.sandbox:
            from chalicelib.errors import ValidationError

            raise ValidationError(
                "Only a sandbox account reconnects here. Connect a live account again "
                "through its platform's connect route; it keeps this integration id.",
                code="not_a_sandbox_account",
            )
        if integration.status != "active":
            self._store.set_status(principal.workspace_id, principal.mode, integration_id, "active")
        return self.get(principal, integration_id)


class IntegrationCache:
    """A workspace's integrations, remembered per container for at most ``seconds``.

    Posts resolve their targets on every write; caching saves that read. A cached list can miss an
    account connected moments ago in another container, so callers ask again with ``fresh=True``
    before refusing a post for want of one; a status that changed elsewhere (a disconnect) is caught
    again by the publisher, which reads the integration when it publishes."""

    def __init__(self, store, clock, seconds: int = 60):
        self._store = store
        self._clock = clock
        self._seconds = seconds
        self._entries: dict = {}

    def list(self, workspace_id: str, mode: str, fresh: bool = False) -> builtins.list[Integration]:
        key = (workspace_id, mode)
        now = self._clock.now()
        entry = self._entries.get(key)
        if not fresh and entry is not None and dt.timedelta(0) <= now - entry[1] < dt.timedelta(seconds=self._seconds):
            return entry[0]
        items = self._store.list(workspace_id, mode)
        if len(self._entries) > 256:
            self._entries.clear()
        self._entries[key] = (items, now)
        return items

"""Workspaces: created with a test key, a live key and a sandboxed test world, all at once."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.clock import Clock
from chalicelib.domain.api_keys import ApiKeyService
from chalicelib.domain.integrations import sandbox_integrations
from chalicelib.domain.records import Workspace
from chalicelib.ids import uuid7


@dataclass(frozen=True)
class NewWorkspace:
    workspace: Workspace
    test_key: str  # secrets: shown once, never stored
    live_key: str


class WorkspaceService:
    def __init__(self, store, api_keys: ApiKeyService, clock: Clock):
        self._store = store
        self._api_keys = api_keys
        self._clock = clock

    def reachable(self) -> None:
        """The workspaces table answers a read (the health check); ServiceUnavailableError if not."""
        self._store.reachable()

    def create(self, name: str) -> NewWorkspace:
        now = self._clock.now()
        workspace = Workspace(id=uuid7(self._clock), name=name, created_at=now)
        test_key, test_secret = self._api_keys.build(workspace.id, "test", "Default test key")
        live_key, live_secret = self._api_keys.build(workspace.id, "live", "Default live key")
        self._store.create(workspace, [test_key, live_key], sandbox_integrations(workspace.id, now, self._clock))
        return NewWorkspace(workspace=workspace, test_key=test_secret, live_key=live_secret)

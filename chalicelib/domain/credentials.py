"""What an adapter holds for its account: the current credentials, and a safe way to replace them."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import ConflictError


class AccountCredentials:
    def __init__(self, store, workspace_id: str, mode: str, integration_id: str):
        self._store = store
        self._where = (workspace_id, mode, integration_id)
        self._value: dict[str, Any] | None = None
        self._version = 0

    @property
    def value(self) -> dict[str, Any]:
        if self._value is None:
            # The first load may take what the publisher's read of the integration just found.
            self._value, self._version = self._store.load(*self._where, reuse_read=True)
        return self._value

    def reload(self) -> dict[str, Any]:
        """Read the stored credentials again (another worker may have rotated them)."""
        self._value, self._version = self._store.load(*self._where)
        return self._value

    def replace(self, new: dict[str, Any]) -> dict[str, Any]:
        """Store refreshed credentials. If another worker refreshed first, its credentials win and
        are returned (a refresh token may be used only once: the newest must never be lost)."""
        self.value  # noqa: B018 - make sure the version we replace is known
        try:
            self._version = self._store.save(*self._where, new, self._version)
            self._value = dict(new)
        except ConflictError:
            self._value, self._version = self._store.load(*self._where)
        return self._value

"""Platform credentials (tokens, app passwords, sessions), sealed with KMS on the integration record.

A save names the version it replaces: two workers refreshing the same token at once cannot both
win, and the loser reads the winner's tokens instead of overwriting them with stale ones. This is
what keeps a rotating refresh token (X) from being lost.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.data.errors import is_condition_failure
from chalicelib.data.integrations import read_record
from chalicelib.data.models import IntegrationRecord, scope_of
from chalicelib.data.secrets import SecretBox
from chalicelib.errors import ConflictError

OPENED_KEPT = 256  # opened credentials a container keeps, newest used last


class SealedCredentialsCache:
    """What a container keeps of sealed credentials, so a publish costs one read of the integration
    and no KMS call once the container has opened that version.

    - The integration read just made (consistent) offers its sealed credentials and their version
      to the credential load that follows in the same thread, instead of a second read of the same
      item. An offer is taken once; a reload (another worker may have rotated the tokens) reads again.
    - Opened credentials are kept by integration, version and ciphertext: a refresh or a disconnect
      elsewhere writes a new version (every save checks the version it replaces), so a kept value is
      never used for a version other than the one just read."""

    def __init__(self, kept: int = OPENED_KEPT):
        self._offers = threading.local()
        self._opened: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self._kept = kept
        self._lock = threading.Lock()

    def offer(self, scope: str, integration_id: str, sealed: str | None, version: int) -> None:
        offers = getattr(self._offers, "by_integration", None)
        if offers is None:
            offers = self._offers.by_integration = {}
        offers[(scope, integration_id)] = (sealed, version)

    def take(self, scope: str, integration_id: str) -> tuple[str | None, int] | None:
        offers = getattr(self._offers, "by_integration", None) or {}
        return offers.pop((scope, integration_id), None)

    @staticmethod
    def _key(scope: str, integration_id: str, sealed: str, version: int) -> tuple:
        return (scope, integration_id, version, hashlib.sha256(sealed.encode()).hexdigest())

    def opened(self, scope: str, integration_id: str, sealed: str, version: int) -> dict[str, Any] | None:
        key = self._key(scope, integration_id, sealed, version)
        with self._lock:
            value = self._opened.get(key)
            if value is not None:
                self._opened.move_to_end(key)
        return json.loads(json.dumps(value)) if value is not None else None  # a copy the caller may change

    def keep(self, scope: str, integration_id: str, sealed: str, version: int, value: dict[str, Any]) -> None:
        key = self._key(scope, integration_id, sealed, version)
        with self._lock:
            self._opened[key] = json.loads(json.dumps(value))
            while len(self._opened) > self._kept:
                self._opened.popitem(last=False)


class CredentialStore:
    def __init__(self, box: SecretBox, cache: SealedCredentialsCache | None = None):
        self._box = box
        self._cache = cache or SealedCredentialsCache()

    @staticmethod
    def _context(workspace_id: str, mode: str, integration_id: str) -> dict[str, str]:
        return {
            "purpose": "platform-credentials",
            "scope": scope_of(workspace_id, mode),
            "integration_id": integration_id,
        }

    def load(
        self, workspace_id: str, mode: str, integration_id: str, reuse_read: bool = False
    ) -> tuple[dict[str, Any], int]:
        """The credentials and their version ({} and 0 when none are stored). With ``reuse_read``,
        what the integration read just before in this thread offered, if it did, instead of reading
        the item again."""
        scope = scope_of(workspace_id, mode)
        offered = self._cache.take(scope, integration_id) if reuse_read else None
        if offered is not None:
            sealed, version = offered
        else:
            record = read_record(scope, integration_id, consistent_read=True)
            sealed, version = record.credentials, int(record.credentials_version or 0)
        if not sealed:
            return {}, version
        value = self._cache.opened(scope, integration_id, sealed, version)
        if value is None:
            value = json.loads(self._box.open(sealed, self._context(workspace_id, mode, integration_id)))
            self._cache.keep(scope, integration_id, sealed, version, value)
        return value, version

    def seal(self, workspace_id: str, mode: str, integration_id: str, credentials: dict[str, Any]) -> str:
        return self._box.seal(json.dumps(credentials).encode(), self._context(workspace_id, mode, integration_id))

    def save(
        self,
        workspace_id: str,
        mode: str,
        integration_id: str,
        credentials: dict[str, Any] | None,
        expected_version: int,
    ) -> int:
        """Replace the credentials if they are still at ``expected_version``; returns the new version.
        ``None`` erases them (a disconnect)."""
        sealed = None if credentials is None else self.seal(workspace_id, mode, integration_id, credentials)
        record = IntegrationRecord(scope=scope_of(workspace_id, mode), id=integration_id)
        condition = IntegrationRecord.id.exists() & (
            IntegrationRecord.credentials_version == expected_version
            if expected_version
            else IntegrationRecord.credentials_version.does_not_exist() | (IntegrationRecord.credentials_version == 0)
        )
        actions = [IntegrationRecord.credentials_version.set(expected_version + 1)]
        actions.append(IntegrationRecord.credentials.set(sealed) if sealed else IntegrationRecord.credentials.remove())
        try:
            record.update(actions=actions, condition=condition)
        except UpdateError as error:
            if is_condition_failure(error):
                raise ConflictError("The credentials changed meanwhile.", code="credentials_changed") from error
            raise
        return expected_version + 1

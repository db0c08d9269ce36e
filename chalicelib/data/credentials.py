"""Platform credentials (tokens, app passwords, sessions), sealed with KMS on the integration record.

A save names the version it replaces: two workers refreshing the same token at once cannot both
win, and the loser reads the winner's tokens instead of overwriting them with stale ones. This is
what keeps a rotating refresh token (X) from being lost.
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.data.errors import is_condition_failure
from chalicelib.data.models import IntegrationRecord, scope_of
from chalicelib.data.secrets import SecretBox
from chalicelib.errors import ConflictError, NotFoundError


class CredentialStore:
    def __init__(self, box: SecretBox):
        self._box = box

    @staticmethod
    def _context(workspace_id: str, mode: str, integration_id: str) -> dict[str, str]:
        return {
            "purpose": "platform-credentials",
            "scope": scope_of(workspace_id, mode),
            "integration_id": integration_id,
        }

    def load(self, workspace_id: str, mode: str, integration_id: str) -> tuple[dict[str, Any], int]:
        """The credentials and their version ({} and 0 when none are stored)."""
        try:
            record = IntegrationRecord.get(scope_of(workspace_id, mode), integration_id, consistent_read=True)
        except IntegrationRecord.DoesNotExist as exc:
            raise NotFoundError(
                f"No integration {integration_id} in this workspace.", code="integration_not_found"
            ) from exc
        if not record.credentials:
            return {}, int(record.credentials_version or 0)
        plain = self._box.open(record.credentials, self._context(workspace_id, mode, integration_id))
        return json.loads(plain), int(record.credentials_version or 0)

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

"""Connections started and not yet finished (OAuth state and PKCE verifier), each usable once."""

from __future__ import annotations

import hashlib

from pynamodb.exceptions import DeleteError

from chalicelib.data.errors import is_condition_failure
from chalicelib.data.models import OAuthStateRecord
from chalicelib.domain.principal import Principal


class PendingConnects:
    def __init__(self, secret_box, clock, platform: str, lifetime_seconds: int):
        self._box = secret_box
        self._clock = clock
        self._platform = platform
        self._lifetime = lifetime_seconds

    def _hash(self, state: str) -> str:
        return f"{self._platform}#{hashlib.sha256(state.encode()).hexdigest()}"

    def _context(self, state: str) -> dict:
        return {
            "purpose": "oauth-code-verifier",
            "platform": self._platform,
            "state_hash": hashlib.sha256(state.encode()).hexdigest(),
        }

    def start(self, principal: Principal, state: str, verifier: str) -> None:
        OAuthStateRecord(
            state_hash=self._hash(state),
            workspace_id=principal.workspace_id,
            mode=principal.mode,
            key_id=principal.key_id,
            verifier=self._box.seal(verifier.encode(), self._context(state)),
            expires_at=int(self._clock.now().timestamp()) + self._lifetime,
        ).save(OAuthStateRecord.state_hash.does_not_exist())

    def take(self, state: str) -> tuple[Principal, str] | None:
        """(principal, verifier) for a state still within its lifetime, once: the record is deleted on
        reading, on condition it still exists, so of two callbacks with one state only one wins."""
        if not state or len(state) > 500:
            return None
        try:
            record = OAuthStateRecord.get(self._hash(state), consistent_read=True)
        except OAuthStateRecord.DoesNotExist:
            return None
        try:
            record.delete(OAuthStateRecord.state_hash.exists())
        except DeleteError as error:
            if is_condition_failure(error):
                return None
            raise
        if record.expires_at < self._clock.now().timestamp():
            return None
        verifier = self._box.open(record.verifier, self._context(state)).decode()
        return Principal(workspace_id=record.workspace_id, mode=record.mode, key_id=record.key_id), verifier

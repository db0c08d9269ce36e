"""API keys: issue, authenticate, list, revoke, rotate.

A key is ``op_{mode}_sk_`` plus 40 random base62 characters (about 238 bits). Only its SHA-256 is
stored; with that much entropy a fast hash is the right one (there is nothing to brute-force).
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import re
import secrets
import string
import threading
from collections import OrderedDict

from chalicelib.clock import Clock
from chalicelib.domain.principal import MODES, Principal
from chalicelib.domain.records import ApiKey
from chalicelib.errors import AuthenticationError, ConflictError
from chalicelib.ids import uuid7

ROTATION_OVERLAP = dt.timedelta(hours=24)
_ALPHABET = string.ascii_letters + string.digits
_SECRET_LENGTH = 40
_KEY_PATTERN = re.compile(rf"^op_(test|live)_sk_[A-Za-z0-9]{{{_SECRET_LENGTH}}}$")
_CACHE_ENTRIES = 1024


def new_secret(mode: str) -> str:
    return f"op_{mode}_sk_" + "".join(secrets.choice(_ALPHABET) for _ in range(_SECRET_LENGTH))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyService:
    def __init__(self, store, clock: Clock, cache_seconds: int = 60):
        self._store = store
        self._clock = clock
        self._cache_seconds = cache_seconds
        # key hash -> (key, when fetched). Bounded, and only ever holds keys that exist. A key revoked
        # through another container keeps working here until its entry is cache_seconds old.
        self._cache: OrderedDict[str, tuple[ApiKey, dt.datetime]] = OrderedDict()
        self._lock = threading.Lock()

    # --- issuing -------------------------------------------------------------------------------
    def build(self, workspace_id: str, mode: str, name: str) -> tuple[ApiKey, str]:
        """A new key and its secret, not yet stored (callers store it alone or in a transaction)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        secret = new_secret(mode)
        key = ApiKey(
            id=uuid7(self._clock),
            key_hash=hash_secret(secret),
            workspace_id=workspace_id,
            mode=mode,
            name=name,
            prefix=secret[: len(f"op_{mode}_sk_") + 4],
            last_four=secret[-4:],
            created_at=self._clock.now(),
        )
        return key, secret

    def create(self, principal: Principal, name: str) -> tuple[ApiKey, str]:
        key, secret = self.build(principal.workspace_id, principal.mode, name)
        self._store.create(key)
        return key, secret

    # --- authenticating ------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise AuthenticationError(
                "Send your API key as 'Authorization: Bearer op_..._sk_...'.", code="missing_api_key"
            )
        scheme, _, secret = authorization.strip().partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not _KEY_PATTERN.match(secret):
            raise AuthenticationError(
                "The Authorization header is not 'Bearer' followed by an openpost API key.", code="malformed_api_key"
            )
        key = self._lookup(hash_secret(secret))
        if key is None:
            raise AuthenticationError(
                "This API key is not valid: it was never issued or has been revoked.", code="invalid_api_key"
            )
        if not key.usable_at(self._clock.now()):
            raise AuthenticationError(
                "This API key was rotated and its 24-hour overlap has ended; use its replacement.",
                code="expired_api_key",
            )
        return Principal(workspace_id=key.workspace_id, mode=key.mode, key_id=key.id)

    def _lookup(self, key_hash: str) -> ApiKey | None:
        now = self._clock.now()
        with self._lock:
            cached = self._cache.get(key_hash)
            if cached is not None and dt.timedelta(0) <= now - cached[1] < dt.timedelta(seconds=self._cache_seconds):
                return cached[0]
        key = self._store.find_by_hash(key_hash)
        with self._lock:
            if key is None:
                self._cache.pop(key_hash, None)
            else:
                self._cache[key_hash] = (key, now)
                self._cache.move_to_end(key_hash)
                while len(self._cache) > _CACHE_ENTRIES:
                    self._cache.popitem(last=False)
        return key

    def _forget(self, key_hash: str) -> None:
        with self._lock:
            self._cache.pop(key_hash, None)

    # --- managing ------------------------------------------------------------------------------
    def list(self, principal: Principal) -> builtins.list[ApiKey]:
        return sorted(self._store.list(principal.workspace_id, principal.mode), key=lambda k: k.id, reverse=True)

    def get(self, principal: Principal, key_id: str) -> ApiKey:
        return self._store.get(principal.workspace_id, principal.mode, key_id)

    def revoke(self, principal: Principal, key_id: str) -> None:
        key = self.get(principal, key_id)
        self._store.delete(key)
        self._forget(key.key_hash)

    def rotate(self, principal: Principal, key_id: str) -> tuple[ApiKey, ApiKey, str]:
        """Issue a replacement; the old key keeps working for 24 hours. Returns (old, new, secret)."""
        old = self.get(principal, key_id)
        if old.expires_at is not None:
            raise ConflictError(
                "This API key has already been rotated; rotate its replacement instead.", code="api_key_already_rotated"
            )
        new, secret = self.build(old.workspace_id, old.mode, old.name)
        expires_at = self._clock.now() + ROTATION_OVERLAP
        self._store.rotate(old, new, expires_at)
        self._forget(old.key_hash)
        return self.get(principal, key_id), new, secret

"""API keys in DynamoDB: found by the hash of the secret, listed per workspace and mode."""

from __future__ import annotations

import builtins
import datetime as dt

from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from chalicelib.data.errors import conflict_on_condition
from chalicelib.data.models import ApiKeyRecord, scope_of
from chalicelib.domain.records import ApiKey
from chalicelib.errors import NotFoundError

# An expired key's record stays this long after it stopped working (so it answers "expired", not
# "unknown"), then DynamoDB's TTL removes it.
PURGE_AFTER = dt.timedelta(days=30)


def _to_domain(record: ApiKeyRecord) -> ApiKey:
    return ApiKey(
        id=record.id,
        key_hash=record.key_hash,
        workspace_id=record.workspace_id,
        mode=record.mode,
        name=record.name,
        prefix=record.prefix,
        last_four=record.last_four,
        created_at=record.created_at,
        expires_at=record.expires_at,
        replaced_by=record.replaced_by,
    )


def to_record(key: ApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_hash=key.key_hash,
        id=key.id,
        scope=scope_of(key.workspace_id, key.mode),
        workspace_id=key.workspace_id,
        mode=key.mode,
        name=key.name,
        prefix=key.prefix,
        last_four=key.last_four,
        created_at=key.created_at,
        expires_at=key.expires_at,
    )


class ApiKeyStore:
    def __init__(self, connection_factory=Connection):
        self._connection_factory = connection_factory

    def find_by_hash(self, key_hash: str) -> ApiKey | None:
        try:
            return _to_domain(ApiKeyRecord.get(key_hash, consistent_read=True))
        except ApiKeyRecord.DoesNotExist:
            return None

    def list(self, workspace_id: str, mode: str) -> builtins.list[ApiKey]:
        return [_to_domain(r) for r in ApiKeyRecord.by_scope.query(scope_of(workspace_id, mode))]

    def get(self, workspace_id: str, mode: str, key_id: str) -> ApiKey:
        for record in ApiKeyRecord.by_scope.query(scope_of(workspace_id, mode), ApiKeyRecord.id == key_id):
            return _to_domain(record)
        raise NotFoundError(f"No API key {key_id} in this workspace.", code="api_key_not_found")

    def create(self, key: ApiKey) -> None:
        with conflict_on_condition("An API key with this secret already exists."):
            to_record(key).save(ApiKeyRecord.key_hash.does_not_exist())

    def delete(self, key: ApiKey) -> None:
        with conflict_on_condition("The API key was already deleted.", code="api_key_not_found"):
            ApiKeyRecord(key_hash=key.key_hash).delete(ApiKeyRecord.key_hash.exists())

    def rotate(self, old: ApiKey, new: ApiKey, old_expires_at: dt.datetime) -> None:
        """Create ``new`` and give ``old`` its expiry, together or not at all; a key rotates once."""
        with conflict_on_condition(
            "This API key has already been rotated; rotate its replacement instead.", code="api_key_already_rotated"
        ):
            with TransactWrite(
                connection=self._connection_factory(region=ApiKeyRecord.Meta.region, host=ApiKeyRecord.Meta.host)
            ) as transaction:
                transaction.save(to_record(new), condition=ApiKeyRecord.key_hash.does_not_exist())
                transaction.update(
                    ApiKeyRecord(key_hash=old.key_hash),
                    actions=[
                        ApiKeyRecord.expires_at.set(old_expires_at),
                        ApiKeyRecord.replaced_by.set(new.id),
                        ApiKeyRecord.purge_at.set(int((old_expires_at + PURGE_AFTER).timestamp())),
                    ],
                    condition=ApiKeyRecord.key_hash.exists() & ApiKeyRecord.expires_at.does_not_exist(),
                )

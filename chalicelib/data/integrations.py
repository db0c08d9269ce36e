"""Integrations (connected accounts) in DynamoDB, one partition per workspace and mode."""

from __future__ import annotations

import builtins
import datetime as dt
from typing import TYPE_CHECKING

from chalicelib.data.errors import conflict_on_condition
from chalicelib.data.models import IntegrationRecord, PostRecord, scope_of
from chalicelib.domain.records import Integration
from chalicelib.errors import NotFoundError

if TYPE_CHECKING:
    from chalicelib.domain.posts import Post


def _to_domain(record: IntegrationRecord) -> Integration:
    workspace_id, mode = record.scope.rsplit("#", 1)
    return Integration(
        id=record.id,
        workspace_id=workspace_id,
        mode=mode,
        platform=record.platform,
        username=record.username,
        display_name=record.display_name,
        status=record.status,
        created_at=record.created_at,
        updated_at=record.updated_at,
        sandbox=record.sandbox,
        avatar_url=record.avatar_url,
        profile=dict(record.profile.as_dict() if record.profile else {}),
    )


def to_record(integration: Integration) -> IntegrationRecord:
    return IntegrationRecord(
        scope=scope_of(integration.workspace_id, integration.mode),
        id=integration.id,
        platform=integration.platform,
        username=integration.username,
        display_name=integration.display_name,
        status=integration.status,
        sandbox=integration.sandbox,
        avatar_url=integration.avatar_url,
        profile=integration.profile,
        created_at=integration.created_at,
        updated_at=integration.updated_at,
    )


def read_record(scope: str, integration_id: str, consistent_read: bool = False) -> IntegrationRecord:
    """The integration's item, or the API's 404 for an id this workspace does not have."""
    try:
        return IntegrationRecord.get(scope, integration_id, consistent_read=consistent_read)
    except IntegrationRecord.DoesNotExist as exc:
        missing = f"No integration {integration_id} in this workspace."
        raise NotFoundError(missing, code="integration_not_found") from exc


class IntegrationStore:
    def __init__(self, credentials_cache=None):
        # The container's SealedCredentialsCache (chalicelib/data/credentials.py), shared with its
        # CredentialStore: a publish's read of the integration then serves its credentials too.
        self._credentials_cache = credentials_cache

    def upsert(self, integration: Integration, sealed_credentials: str, replaces_version: int | None) -> None:
        """Write the integration with its sealed credentials, on a condition: a new one
        (``replaces_version`` None) only if its id is free; an existing one only if its credentials
        are still at ``replaces_version``. A connect racing another connect of the same account, or
        a token refresh, gets ConflictError (409 ``integration_changed``) instead of overwriting it."""
        record = to_record(integration)
        record.credentials = sealed_credentials
        record.credentials_version = (replaces_version or 0) + 1
        if replaces_version is None:
            condition = IntegrationRecord.id.does_not_exist()
        elif replaces_version:
            condition = IntegrationRecord.id.exists() & (IntegrationRecord.credentials_version == replaces_version)
        else:
            condition = IntegrationRecord.id.exists() & (
                IntegrationRecord.credentials_version.does_not_exist() | (IntegrationRecord.credentials_version == 0)
            )
        with conflict_on_condition(
            "This account changed while it was being connected (connected again, or its "
            "tokens refreshed); connect it again.",
            code="integration_changed",
        ):
            record.save(condition=condition)

    def list(self, workspace_id: str, mode: str, statuses: set | None = None) -> builtins.list[Integration]:
        records = IntegrationRecord.query(scope_of(workspace_id, mode))
        found = [_to_domain(record) for record in records]
        return [item for item in found if statuses is None or item.status in statuses]

    def get(self, workspace_id: str, mode: str, integration_id: str) -> Integration:
        return _to_domain(read_record(scope_of(workspace_id, mode), integration_id))

    def get_for_publishing(self, workspace_id: str, mode: str, integration_id: str) -> Integration:
        """The integration as it stands now (a consistent read: a disconnect or refresh just made
        is seen). Its sealed credentials and their version are offered to the credential load that
        follows in this thread, which then needs no second read of the item."""
        return self._for_publishing(read_record(scope_of(workspace_id, mode), integration_id, consistent_read=True))

    def get_for_publishing_with_post(
        self, workspace_id: str, mode: str, integration_id: str, post_id: str
    ) -> tuple[Post | None, Integration | None]:
        """The post and the integration its target publishes to, both as they stand now, in one
        strongly consistent BatchGetItem (one call instead of two GetItems, the same read units):
        what ``PostStore.get`` and ``get_for_publishing`` give (the credentials offered the same way),
        or None for an item that is not there."""
        from chalicelib.data.batch_get import get_items
        from chalicelib.data.posts import post_from_record

        scope = scope_of(workspace_id, mode)
        post, integration = get_items([(PostRecord, scope, post_id), (IntegrationRecord, scope, integration_id)])
        return (
            post_from_record(post) if post is not None else None,
            self._for_publishing(integration) if integration is not None else None,
        )

    def _for_publishing(self, record: IntegrationRecord) -> Integration:
        if self._credentials_cache is not None:
            self._credentials_cache.offer(
                record.scope, record.id, record.credentials, int(record.credentials_version or 0)
            )
        return _to_domain(record)

    def withdraw_offer(self, workspace_id: str, mode: str, integration_id: str) -> None:
        """Drop what get_for_publishing offered if nothing took it (the publish ended before its
        adapter needed credentials), so no later load in this thread takes an old read."""
        if self._credentials_cache is not None:
            self._credentials_cache.take(scope_of(workspace_id, mode), integration_id)

    def set_status(
        self, workspace_id: str, mode: str, integration_id: str, status: str, now: dt.datetime | None = None
    ) -> None:
        """``now`` is the caller's clock (the domain's, so a test's clock is obeyed); the system's
        when none is given."""
        if now is None:
            from chalicelib.clock import SystemClock

            now = SystemClock().now()
        record = IntegrationRecord(scope=scope_of(workspace_id, mode), id=integration_id)
        try:
            record.update(
                actions=[IntegrationRecord.status.set(status), IntegrationRecord.updated_at.set(now)],
                condition=IntegrationRecord.id.exists(),
            )
        except Exception as error:  # noqa: BLE001 - a vanished integration has no status to set
            if "ConditionalCheckFailed" not in str(error):
                raise

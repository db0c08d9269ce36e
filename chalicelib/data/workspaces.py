"""Workspaces in DynamoDB. A new workspace is written whole, with its keys and starting integrations."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from chalicelib.data import api_keys, integrations
from chalicelib.data.errors import conflict_on_condition
from chalicelib.data.models import ApiKeyRecord, IntegrationRecord, WorkspaceRecord
from chalicelib.domain.records import ApiKey, Integration, Workspace


class WorkspaceStore:
    def __init__(self, connection_factory=Connection):
        self._connection_factory = connection_factory

    def create(self, workspace: Workspace, keys: Iterable[ApiKey], starting: Iterable[Integration]) -> None:
        """One transaction: a workspace never exists without its keys, nor keys without it."""
        with conflict_on_condition(f"Workspace {workspace.id} already exists."):
            with TransactWrite(
                connection=self._connection_factory(region=WorkspaceRecord.Meta.region, host=WorkspaceRecord.Meta.host)
            ) as transaction:
                transaction.save(
                    WorkspaceRecord(id=workspace.id, name=workspace.name, created_at=workspace.created_at),
                    condition=WorkspaceRecord.id.does_not_exist(),
                )
                for key in keys:
                    transaction.save(api_keys.to_record(key), condition=ApiKeyRecord.key_hash.does_not_exist())
                for integration in starting:
                    transaction.save(
                        integrations.to_record(integration), condition=IntegrationRecord.id.does_not_exist()
                    )

    def exists(self, workspace_id: str) -> bool:
        try:
            WorkspaceRecord.get(workspace_id)
        except WorkspaceRecord.DoesNotExist:
            return False
        return True

    def reachable(self) -> None:
        """One read of a key no workspace has (half a read unit), for the health check;
        ServiceUnavailableError when the table does not answer."""
        from chalicelib.errors import ServiceUnavailableError

        try:
            self.exists("health-check")
        except Exception as error:  # noqa: BLE001 - whatever failed, the answer is "not reachable"
            raise ServiceUnavailableError("The API's table is not reachable.") from error

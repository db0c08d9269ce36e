"""Rate limit counters and the workspace overrides of rate limits, in DynamoDB.

A request is counted by one UpdateItem on one item: ADD 1 to the counter of each policy that
applies, on the condition that every one of them is below its quota. Refused requests change
nothing, so a counter never passes its quota. The item is written with the low-level client because
its attribute names ("{policy}@{window start}") are not known in advance, and because PynamoDB
cannot ask for the item as it was when the condition failed, which says which policy is spent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from chalicelib.data.clients import LazyClient
from chalicelib.data.errors import conflict_on_condition
from chalicelib.data.models import RateLimitCounterRecord, WorkspaceRecord
from chalicelib.errors import NotFoundError, ServiceUnavailableError


@dataclass(frozen=True)
class Counted:
    admitted: bool
    # Counter name -> its count in this item: after this request when admitted, as found when refused.
    counts: dict[str, int]


class RateLimitCounters:
    def __init__(self, client_factory: Callable[[], object]):
        self._client = LazyClient(client_factory)

    @property
    def client(self):
        return self._client.client

    def count(self, item_id: str, quotas: Mapping[str, int], stale: Iterable[str], expires_at: int) -> Counted:
        """Add one to each counter in ``quotas`` if every one is below its quota; remove the
        ``stale`` counters (earlier windows) in the same write. ServiceUnavailableError when
        DynamoDB cannot be reached or refuses the call."""
        names = {"#expires": "expires_at"}
        values = {":one": {"N": "1"}, ":expires": {"N": str(expires_at)}}
        adds, conditions, removes = [], [], []
        for index, (counter, quota) in enumerate(quotas.items()):
            names[f"#c{index}"] = counter
            values[f":q{index}"] = {"N": str(quota)}
            adds.append(f"#c{index} :one")
            conditions.append(f"(attribute_not_exists(#c{index}) OR #c{index} < :q{index})")
        for index, counter in enumerate(name for name in stale if name not in quotas):
            names[f"#s{index}"] = counter
            removes.append(f"#s{index}")
        expression = f"ADD {', '.join(adds)} SET #expires = :expires"
        if removes:
            expression += f" REMOVE {', '.join(removes)}"
        try:
            answer = self.client.update_item(
                TableName=RateLimitCounterRecord.Meta.table_name,
                Key={"id": {"S": item_id}},
                UpdateExpression=expression,
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return Counted(admitted=False, counts=_counts(error.response.get("Item") or {}, quotas))
            raise ServiceUnavailableError("The rate limit counters could not be updated.") from error
        except BotoCoreError as error:
            raise ServiceUnavailableError("The rate limit counters could not be reached.") from error
        return Counted(admitted=True, counts=_counts(answer.get("Attributes") or {}, quotas))


def _counts(item: Mapping[str, Mapping[str, str]], counters: Iterable[str]) -> dict[str, int]:
    return {counter: int(item[counter]["N"]) if counter in item else 0 for counter in counters}


class RateLimitOverrides:
    """A workspace's own quotas and windows, kept on its record."""

    def get(self, workspace_id: str) -> dict[str, dict[str, int]]:
        try:
            record = WorkspaceRecord.get(workspace_id, attributes_to_get=["id", "rate_limits"])
        except WorkspaceRecord.DoesNotExist:
            return {}
        except PynamoDBException as error:
            raise ServiceUnavailableError("The workspace's rate limits could not be read.") from error
        return dict(record.rate_limits or {})

    def set(self, workspace_id: str, policy: str, limit: Mapping[str, int] | None) -> dict[str, dict[str, int]]:
        """Set (or with None, drop) one policy's override; the workspace's overrides after it.
        The write is conditional on the overrides read, so two operators never undo each other."""
        try:
            record = WorkspaceRecord.get(workspace_id, consistent_read=True)
        except WorkspaceRecord.DoesNotExist as exc:
            raise NotFoundError(f"No workspace has the id {workspace_id}.") from exc
        before = record.rate_limits
        after = {name: dict(value) for name, value in (before or {}).items() if name != policy}
        if limit is not None:
            after[policy] = dict(limit)
        condition = (
            WorkspaceRecord.rate_limits.does_not_exist() if before is None else WorkspaceRecord.rate_limits == before
        )
        with conflict_on_condition("The workspace's rate limits changed meanwhile; run the command again."):
            record.update(
                actions=[WorkspaceRecord.rate_limits.set(after) if after else WorkspaceRecord.rate_limits.remove()],
                condition=condition,
            )
        return after

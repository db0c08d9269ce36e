"""The sandbox platform's own storage: what it has published, per test-mode integration.

One partition per integration (``integration_id``), three kinds of item under it, told apart by the
sort key's prefix:

- ``post#<UUIDv7>``: a published post. The UUIDv7 sorts by creation, so one Query on the prefix
  lists the posts in the order they were made, whatever the shape of the platform's own ids.
  ``post_id`` holds the id the platform shows (a snowflake, an at:// URI, ...).
- ``key#<idempotency key>``: written in the same transaction as a post when the imitated platform
  honours idempotency keys. It carries a copy of the post, so a repeated request is answered with
  one read.
- ``attempts#<idempotency key>``: how many times a part was tried, counted with an atomic ADD so
  "fail the first two tries" holds across retries and Lambda containers.

Every item expires 30 days after it was last written (DynamoDB TTL on ``expires_at``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.clock import Clock, SystemClock
from chalicelib.data.errors import conflict_on_condition, is_condition_failure
from chalicelib.data.models import SandboxPostRecord
from chalicelib.errors import OpenpostError, ServiceUnavailableError
from chalicelib.ids import uuid7

POST = "post#"
KEY = "key#"
ATTEMPTS = "attempts#"
KEEP = dt.timedelta(days=30)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """PynamoDB's failures leave this module as our own errors; ours pass through untouched."""
    try:
        yield
    except OpenpostError:
        raise
    except PynamoDBException as error:
        raise ServiceUnavailableError("The sandbox platform's storage did not answer; try again.") from error


def _as_post(record: SandboxPostRecord) -> dict[str, Any]:
    return {
        "id": record.post_id,
        "text": record.text,
        "reply_to": record.reply_to,
        "root": record.root,
        "media": list(record.media or []),
        "created_at": record.created_at,
        "idempotency_key": record.idempotency_key,
    }


class SandboxStore:
    def __init__(self, clock: Clock | None = None, connection_factory=Connection):
        self._clock = clock or SystemClock()
        self._connection_factory = connection_factory

    def _expiry(self) -> int:
        return int((self._clock.now() + KEEP).timestamp())

    def record_attempt(self, integration_id: str, key: str) -> int:
        """Count one more try of the part with this idempotency key; returns the new count (1 first)."""
        item = SandboxPostRecord(integration_id=integration_id, id=f"{ATTEMPTS}{key}")
        with _translated():
            # UpdateItem creates the item on the first try and answers with the new values (ALL_NEW).
            item.update(
                actions=[
                    SandboxPostRecord.count.add(1),
                    SandboxPostRecord.kind.set("attempts"),
                    SandboxPostRecord.idempotency_key.set(key),
                    SandboxPostRecord.expires_at.set(self._expiry()),
                ]
            )
        return int(item.count)

    def find_by_key(self, integration_id: str, key: str) -> dict[str, Any] | None:
        """The post an earlier request with this idempotency key produced, or None."""
        with _translated():
            try:
                record = SandboxPostRecord.get(integration_id, f"{KEY}{key}", consistent_read=True)
            except SandboxPostRecord.DoesNotExist:
                return None
        return _as_post(record)

    def save_post(self, integration_id: str, post: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        """Store a post (``id`` is the platform's id; ``text``, ``reply_to``, ``root``, ``media``,
        optional ``created_at``) and return it as stored.

        With a ``key``, the post is stored only if no earlier request used that key; otherwise the
        earlier post is returned and nothing is written. A caller tells the two apart by the id."""
        fields = dict(
            post_id=post["id"],
            text=post.get("text"),
            reply_to=post.get("reply_to"),
            root=post.get("root"),
            media=list(post.get("media") or []),
            created_at=post.get("created_at") or self._clock.now(),
            idempotency_key=key,
            expires_at=self._expiry(),
        )
        record = SandboxPostRecord(
            integration_id=integration_id, id=f"{POST}{uuid7(self._clock)}", kind="post", **fields
        )
        absent = SandboxPostRecord.id.does_not_exist()
        with _translated():
            if key is None:
                with conflict_on_condition("A sandbox post with this id already exists."):
                    record.save(condition=absent)
                return _as_post(record)
            marker = SandboxPostRecord(integration_id=integration_id, id=f"{KEY}{key}", kind="key", **fields)
            try:
                with TransactWrite(
                    connection=self._connection_factory(
                        region=SandboxPostRecord.Meta.region, host=SandboxPostRecord.Meta.host
                    )
                ) as transaction:
                    transaction.save(record, condition=absent)
                    transaction.save(marker, condition=absent)
            except TransactWriteError as error:
                if not is_condition_failure(error):
                    raise
                # The key was used before (perhaps a moment ago, in another container): answer with
                # the post that request produced, as an idempotent platform does.
                earlier = self.find_by_key(integration_id, key)
                if earlier is None:  # the marker expired between the two calls: nothing to return
                    raise ServiceUnavailableError(
                        "The sandbox platform is busy with this request; try again."
                    ) from error
                return earlier
        return _as_post(record)

    def posts(self, integration_id: str) -> list[dict[str, Any]]:
        """Every post of this integration, oldest first (one Query on the ``post#`` prefix)."""
        with _translated():
            records = SandboxPostRecord.query(
                integration_id, SandboxPostRecord.id.startswith(POST), consistent_read=True
            )
            return [_as_post(record) for record in records]

"""Claims of request keys, written in the transaction that creates what the request asked for.

A claim is an item of the idempotency table (beside Powertools' own records, under another
prefix), kept as long as the key is honoured. See ``domain/request_keys.py``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Iterator

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.data.models import IdempotencyRecord
from chalicelib.domain.request_keys import AlreadyCreatedError, RequestKey

KEEP_SECONDS = 24 * 60 * 60


def _claim_id(scope: str, kind: str, key: RequestKey) -> str:
    digest = hashlib.sha256(key.key.encode()).hexdigest()
    return f"claim#{kind}#{scope}#{digest}"


class RequestKeyClaims:
    """Claims for one kind of resource ("post", ...) created under a request key."""

    def __init__(self, kind: str):
        self._kind = kind

    def claim_in(
        self, transaction: TransactWrite, scope: str, key: RequestKey | None, resource_id: str, now: dt.datetime
    ) -> int:
        """Add the claim to ``transaction`` (on condition it is new); returns the number of items
        added, so callers can find their own items' cancellation reasons."""
        if key is None:
            return 0
        expires = int(now.timestamp()) + KEEP_SECONDS
        transaction.save(
            IdempotencyRecord(
                id=_claim_id(scope, self._kind, key),
                expiration=expires,
                resource_id=resource_id,
                fingerprint=key.fingerprint,
            ),
            condition=IdempotencyRecord.id.does_not_exist(),
        )
        return 1

    @contextlib.contextmanager
    def honoured(self, scope: str, key: RequestKey | None, position: int) -> Iterator[None]:
        """Around a transaction holding a claim at ``position``: if the claim was there already,
        raise AlreadyCreatedError naming what the first request created."""
        try:
            yield
        except TransactWriteError as error:
            if key is None or not _failed_at(error, position):
                raise
            claim = IdempotencyRecord.get(_claim_id(scope, self._kind, key), consistent_read=True)
            raise AlreadyCreatedError(claim.resource_id, claim.fingerprint or "") from error


def _failed_at(error: TransactWriteError, position: int) -> bool:
    reasons = getattr(error, "cancellation_reasons", None) or []
    return (
        position < len(reasons) and reasons[position] is not None and reasons[position].code == "ConditionalCheckFailed"
    )

"""Translate PynamoDB's failures into the domain's errors, in one place."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError

from chalicelib.errors import ConflictError


def is_condition_failure(error: Exception) -> bool:
    cause = getattr(error, "cause_response_code", None)
    if cause == "ConditionalCheckFailedException":
        return True
    if isinstance(error, TransactWriteError):
        reasons = getattr(error, "cancellation_reasons", None) or []
        return any(reason is not None and reason.code == "ConditionalCheckFailed" for reason in reasons)
    return False


@contextlib.contextmanager
def conflict_on_condition(detail: str, code: str = "conflict") -> Iterator[None]:
    """Run a conditional write; a failed condition becomes a ConflictError with this detail."""
    try:
        yield
    except (PutError, UpdateError, DeleteError, TransactWriteError) as error:
        if is_condition_failure(error):
            raise ConflictError(detail, code=code) from error
        raise

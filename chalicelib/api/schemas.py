"""Building blocks shared by request and response models."""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema, field_validator

from chalicelib.clock import format_timestamp

# Every timestamp leaves the API as ISO 8601 UTC with a "Z".
Timestamp = Annotated[
    dt.datetime,
    PlainSerializer(format_timestamp, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-05-01T14:00:00Z"]}),
]


# Models are built when first used, not when imported (defer_build): a cold start then pays only for
# the few models its request touches, not for every route's.
class RequestModel(BaseModel):
    """A request body or query: unknown fields are refused, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, defer_build=True)


_CURSOR_PREFIX = "v1:"


def encode_cursor(last_id: str) -> str:
    """An opaque cursor for the page after the item ``last_id``."""
    return base64.urlsafe_b64encode((_CURSOR_PREFIX + last_id).encode()).decode().rstrip("=")


# What every cursor looks like: the base64url of "v1:" and the id, unpadded. Stated in the OpenAPI
# document, so that a client (or a fuzzer) knows; every string of this shape names a place in a list.
CURSOR_PATTERN = r"^djE6(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$"
_CURSOR = re.compile(CURSOR_PATTERN)


def decode_cursor(cursor: str) -> str:
    if not _CURSOR.match(cursor) or len(cursor) <= len("djE6"):
        raise ValueError("not a cursor this API gave; pass next_cursor from a list answer as it is")
    # Any text after the prefix is a place to start from: items are ordered by id, and an id that
    # no item has still falls between two that do.
    text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode(errors="replace")
    return text[len(_CURSOR_PREFIX) :]


class PageQuery(RequestModel):
    """Pagination, as every list endpoint takes it: ``cursor`` (from the last answer's
    ``next_cursor``) costs one page of reads however deep; ``offset`` reads every item it skips."""

    model_config = ConfigDict(extra="ignore")  # unknown query parameters are ignored, as browsers add some
    limit: int = Field(default=20, ge=1, le=100, description="Page size, 1 to 100.")
    offset: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description=(
            "How many items to skip. Kept for compatibility: the API reads every item it skips, so a deep "
            "page costs as much as all the pages before it; prefer cursor."
        ),
    )
    cursor: str | None = Field(
        default=None,
        min_length=5,
        max_length=256,
        pattern=CURSOR_PATTERN,
        description=(
            "Where the page starts: next_cursor from the previous page. Reads one page, however deep. "
            "With offset too, that many items after the cursor are skipped."
        ),
    )

    @field_validator("cursor")
    @classmethod
    def _readable(cls, cursor):
        if cursor is not None:
            decode_cursor(cursor)
        return cursor

    @property
    def after(self) -> str | None:
        """The id of the item the page follows, from the cursor."""
        return decode_cursor(self.cursor) if self.cursor is not None else None

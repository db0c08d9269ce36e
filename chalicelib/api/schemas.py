"""Building blocks shared by request and response models."""
from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated, Optional

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema, field_validator, model_validator

from chalicelib.clock import format_timestamp

# Every timestamp leaves the API as ISO 8601 UTC with a "Z".
Timestamp = Annotated[
    dt.datetime,
    PlainSerializer(format_timestamp, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-05-01T14:00:00Z"]}),
]


class RequestModel(BaseModel):
    """A request body or query: unknown fields are refused, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


_CURSOR_PREFIX = "v1:"


def encode_cursor(last_id: str) -> str:
    """An opaque cursor for the page after the item ``last_id``."""
    return base64.urlsafe_b64encode((_CURSOR_PREFIX + last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        text = ""
    if not text.startswith(_CURSOR_PREFIX) or not 0 < len(text) - len(_CURSOR_PREFIX) <= 128:
        raise ValueError("not a cursor this API gave; pass next_cursor from a list answer as it is")
    return text[len(_CURSOR_PREFIX):]


class PageQuery(RequestModel):
    """Pagination, as every list endpoint takes it: ``cursor`` (from the last answer's
    ``next_cursor``) costs one page of reads however deep; ``offset`` reads every item it skips."""

    model_config = ConfigDict(extra="ignore")  # unknown query parameters are ignored, as browsers add some
    limit: int = Field(default=20, ge=1, le=100, description="Page size, 1 to 100.")
    offset: int = Field(default=0, ge=0, le=1_000_000, description=(
        "How many items to skip. Kept for compatibility: the API reads every item it skips, so a deep "
        "page costs as much as all the pages before it; prefer cursor."))
    cursor: Optional[str] = Field(default=None, min_length=1, max_length=256, description=(
        "Where the page starts: next_cursor from the previous page. Reads one page, however deep."))

    @field_validator("cursor")
    @classmethod
    def _readable(cls, cursor):
        if cursor is not None:
            decode_cursor(cursor)
        return cursor

    @model_validator(mode="after")
    def _one_way(self):
        if self.cursor is not None and self.offset:
            raise ValueError("use cursor or offset, not both")
        return self

    @property
    def after(self) -> Optional[str]:
        """The id of the item the page follows, from the cursor."""
        return decode_cursor(self.cursor) if self.cursor is not None else None

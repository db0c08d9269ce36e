"""Building blocks shared by request and response models."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

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


class PageQuery(RequestModel):
    """Offset pagination, as every list endpoint takes it."""

    model_config = ConfigDict(extra="ignore")  # unknown query parameters are ignored, as browsers add some
    limit: int = Field(default=20, ge=1, le=100, description="Page size, 1 to 100.")
    offset: int = Field(default=0, ge=0, le=1_000_000, description="How many items to skip.")

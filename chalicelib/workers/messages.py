"""The messages workers exchange through SQS, validated on the way in."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PublishMessage(BaseModel):
    """One post target to publish. ``version`` is the post's version when the message was sent:
    a post edited, rescheduled or cancelled since then no longer matches, and the work is dropped."""

    model_config = ConfigDict(extra="forbid")

    workspace_id: str
    mode: Literal["test", "live"]
    post_id: str
    target_id: str
    version: int = Field(ge=1)

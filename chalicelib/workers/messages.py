"""The messages workers exchange through SQS, validated on the way in."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PublishMessage(BaseModel):
    """One post target to publish. ``dispatch_id`` names the publishing run that sent it: a post
    edited, rescheduled, cancelled or re-dispatched since then carries another one (or none), and the
    work is dropped."""

    model_config = ConfigDict(extra="forbid")

    workspace_id: str
    mode: Literal["test", "live"]
    post_id: str
    target_id: str
    dispatch_id: str = Field(min_length=1)

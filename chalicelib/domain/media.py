"""Media files: what an upload may be, where its bytes live, and what a post holds of it.

A file is uploaded in two steps (ask for a presigned URL, PUT the bytes to S3) or fetched from a URL
a post names. Either way nothing trusts what the client said: the verifier reads the stored bytes,
identifies the type from its magic bytes and measures it, and only then is the file ``ready``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

MiB = 1024 * 1024

# What may be uploaded, per content type: its kind and the largest file we take. These are our own
# ceilings, above every platform's; each target platform's (smaller) limits are checked when a post
# uses the file (chalicelib/media/rules.py).
UPLOAD_TYPES: dict[str, tuple[str, int]] = {
    "image/jpeg": ("image", 20 * MiB),
    "image/png": ("image", 20 * MiB),
    "image/gif": ("image", 20 * MiB),
    "image/webp": ("image", 20 * MiB),
    "video/mp4": ("video", 1024 * MiB),
    "video/quicktime": ("video", 1024 * MiB),
}

UPLOAD_URL_SECONDS = 3600  # a presigned PUT must start within the hour
ABANDONED_AFTER = dt.timedelta(days=1)  # a pending record outlives its URL by this, then TTL removes it
REJECTED_KEPT = dt.timedelta(days=7)  # long enough to read why, then TTL removes it

# Fetching a URL a post names happens inside the API request (API Gateway allows 29 s), so the
# whole post's fetches share one budget, and each file its kind's ceiling. The budget is at most
# FETCH_BUDGET_SECONDS, and ends FETCH_MARGIN_SECONDS before the invocation's own time does (read
# from its Lambda context), kept for verifying the files, writing the post and answering.
FETCH_BUDGET_SECONDS = 20.0
FETCH_MARGIN_SECONDS = 5.0
FETCH_MAX_BYTES = {"image": 20 * MiB, "video": 200 * MiB}

# A post holds at most this many distinct files over all its parts: each newly attached file is one
# item of the post's write transaction, and DynamoDB allows 100 per transaction.
MAX_FILES_PER_POST = 40


def upload_key(workspace_id: str, mode: str, media_id: str) -> str:
    """Where the client PUTs the bytes. The bucket's lifecycle rule empties this prefix daily."""
    return f"uploads/{workspace_id}/{mode}/{media_id}"


def stored_key(workspace_id: str, mode: str, media_id: str) -> str:
    """Where a verified file is kept for as long as the media exists."""
    return f"media/{workspace_id}/{mode}/{media_id}"


def parse_upload_key(key: str) -> tuple[str, str, str] | None:
    """(workspace id, mode, media id) of an upload key, or None for anything else in the bucket."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "uploads" or parts[2] not in ("test", "live") or not all(parts):
        return None
    return parts[1], parts[2], parts[3]


@dataclass
class Media:
    id: str
    workspace_id: str
    mode: str
    status: str  # pending | ready | rejected
    kind: str
    content_type: str
    filename: str
    declared_size: int
    created_at: dt.datetime
    updated_at: dt.datetime
    size: int | None = None
    width: int | None = None
    height: int | None = None
    alt_text: str | None = None
    source_url: str | None = None
    object_key: str | None = None
    reason: str | None = None
    reason_code: str | None = None
    upload_expires_at: dt.datetime | None = None
    attached: set = field(default_factory=set)
    revision: int = 0

    @property
    def scope(self) -> str:
        return f"{self.workspace_id}#{self.mode}"

    def attachment(self) -> dict[str, Any]:
        """What a post keeps of a ready file: enough to check platform limits and to publish it
        without reading the media record again."""
        return {
            "id": self.id,
            "kind": self.kind,
            "content_type": self.content_type,
            "size": self.size,
            "width": self.width,
            "height": self.height,
            "filename": self.filename,
            "alt_text": self.alt_text,
            "key": self.object_key,
            "source_url": self.source_url,
        }

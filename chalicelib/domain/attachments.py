"""A part's files as adapters receive them: ``Attachment`` objects that read from our bucket.

Storage errors become the engine's error kinds here, so an adapter sees a brief S3 outage as a
reason to try again later, and a missing file as a failure it can explain, never a stack trace.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import NotFoundError, ServiceUnavailableError
from chalicelib.platforms.base import Attachment, PermanentError, TransientError


class _PlatformErrorStream:
    """A stored file whose read errors are the engine's: a dropped connection mid-file is transient."""

    def __init__(self, stream, media_id: str):
        self._stream, self._media_id = stream, media_id

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except ServiceUnavailableError as error:
            raise TransientError(
                f"Reading media {self._media_id} from storage failed ({error.detail}); it will be tried again."
            ) from None

    def close(self) -> None:
        self._stream.close()


def _opener(objects, key: str, media_id: str):
    def open_stream():
        try:
            return _PlatformErrorStream(objects.open(key), media_id)
        except NotFoundError:
            raise PermanentError(
                f"Media {media_id} is no longer stored; it was deleted after the post was written.",
                code="media_unavailable",
            ) from None
        except ServiceUnavailableError as error:
            raise TransientError(
                f"Media {media_id} could not be read from storage ({error.detail}); it will be tried again."
            ) from None

    return open_stream


def attachments(items: list[dict[str, Any]], objects) -> list[Attachment]:
    """The stored snapshot of a part's files (see Media.attachment) as adapter Attachments."""
    return [
        Attachment(
            id=item["id"],
            kind=item["kind"],
            content_type=item["content_type"],
            size=int(item["size"]),
            filename=item.get("filename") or "",
            alt_text=item.get("alt_text"),
            width=item.get("width"),
            height=item.get("height"),
            opener=_opener(objects, item["key"], item["id"]) if objects is not None else None,
        )
        for item in items
    ]

"""Media records in DynamoDB and media bytes in S3.

Access patterns (docs/data-model.md): get = GetItem on (scope, id); many = BatchGetItem; every change
of status is conditional on the status read, so two deliveries of one upload event cannot both act.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator

from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.data.clients import LazyClient
from chalicelib.data.errors import is_condition_failure
from chalicelib.data.models import MediaRecord
from chalicelib.domain.media import Media
from chalicelib.errors import ConflictError, MediaUnavailableError, NotFoundError, ServiceUnavailableError

PART_BYTES = 8 * 1024 * 1024  # multipart upload part size (S3's minimum is 5 MiB)


def _epoch(moment: dt.datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None


def _to_domain(record: MediaRecord) -> Media:
    workspace_id, mode = record.scope.rsplit("#", 1)
    number = lambda value: int(value) if value is not None else None  # noqa: E731
    return Media(
        id=record.id,
        workspace_id=workspace_id,
        mode=mode,
        status=record.status,
        kind=record.kind,
        content_type=record.content_type,
        filename=record.filename,
        declared_size=int(record.declared_size),
        created_at=record.created_at,
        updated_at=record.updated_at,
        size=number(record.size),
        width=number(record.width),
        height=number(record.height),
        alt_text=record.alt_text,
        source_url=record.source_url,
        object_key=record.object_key,
        reason=record.reason,
        reason_code=record.reason_code,
        upload_expires_at=record.upload_expires_at,
        attached=set(record.attached or ()),
        revision=int(record.revision or 0),
    )


class MediaStore:
    # --- reads ---------------------------------------------------------------------------------
    def get(self, scope: str, media_id: str) -> Media:
        try:
            return _to_domain(MediaRecord.get(scope, media_id, consistent_read=True))
        except MediaRecord.DoesNotExist as exc:
            raise NotFoundError(f"No media {media_id} in this workspace.", code="media_not_found") from exc

    def find(self, scope: str, media_id: str) -> Media | None:
        try:
            return self.get(scope, media_id)
        except NotFoundError:
            return None

    def many(self, scope: str, media_ids: Iterable[str]) -> dict[str, Media]:
        keys = [(scope, media_id) for media_id in dict.fromkeys(media_ids)]
        if not keys:
            return {}
        return {record.id: _to_domain(record) for record in MediaRecord.batch_get(keys, consistent_read=True)}

    # --- writes --------------------------------------------------------------------------------
    def create(self, media: Media, expires_at: dt.datetime | None) -> None:
        MediaRecord(
            scope=media.scope,
            id=media.id,
            status=media.status,
            kind=media.kind,
            content_type=media.content_type,
            filename=media.filename,
            declared_size=media.declared_size,
            size=media.size,
            width=media.width,
            height=media.height,
            alt_text=media.alt_text,
            source_url=media.source_url,
            object_key=media.object_key,
            upload_expires_at=media.upload_expires_at,
            created_at=media.created_at,
            updated_at=media.updated_at,
            revision=0,
            expires_at=_epoch(expires_at),
        ).save(condition=MediaRecord.id.does_not_exist())

    def settle(self, media: Media, expires_at: dt.datetime | None) -> bool:
        """Store the verifier's verdict (ready or rejected) if the record is still pending. False
        when it was not: another delivery of the same event got there first, or it was deleted."""
        actions = [
            MediaRecord.status.set(media.status),
            MediaRecord.size.set(media.size),
            MediaRecord.updated_at.set(media.updated_at),
            MediaRecord.revision.add(1),
        ]
        for name in ("width", "height", "object_key", "reason", "reason_code"):
            value = getattr(media, name)
            attribute = getattr(MediaRecord, name)
            actions.append(attribute.set(value) if value is not None else attribute.remove())
        actions.append(
            MediaRecord.expires_at.set(_epoch(expires_at)) if expires_at else MediaRecord.expires_at.remove()
        )
        try:
            MediaRecord(scope=media.scope, id=media.id).update(
                actions=actions, condition=MediaRecord.status == "pending"
            )
        except UpdateError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def set_alt_text(self, media: Media, alt_text: str | None) -> None:
        action = MediaRecord.alt_text.set(alt_text) if alt_text else MediaRecord.alt_text.remove()
        try:
            MediaRecord(scope=media.scope, id=media.id).update(
                actions=[action, MediaRecord.revision.add(1)], condition=MediaRecord.id.exists()
            )
        except UpdateError as error:
            if is_condition_failure(error):
                raise NotFoundError(f"No media {media.id} in this workspace.", code="media_not_found") from error
            raise

    def delete(self, media: Media) -> None:
        """Delete the record if nothing changed since it was read (no post attached it meanwhile)."""
        try:
            MediaRecord(scope=media.scope, id=media.id).delete(condition=MediaRecord.revision == media.revision)
        except DeleteError as error:
            if is_condition_failure(error):
                raise ConflictError("The media changed meanwhile; read it again.", code="media_changed") from error
            raise

    @staticmethod
    def attach_in(transaction, scope: str, media_ids: Iterable[str], post_id: str) -> None:
        """Within a post's write: mark each file as used by the post, on condition it is ready.
        A file that is not (deleted, rejected) cancels the whole write."""
        for media_id in media_ids:
            transaction.update(
                MediaRecord(scope=scope, id=media_id),
                actions=[MediaRecord.attached.add({post_id}), MediaRecord.revision.add(1)],
                condition=MediaRecord.status == "ready",
            )


class StoredStream:
    """An object's bytes as they arrive; a connection lost mid-file is ServiceUnavailableError."""

    def __init__(self, body):
        self._body = body

    def read(self, size: int = -1) -> bytes:
        try:
            return self._body.read() if size is None or size < 0 else self._body.read(size)
        except Exception as error:  # noqa: BLE001 - botocore and urllib3 raise many kinds mid-stream
            raise ServiceUnavailableError(f"Reading a stored file failed ({error.__class__.__name__}).") from None

    def close(self) -> None:
        try:
            self._body.close()
        except Exception:  # noqa: BLE001 - closing a broken stream is best effort
            pass


class MediaObjects(LazyClient):
    """The bucket: presigned uploads, reads by range or as a stream, copies and deletes."""

    def __init__(self, s3_client_factory: Callable[[], object], bucket: str):
        super().__init__(s3_client_factory)
        self._bucket = bucket

    @property
    def _s3(self):
        return self.client

    def presigned_put(self, key: str, content_type: str, size: int, expires_in: int) -> str:
        """A URL that accepts exactly one PUT of this type and length: both headers are signed, so
        S3 refuses a request that sends another."""
        return self._s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self._bucket, "Key": key, "ContentType": content_type, "ContentLength": size},
            ExpiresIn=expires_in,
            HttpMethod="PUT",
        )

    def head(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            answer = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return {
            "size": int(answer["ContentLength"]),
            "content_type": answer.get("ContentType"),
            "etag": answer.get("ETag"),
        }

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        answer = self._s3.get_object(Bucket=self._bucket, Key=key, Range=f"bytes={start}-{start + length - 1}")
        return answer["Body"].read()

    def open(self, key: str) -> StoredStream:
        """The object as a stream: read(n) pulls n bytes off the wire. NotFoundError when there is
        no such object; ServiceUnavailableError when S3 could not be read, now or mid-stream."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return StoredStream(self._s3.get_object(Bucket=self._bucket, Key=key)["Body"])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise MediaUnavailableError(f"No stored file {key}.") from None
            raise ServiceUnavailableError(f"The media store answered {code}.") from None
        except BotoCoreError as error:
            raise ServiceUnavailableError(
                f"The media store could not be reached ({error.__class__.__name__})."
            ) from None

    def copy(self, source: str, target: str, content_type: str) -> None:
        """Server-side copy: the bytes never pass through the function (S3 copies up to 5 GB in one call)."""
        self._s3.copy_object(
            Bucket=self._bucket,
            Key=target,
            CopySource={"Bucket": self._bucket, "Key": source},
            ContentType=content_type,
            MetadataDirective="REPLACE",
        )

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=key)

    def put_stream(self, key: str, chunks: Iterator[bytes], content_type: str) -> int:
        """Store a stream of unknown length holding at most one part in memory: one PUT when it is
        small, a multipart upload otherwise (aborted if the stream fails). Returns the size."""
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict] = []
        total = 0
        try:
            for chunk in chunks:
                buffer += chunk
                total += len(chunk)
                while len(buffer) >= PART_BYTES:
                    if upload_id is None:
                        upload_id = self._s3.create_multipart_upload(
                            Bucket=self._bucket, Key=key, ContentType=content_type
                        )["UploadId"]
                    parts.append(self._upload_part(key, upload_id, len(parts) + 1, bytes(buffer[:PART_BYTES])))
                    del buffer[:PART_BYTES]
            if upload_id is None:
                self._s3.put_object(Bucket=self._bucket, Key=key, Body=bytes(buffer), ContentType=content_type)
                return total
            if buffer:
                parts.append(self._upload_part(key, upload_id, len(parts) + 1, bytes(buffer)))
            self._s3.complete_multipart_upload(
                Bucket=self._bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
            return total
        except BaseException:
            if upload_id is not None:
                self._s3.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)
            raise

    def _upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> dict:
        answer = self._s3.upload_part(Bucket=self._bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data)
        return {"ETag": answer["ETag"], "PartNumber": number}

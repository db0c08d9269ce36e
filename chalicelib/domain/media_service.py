"""The media use cases: request an upload, verify what landed, fetch by URL, read, describe, delete.

Verification never holds a file: it asks S3 for the size, reads the few ranges the type's header
needs, and copies the object server-side out of ``uploads/`` (which the bucket's lifecycle empties)
into ``media/``. A URL is fetched in pieces straight into the bucket and then verified the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from chalicelib.clock import Clock
from chalicelib.domain.media import (
    ABANDONED_AFTER,
    FETCH_BUDGET_SECONDS,
    FETCH_MARGIN_SECONDS,
    FETCH_MAX_BYTES,
    REJECTED_KEPT,
    UPLOAD_TYPES,
    UPLOAD_URL_SECONDS,
    Media,
    parse_upload_key,
    stored_key,
    upload_key,
)
from chalicelib.domain.principal import Principal
from chalicelib.errors import ConflictError, MediaRejectedError, ValidationError
from chalicelib.ids import uuid7
from chalicelib.observability import logger

DELETE_ATTEMPTS = 3
LIVE_POST_STATUSES = ("draft", "scheduled", "publishing")


class MediaService:
    def __init__(
        self,
        store,
        objects,
        posts,
        clock: Clock,
        *,
        allow_loopback_urls: bool = False,
        opener: Callable | None = None,
        events=None,
    ):
        self._events = events  # the events queue: media.ready / media.rejected for uploads
        self._store = store
        self._objects = objects
        self._posts = posts  # the post store, to see whether a file is still in use
        self._clock = clock
        self._allow_loopback_urls = allow_loopback_urls
        self._opener = opener  # fetch.open_url; injectable for tests

    # --- uploads -------------------------------------------------------------------------------
    def request_upload(
        self, principal: Principal, filename: str, content_type: str, size: int, alt_text: str | None = None
    ) -> tuple[Media, str]:
        """A pending media record and the presigned URL to PUT its bytes to."""
        content_type = content_type.strip().lower()
        if content_type not in UPLOAD_TYPES:
            raise ValidationError(
                f"{content_type} files cannot be uploaded; send one of {', '.join(UPLOAD_TYPES)}.",
                errors=[
                    {
                        "field": "content_type",
                        "message": f"Unsupported type {content_type}.",
                        "code": "unsupported_media_type",
                    }
                ],
                code="unsupported_media_type",
            )
        kind, limit = UPLOAD_TYPES[content_type]
        if size > limit:
            raise ValidationError(
                f"A {kind} can be at most {limit:,} bytes; this one is {size:,}.",
                errors=[
                    {
                        "field": "size",
                        "message": f"At most {limit:,} bytes for {content_type}.",
                        "code": "media_too_large",
                    }
                ],
                code="media_too_large",
            )
        now = self._clock.now()
        expires = now + dt.timedelta(seconds=UPLOAD_URL_SECONDS)
        media = Media(
            id=uuid7(self._clock),
            workspace_id=principal.workspace_id,
            mode=principal.mode,
            status="pending",
            kind=kind,
            content_type=content_type,
            filename=filename,
            declared_size=size,
            created_at=now,
            updated_at=now,
            alt_text=alt_text or None,
            upload_expires_at=expires,
        )
        self._store.create(media, expires_at=expires + ABANDONED_AFTER)
        url = self._objects.presigned_put(
            upload_key(media.workspace_id, media.mode, media.id), content_type, size, UPLOAD_URL_SECONDS
        )
        logger.info("upload requested", extra={"media_id": media.id, "content_type": content_type, "size": size})
        return media, url

    def verify_upload(self, key: str) -> str | None:
        """Judge the object that landed at ``key``: ready or rejected. Returns the verdict, or None
        when there was nothing to judge (not an upload key, a record gone, an event seen before)."""
        parsed = parse_upload_key(key)
        if parsed is None:
            logger.warning("object outside the upload layout", extra={"key": key})
            return None
        workspace_id, mode, media_id = parsed
        log = {"media_id": media_id, "workspace_id": workspace_id}
        media = self._store.find(f"{workspace_id}#{mode}", media_id)
        head = self._objects.head(key)
        if head is None:
            logger.info("upload already handled", extra=log)  # a repeated event: the object moved on
            return None
        if media is None or media.status != "pending":
            # Expired, deleted, or a second PUT to a URL already used: the bytes have no owner.
            self._objects.delete(key)
            logger.info("stray upload removed", extra={**log, "status": media.status if media else None})
            return None
        verdict = self._judge(media, key, head["size"])
        now = self._clock.now()
        media.updated_at, media.size = now, head["size"]
        if verdict is None:
            target = stored_key(workspace_id, mode, media_id)
            self._objects.copy(key, target, media.content_type)
            media.status, media.object_key = "ready", target
            settled = self._store.settle(media, expires_at=None)
            if not settled:
                self._drop_copy_unless_ready(media, target)
        else:
            media.status, (media.reason_code, media.reason) = "rejected", verdict
            settled = self._store.settle(media, expires_at=now + REJECTED_KEPT)
        if settled:
            self._announce(media, now)
        self._objects.delete(key)
        logger.info(
            "upload verified",
            extra={**log, "status": media.status, "reason_code": media.reason_code, "size": media.size},
        )
        return media.status

    def _announce(self, media: Media, now) -> None:
        """media.ready or media.rejected, once per upload (its id is the file's and its verdict)."""
        if self._events is None:
            return
        from chalicelib.domain.events import MediaOutcome, event

        outcome = MediaOutcome(
            media_id=media.id, status=media.status, kind=media.kind, reason=media.reason, reason_code=media.reason_code
        )
        self._events.send(
            event(
                f"evt_{media.id}_{media.status}", f"media.{media.status}", now, media.workspace_id, media.mode, outcome
            )
        )

    def _judge(self, media: Media, key: str, size: int) -> tuple[str, str] | None:
        """None if the file is what the client said it would be; else (code, reason)."""
        from chalicelib.media.probe import probe

        if size != media.declared_size:
            return "size_mismatch", (f"The upload was {size:,} bytes, not the {media.declared_size:,} bytes announced.")
        try:
            found = probe(lambda start, length: self._objects.read_range(key, start, length), size)
        except MediaRejectedError as error:
            return error.code, error.message
        if found.content_type != media.content_type:
            return "type_mismatch", (
                f"The file is {found.content_type}, not the {media.content_type} announced."
                if found.content_type
                else f"The file is not {media.content_type}."
            )
        media.width, media.height = found.width, found.height
        return None

    def _drop_copy_unless_ready(self, media: Media, target: str) -> None:
        current = self._store.find(media.scope, media.id)
        if current is None or current.status != "ready" or current.object_key != target:
            self._objects.delete(target)

    # --- by URL --------------------------------------------------------------------------------
    def fetch(
        self, workspace_id: str, mode: str, url: str, alt_text: str | None, *, kind_hint: str | None, deadline: float
    ) -> Media:
        """Fetch a URL into the bucket and verify it; a ready Media, or MediaRejectedError (a
        MediaFetchError when the URL itself failed)."""
        from chalicelib.media.fetch import open_url
        from chalicelib.media.probe import probe

        opener = self._opener or open_url
        now = self._clock.now()
        media_id = uuid7(self._clock)
        key = stored_key(workspace_id, mode, media_id)
        remaining = deadline - self._clock.monotonic()
        if remaining <= 0:
            raise MediaRejectedError(f"There was no time left to fetch {url}.", code="url_timeout")
        stored = False
        try:
            max_bytes = FETCH_MAX_BYTES[kind_hint] if kind_hint else max(FETCH_MAX_BYTES.values())
            with opener(
                url,
                max_bytes=max_bytes,
                deadline_seconds=remaining,
                allow_loopback=self._allow_loopback_urls,
                clock=self._clock,
            ) as fetched:
                size = self._objects.put_stream(key, fetched.chunks(), "application/octet-stream")
                stored = True
            if size == 0:
                raise MediaRejectedError(f"The media URL {url} answered an empty file.", code="empty_file")
            # The type lives in the record, sniffed here; the object keeps the neutral type it was
            # stored under (nothing reads it, and rewriting it would copy the whole file again).
            try:
                found = probe(lambda start, length: self._objects.read_range(key, start, length), size)
            except MediaRejectedError as error:
                raise MediaRejectedError(f"{url}: {error.message}", code=error.code) from None
            if kind_hint and found.kind != kind_hint:
                raise MediaRejectedError(
                    f"{url} is a {found.kind}, where a {kind_hint} was expected.", code="wrong_kind"
                )
            limit = UPLOAD_TYPES[found.content_type][1]
            if size > limit:
                raise MediaRejectedError(f"{url} is {size:,} bytes; at most {limit:,}.", code="media_too_large")
            media = Media(
                id=media_id,
                workspace_id=workspace_id,
                mode=mode,
                status="ready",
                kind=found.kind,
                content_type=found.content_type,
                filename=_filename_of(url),
                declared_size=size,
                size=size,
                width=found.width,
                height=found.height,
                alt_text=alt_text or None,
                source_url=url,
                object_key=key,
                created_at=now,
                updated_at=now,
            )
            self._store.create(media, expires_at=None)
            return media
        except BaseException:
            self._discard(key, stored)
            raise

    def fetch_deadline(self, time_left: Callable[[], float] | None = None) -> float:
        """When the URLs of one request must all be fetched, on the clock's monotonic scale: at most
        FETCH_BUDGET_SECONDS from now, and FETCH_MARGIN_SECONDS before the invocation's time runs
        out (``time_left``, the seconds the request's Lambda context has left), so that the request
        still answers, with a problem if the files did not come in time."""
        budget = FETCH_BUDGET_SECONDS
        if time_left is not None:
            budget = max(0.0, min(budget, time_left() - FETCH_MARGIN_SECONDS))
        return self._clock.monotonic() + budget

    def import_url(
        self, principal: Principal, url: str, alt_text: str | None, time_left: Callable[[], float] | None = None
    ) -> Media:
        """``POST /v1/media``: one URL, under the same budget a post's URLs share; a refusal is a
        422 on the ``url`` field."""
        try:
            return self.fetch(
                principal.workspace_id,
                principal.mode,
                url,
                alt_text,
                kind_hint=None,
                deadline=self.fetch_deadline(time_left),
            )
        except MediaRejectedError as error:
            raise ValidationError(
                error.message, errors=[{"field": "url", "message": error.message, "code": error.code}], code=error.code
            ) from None

    def _discard(self, key: str, stored: bool) -> None:
        if stored:
            try:
                self._objects.delete(key)
            except Exception:  # noqa: BLE001 - cleanup only; the object is unreferenced either way
                logger.warning("could not remove a refused download", extra={"key": key})

    # --- reading and managing --------------------------------------------------------------------
    def get(self, principal: Principal, media_id: str) -> Media:
        return self._store.get(principal.scope, media_id)

    def many(self, scope: str, media_ids):
        return self._store.many(scope, media_ids)

    def describe(self, principal: Principal, media_id: str, alt_text: str | None) -> Media:
        media = self._store.get(principal.scope, media_id)
        self._store.set_alt_text(media, alt_text)
        return self._store.get(principal.scope, media_id)

    def delete(self, principal: Principal, media_id: str) -> None:
        """Delete a file no draft or scheduled post still uses (409 names the post that does)."""
        for _ in range(DELETE_ATTEMPTS):
            media = self._store.get(principal.scope, media_id)
            user = self._live_user(media)
            if user is not None:
                raise ConflictError(
                    f"Post {user} is not yet published and uses this media; remove the media "
                    "from that post or delete the post first.",
                    code="media_in_use",
                )
            try:
                self._store.delete(media)
            except ConflictError:
                continue  # a post attached it meanwhile: look again
            if media.object_key:
                try:
                    self._objects.delete(media.object_key)
                except Exception:  # noqa: BLE001 - the record is gone; an orphaned object costs storage only
                    logger.exception("could not delete a media object", extra={"media_id": media_id})
            logger.info("media deleted", extra={"media_id": media_id})
            return
        raise ConflictError("The media kept changing; read it again and retry.", code="media_changed")

    def _live_user(self, media: Media) -> str | None:
        """A post not yet published that uses the file. Marks of posts since deleted, published,
        or edited to drop the file are ignored: they are only ever added, never trusted alone."""
        for post_id in sorted(media.attached):
            post = self._posts.find(media.scope, post_id)
            if post is not None and post.status in LIVE_POST_STATUSES and media.id in post.attached_media_ids():
                return post_id
        return None


def _filename_of(url: str) -> str:
    from urllib.parse import unquote, urlsplit

    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])[:255]
    return name or "media"

"""Mastodon: statuses on the account's own instance.

The account is an instance URL and an access token, sealed together (a token must only ever be sent
to the instance it belongs to). A thread is a reply chain through ``in_reply_to_id``. Each status
carries an ``Idempotency-Key`` derived from the target and the part, so when an answer is lost the
engine asks again and the instance returns the status it already made instead of a second one.

Media goes up before the status, one file per ``POST /api/v2/media`` with its alt text as the
``description``. The instance answers 200 when the file is ready and 202 while it is still being
processed (videos, large images); a status naming a file still in processing is refused, so each
such file is checked with ``GET /api/v1/media/:id`` (206 while processing, 200 when done) after a
growing pause. All files are uploaded before the first check, so the instance processes them side by
side. The waiting has a budget well inside the publisher's time limit; past it the part is tried
again later. Uploads carry no idempotency key and need none: a file no status names is harmless
(the instance deletes unattached media after a while), so a retry simply uploads again.

What the instance said at connect time it accepts (how many attachments, which file types, how many
bytes and pixels) is checked before anything is uploaded, so a file it would refuse fails the part
at once, with a reason the author can act on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from chalicelib.platforms import http
from chalicelib.platforms.base import (
    Attachment,
    Part,
    PermanentError,
    Platform,
    PostRef,
    TransientError,
)
from chalicelib.platforms.mastodon import PLATFORM

NAME = "Mastodon"
# The settings a post may carry for Mastodon (platform_settings.mastodon), sent as they are.
STATUS_SETTINGS = ("visibility", "spoiler_text", "sensitive", "language")
# Seconds between checks on a file still processing: soon at first (most finish in a few seconds),
# then no more often than this, so a long video does not cost dozens of calls.
FIRST_PAUSE, LONGEST_PAUSE = 1.0, 5.0


# The extensions each type may carry. The instance reads the file name's extension too, and an
# upload without a file name is no file at all to it.
class Mastodon(Platform):
    descriptor = PLATFORM  # its name, thread style and idempotency
    media_kinds = frozenset({"image", "video"})
    timeout = http.TIMEOUT
    # Seconds of the worker's remaining time a part keeps for the uploads before the wait for the
    # instance to process its media, and the status after: with a 60 s publisher, 30 s of waiting.
    reserve = 30.0

    def publish(self, part: Part) -> PostRef:
        credentials = self.credentials.value
        base = credentials["instance_url"]
        auth = {"Authorization": f"Bearer {credentials['access_token']}"}
        check_limits(part.media, self.integration.profile or {})
        body: dict[str, Any] = {"status": part.text}
        if part.media:
            body["media_ids"] = self._upload_all(base, auth, part)
        for key in STATUS_SETTINGS:
            if part.settings.get(key) not in (None, ""):
                body[key] = part.settings[key]
        if part.reply_to is not None:
            body["in_reply_to_id"] = part.reply_to.id
        response = http.call(
            "POST",
            f"{base}/api/v1/statuses",
            session=self.session,
            platform=NAME,
            idempotent=True,
            timeout=self.timeout,
            json=body,
            # Stable for this target and part: a repeat is recognised by the instance, even when it
            # names the files of a second upload.
            headers={**auth, "Idempotency-Key": part.idempotency_key},
        )
        answer = http.json_body(response)
        if response.status_code >= 400:
            raise_for(response, answer)
        if not isinstance(answer, dict) or not answer.get("id"):
            raise http.unreadable_answer(NAME, idempotent=True)
        return PostRef(id=str(answer["id"]), url=answer.get("url") or answer.get("uri"))

    # --- media -----------------------------------------------------------------------------------
    def _upload_all(self, base: str, auth: dict[str, str], part: Part) -> list[str]:
        """Every file uploaded first, so the instance processes them side by side; then each one
        still processing is waited for. A file an earlier attempt left processing is taken up, not
        uploaded again (which would restart processing that may outlast every attempt)."""
        deadline = self.clock.monotonic() + part.budget(self.reserve)
        uploaded = []
        for item in part.media:
            kept = part.uploads.get(item.id)
            if kept:
                uploaded.append((item, kept["media_id"], False, True))
                continue
            media_id, ready = self._upload(base, auth, item)
            if not ready:
                part.keep(item.id, {"media_id": media_id})
            uploaded.append((item, media_id, ready, False))
        media_ids = []
        for item, media_id, ready, resumed in uploaded:
            if not ready:
                try:
                    self._wait_until_processed(base, auth, item, media_id, deadline, at_once=resumed)
                except _MediaLostError:
                    if not resumed:
                        raise
                    media_id = self._upload_again(base, auth, item, part, deadline)
            media_ids.append(media_id)
        return media_ids

    def _upload_again(self, base: str, auth: dict[str, str], item: Attachment, part: Part, deadline: float) -> str:
        """The instance no longer has what an earlier attempt uploaded (unattached media are
        removed after a while): upload it afresh."""
        media_id, ready = self._upload(base, auth, item)
        if not ready:
            part.keep(item.id, {"media_id": media_id})
            self._wait_until_processed(base, auth, item, media_id, deadline)
        return media_id

    def _upload(self, base: str, auth: dict[str, str], item: Attachment) -> tuple[str, bool]:
        """Upload one file; its id, and whether the instance has finished processing it."""
        stream = item.open()
        try:
            # requests builds the whole multipart body in memory before sending it (briefly about
            # three copies of the file). Acceptable: Mastodon takes videos of at most ~99 MB, well
            # inside the publisher's memory; streaming it would need a multipart encoder of our own.
            response = http.call(
                "POST",
                f"{base}/api/v2/media",
                session=self.session,
                platform=NAME,
                idempotent=True,
                timeout=self.timeout,
                headers=auth,
                files={"file": (item.upload_name, stream, item.content_type)},
                data={"description": item.alt_text} if item.alt_text else None,
            )
        finally:
            stream.close()
        answer = http.json_body(response)
        if response.status_code in (413, 422):
            raise refused(item, response.status_code, answer)
        if response.status_code >= 400:
            raise_for(response, answer)
        if not isinstance(answer, dict) or not answer.get("id"):
            raise http.unreadable_answer(NAME, idempotent=True)  # an upload is safe to repeat
        return str(answer["id"]), response.status_code != 202

    def _wait_until_processed(
        self, base: str, auth: dict[str, str], item: Attachment, media_id: str, deadline: float, at_once: bool = False
    ) -> None:
        pause = 0.0 if at_once else FIRST_PAUSE
        while True:
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                raise TransientError(
                    f"{NAME} is still processing {describe(item)}; the post will be tried again shortly.",
                    code="media_still_processing",
                )
            if pause:
                self.clock.sleep(min(pause, remaining))
            pause = min(max(pause * 2, FIRST_PAUSE), LONGEST_PAUSE)
            response = http.call(
                "GET",
                f"{base}/api/v1/media/{quote(media_id, safe='')}",
                session=self.session,
                platform=NAME,
                idempotent=True,
                timeout=self.timeout,
                headers=auth,
            )
            if response.status_code == 200:
                return
            if response.status_code == 206:
                continue
            answer = http.json_body(response)
            if response.status_code == 422:  # processing failed: the file itself is at fault
                raise refused(item, 422, answer)
            if response.status_code == 404:
                raise _MediaLostError(f"{NAME} lost {describe(item)} while processing it; it will be uploaded again.")
            raise_for(response, answer)


class _MediaLostError(TransientError):
    """The instance answered 404 for a file being processed: uploading it again is the remedy."""


def check_limits(media: list[Attachment], profile: dict[str, Any]) -> None:
    """Refuse what the instance said, when the account was connected, that it would refuse. Limits
    the profile does not hold are left to the instance to enforce."""
    if not media:
        return
    server = profile.get("domain") or "This Mastodon server"
    most = profile.get("max_media_attachments")
    if most and len(media) > int(most):
        raise PermanentError(
            f"{server} takes at most {int(most)} attachments in a post; this part has {len(media)}.",
            code="too_many_media",
        )
    if len(media) > 1 and any(item.kind == "video" for item in media):
        raise PermanentError(
            "Mastodon takes a video only on its own: this part has a video and other media.", code="too_many_media"
        )
    limits = profile.get("media_attachments") or {}
    for item in media:
        supported = limits.get("supported_mime_types")
        if supported and item.content_type not in supported:
            raise PermanentError(
                f"{server} does not take {item.content_type} files ({describe(item)}).", code="media_type_not_supported"
            )
        size_limit = limits.get(f"{item.kind}_size_limit")
        # Mastodon takes files *smaller* than its size limit; a file of exactly that size is refused.
        if size_limit and item.size >= int(size_limit):
            raise PermanentError(
                f"{server} takes {item.kind}s smaller than {megabytes(int(size_limit))}; "
                f"{describe(item)} is {megabytes(item.size)}.",
                code="media_too_large",
            )
        pixel_limit = limits.get(f"{item.kind}_matrix_limit")
        if pixel_limit and item.width and item.height and item.width * item.height > int(pixel_limit):
            raise PermanentError(
                f"{server} takes {item.kind}s of at most {int(pixel_limit):,} pixels; "
                f"{describe(item)} is {item.width}x{item.height}.",
                code="media_too_large",
            )


def refused(item: Attachment, status: int, answer: Any) -> PermanentError:
    message = answer.get("error") if isinstance(answer, dict) else None
    if not message and status == 413:
        message = "the file is larger than the server accepts"  # a proxy's page, not the instance's words
    return PermanentError(f"{NAME} refused {describe(item)}: {message or f'HTTP {status}'}", code="media_rejected")


def describe(item: Attachment) -> str:
    return f"the {item.kind} {item.filename or item.id}"


def megabytes(size: int) -> str:
    return f"{round(size / 1_048_576, 1):g} MB"


def raise_for(response, answer) -> None:
    message = answer.get("error") if isinstance(answer, dict) else ""
    http.raise_for_answer(NAME, response.status_code, message or "", wait=rate_limit_wait(response.headers))


def rate_limit_wait(headers) -> float | None:
    """Mastodon says when its window resets in ``X-RateLimit-Reset`` (an ISO 8601 time; some
    servers send epoch seconds); a proxy in front may send ``Retry-After`` instead."""
    wait = http.retry_after(headers)
    if wait is not None:
        return wait
    reset = headers.get("X-RateLimit-Reset")
    if not reset:
        return None
    try:
        when = dt.datetime.fromisoformat(reset.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = dt.datetime.fromtimestamp(float(reset), dt.UTC)
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    sent = http.answered_at(headers)  # the instance's clock, not ours
    return min(max((when - sent).total_seconds(), 0.0), http.MAX_RETRY_AFTER) if sent else None

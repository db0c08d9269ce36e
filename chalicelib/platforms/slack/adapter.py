"""Slack: messages a bot posts to one channel.

The account is a bot token and a channel. A thread is a Slack thread: the first part is posted to
the channel, later parts reply under it with ``thread_ts`` set to the first part's ``ts`` (Slack asks
for the parent's ts, never a reply's). Permalinks are built from the workspace URL learned when the
account was connected, in the shape ``chat.getPermalink`` returns, so publishing a text part is
exactly one call: a second call that failed after the message went out would leave us unable to say so.

Images and videos go through Slack's external upload (``files.upload`` is retired): for each
file, ``files.getUploadURLExternal`` (name, length, and ``alt_txt`` for an image) returns a file id
and an upload URL on another host, which takes the bytes; ``files.completeUploadExternal`` then shares
the files. The message that sharing makes has no ``ts`` we can rely on: Slack shares asynchronously
and its answer names the files, not the message (``files[].shares`` is often still empty), and a ts
is what the part's PostRef must be, for the permalink and for later parts to thread under. So a
part with media is, in this order:

1. every file uploaded and not yet shared: nothing is visible, so these calls are safe to repeat,
   and an upload never completed is discarded by Slack;
2. the text, with ``chat.postMessage``: the message users see first, whose ts is the PostRef;
3. the files shared with ``files.completeUploadExternal`` right after it: in the channel under a first
   part (where they read as the rest of the message rather than hide in a thread), in the thread
   under a later part.

Step 3 comes after a visible message, so nothing that fails there may be retried (the text would be
posted twice): it is "outcome unknown", and the user is told the text went out without the files.
A part with media and no text has no message to anchor the files to, and is refused before anything
is sent.

Slack answers most failures with HTTP 200 and ``{"ok": false, "error": "..."}``; the error names
decide the kind. It takes no idempotency key, so a lost answer is "outcome unknown".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from chalicelib.platforms import http
from chalicelib.platforms.base import (
    ApiUrlPlatform,
    Attachment,
    OutcomeUnknownError,
    Part,
    PermanentError,
    PlatformError,
    PostRef,
)
from chalicelib.platforms.slack import PLATFORM

NAME = "Slack"
# The token no longer works, or lacks what posting needs: only reconnecting the account helps.
AUTH_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "not_allowed_token_type",
        "no_permission",
        "team_access_not_granted",
    }
)
# A limit, which Slack names in an HTTP 200 as well as with a 429: chat.postMessage's page lists
# "ratelimited" (wait for Retry-After) and "rate_limited" (the app posted too many messages). Both
# refused the message before posting it, so the engine waits and sends it again.
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})
# Slack failed before doing anything: safe to try again.
TRANSIENT_ERRORS = frozenset({"service_unavailable", "request_timeout", "team_added_to_org"})
# Slack documents these as "some aspect of the operation may have succeeded".
MAYBE_DONE_ERRORS = frozenset({"internal_error", "fatal_error"})

# Slack's error names, with what the user can do about them.
HINTS = {
    "not_in_channel": "not_in_channel (invite the app to the channel)",
    "channel_not_found": "channel_not_found (the channel was deleted, or the app cannot see it)",
    "is_archived": "is_archived (the channel is archived)",
    "msg_too_long": "msg_too_long (the message is too long for Slack)",
    "restricted_action": "restricted_action (the workspace does not let this app post here)",
    "file_uploads_disabled": "file_uploads_disabled (the workspace does not allow file uploads)",
    "file_uploads_except_images_disabled": "file_uploads_except_images_disabled (the workspace allows images only)",
    "file_upload_size_restricted": "file_upload_size_restricted (the workspace limits the size of uploads)",
}
ALT_TEXT_LIMIT = PLATFORM.media.max_alt_text  # alt_txt, per files.getUploadURLExternal (alt_txt_too_large)
UPLOAD_CHUNK = 1024 * 1024


class Slack(ApiUrlPlatform):
    descriptor = PLATFORM  # its name, thread style and idempotency
    media_kinds = frozenset({"image", "video"})
    timeout = http.TIMEOUT
    api_url_setting = "slack_api_url"

    def publish(self, part: Part) -> PostRef:
        profile = self.integration.profile
        api_url, token = self._api_url, self.credentials.value["bot_token"]
        if part.media and not part.text.strip():
            raise PermanentError(
                "Slack shows a post's images and videos with its text, and this part has none: add "
                "text to publish it to Slack. Nothing was sent.",
                code="text_required",
            )
        file_ids = [self._upload(api_url, token, item) for item in part.media]
        body: dict[str, Any] = {"channel": profile["channel_id"], "text": escape(part.text)}
        thread_ts = part.root.id if part.root is not None else None
        if thread_ts:
            body["thread_ts"] = thread_ts
        answer = api_call(
            api_url, "chat.postMessage", token, body, timeout=self.timeout, sends=True, session=self.session
        )
        ts, channel = answer.get("ts"), answer.get("channel") or profile["channel_id"]
        if not ts:
            raise http.unreadable_answer(NAME, idempotent=False)
        if file_ids:
            self._share(api_url, token, file_ids, part.media, channel, thread_ts)
        return PostRef(
            id=str(ts), url=permalink(profile.get("team_url"), channel, ts, thread_ts), extra={"channel": channel}
        )

    def _upload(self, api_url: str, token: str, item: Attachment) -> str:
        """One file, uploaded and not shared; its file id. Safe to repeat: nothing is visible."""
        request: dict[str, Any] = {"filename": item.upload_name, "length": item.size}
        if item.kind == "image" and (item.alt_text or "").strip():
            request["alt_txt"] = alt_text(item.alt_text)
        ticket = api_call(
            api_url, "files.getUploadURLExternal", token, request, timeout=self.timeout, session=self.session
        )
        if not ticket.get("upload_url") or not ticket.get("file_id"):
            http.raise_for_answer(NAME, 502, "files.getUploadURLExternal gave no upload URL")
        # Opened before the request, so storage failing is reported as itself and sends nothing. The
        # upload URL is its own credential: the bot token is not sent to that host.
        stream = item.open()
        try:
            response = http.call(
                "POST",
                ticket["upload_url"],
                session=self.session,
                platform=NAME,
                idempotent=True,
                timeout=self.timeout,
                data=_StreamedFile(stream, item.size),
                headers={"Content-Type": item.content_type},
            )
        finally:
            stream.close()
        if response.status_code != 200:
            # Slack's upload host answers in plain text; its status is what counts. It was never shown
            # the token, so a 401 or 403 there is the URL's, not the account's: a retry gets a new one.
            status = 502 if response.status_code in (401, 403) else response.status_code
            http.raise_for_answer(
                NAME,
                status,
                f"the file upload failed ({response.text[:200].strip()})",
                wait=http.retry_after(response.headers),
            )
        return str(ticket["file_id"])

    def _share(
        self,
        api_url: str,
        token: str,
        file_ids: list[str],
        media: list[Attachment],
        channel: str,
        thread_ts: str | None,
    ) -> None:
        body: dict[str, Any] = {
            "files": json.dumps(
                [{"id": file_id, "title": item.upload_name} for file_id, item in zip(file_ids, media, strict=True)]
            ),
            "channel_id": channel,
        }
        if thread_ts:
            body["thread_ts"] = thread_ts  # Slack asks for the thread's parent, never a reply
        try:
            api_call(
                api_url,
                "files.completeUploadExternal",
                token,
                body,
                timeout=self.timeout,
                sends=True,
                session=self.session,
            )
        except PlatformError as error:
            raise OutcomeUnknownError(
                f"Slack posted the text of this part, but sharing its files failed: {error.message} They may be "
                "missing from the channel. It was not sent again, so the text is not posted twice: check the "
                "channel before publishing this post again."
            ) from None


def api_call(
    api_url: str,
    method: str,
    token: str,
    body: dict[str, Any],
    *,
    session,
    timeout=http.TIMEOUT,
    sends: bool = False,
) -> dict[str, Any]:
    """One Web API method; returns its answer when ``ok``, else raises the engine's error.
    ``sends`` marks a method that publishes (a lost answer may mean it did)."""
    # Form-encoded, which every Web API method accepts (some reading methods refuse JSON). A method
    # that only reads is safe to repeat whatever happened to its answer.
    response = http.call(
        "POST",
        f"{api_url.rstrip('/')}/{method}",
        session=session,
        platform=NAME,
        idempotent=not sends,
        timeout=timeout,
        data=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    answer = http.json_body(response)
    if response.status_code == 200 and isinstance(answer, dict) and answer.get("ok"):
        return answer
    if response.status_code == 200 and not isinstance(answer, dict):
        if sends:
            raise http.unreadable_answer(NAME, idempotent=False)
        http.raise_for_answer(NAME, 502, "an answer that could not be read")
    error = str(answer.get("error") or "") if isinstance(answer, dict) else ""
    status = response.status_code
    if error in RATE_LIMIT_ERRORS or status == 429:
        status = 429
    elif error in TRANSIENT_ERRORS:
        status = 503
    elif error in MAYBE_DONE_ERRORS and sends:
        raise OutcomeUnknownError(
            f"Slack answered {error}, which it says may follow a message that was in fact posted. It was not "
            "sent again: check the channel before publishing this post again."
        )
    elif error in MAYBE_DONE_ERRORS:
        status = 503
    elif status == 200:
        status = 400
    try:
        http.raise_for_answer(
            NAME,
            status,
            HINTS.get(error, error) or f"HTTP {response.status_code}",
            wait=http.retry_after(response.headers),
            auth_failed=error in AUTH_ERRORS,
        )
    except PlatformError as failed:
        failed.platform_error = error or None
        raise


class _StreamedFile:
    """A stored file as a request body: its length known up front (so it goes with a Content-Length,
    as the length given to getUploadURLExternal, not chunked) and its bytes read as they are sent, so
    a large video is never held in memory."""

    def __init__(self, stream: BinaryIO, size: int):
        self._stream, self._size = stream, size

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        return iter(lambda: self._stream.read(UPLOAD_CHUNK), b"")


def alt_text(text: str | None) -> str:
    """Alt text cut to Slack's limit: a shortened description serves a reader better than a post
    refused for its length."""
    text = (text or "").strip()
    return text if len(text) <= ALT_TEXT_LIMIT else text[: ALT_TEXT_LIMIT - 1].rstrip() + "…"


def escape(text: str) -> str:
    """Slack reads ``&``, ``<`` and ``>`` as markup (links, mentions); escaped, they show as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def permalink(team_url: str | None, channel: str, ts: str, thread_ts: str | None = None) -> str | None:
    """A message's permalink, as Slack builds it: the ts without its dot, after a "p"; a reply also
    names its thread so the link opens the thread."""
    if not team_url:
        return None
    url = f"{team_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
    if thread_ts:
        url += f"?thread_ts={thread_ts}&cid={channel}"
    return url

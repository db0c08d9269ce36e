"""Discord: messages sent through a channel's webhook.

The account is the webhook URL (it holds the webhook's token, so it is sealed like any credential).
Every call asks for ``wait=true`` so Discord answers with the message it stored (its id, and the
channel or thread it landed in) instead of an empty 204.

Threads, as Discord lets a webhook make them:
- in a forum (or media) channel every message must open or join a thread: the first part opens a
  forum post named after its first line (``thread_name``), later parts go into it (``thread_id``);
- in a text channel a webhook can neither start a thread nor reply to a message (both need a bot),
  so the parts follow one another in the channel, in order.
The adapter learns which kind of channel it has from Discord's own answer: a forum refuses a message
without a thread name (error 220001) before storing anything, and the part is sent again with one.

Images and videos go in the same request as the text, so a part is still one message made by one
call: ``multipart/form-data`` with the JSON params in ``payload_json`` (``attachments`` lists each
file as ``{id: n, filename, description}``, the description being its alt text) and the bytes in
``files[n]``. A forum post with media opens its thread with them, as a text-only one does.

A webhook takes no idempotency key (Discord's ``nonce`` works only for bots), so a part whose answer
was lost is reported as "outcome unknown" rather than risk posting it twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chalicelib.platforms import http
from chalicelib.platforms.base import Attachment, Part, PermanentError, Platform, PostRef
from chalicelib.platforms.discord import PLATFORM

NAME = "Discord"
# Discord's OpenAPI document (discord/discord-api-spec) serves https://discord.com/api/v10. A path
# without a version goes to Discord's deprecated default version, which is the path Discord's own
# client copies; so whatever version a URL names, or none, it is called on v10.
API_VERSION = 10
WEBHOOK_PATH = re.compile(r"^/api(?:/v\d+)?/webhooks/(\d+)/([\w-]+)/?$")
FORUM_NEEDS_THREAD = 220001  # "Webhooks posted to forum channels must have a thread_name or thread_id"
UNKNOWN_WEBHOOK = 10015  # the webhook was deleted: only reconnecting with a new one helps
INVALID_WEBHOOK_TOKEN = 50027
THREAD_NAME_LIMIT = 100
DESCRIPTION_LIMIT = PLATFORM.media.max_alt_text  # an attachment's description (alt text)
# Discord's upload limit per file in a server without boosts, as the platform declares it. Boosted
# servers take more, but every file of a part is held in memory (requests builds the whole multipart
# body before sending), so a larger file is refused here, before anything is read or sent.
MAX_FILE_BYTES = max(PLATFORM.media.max_image_bytes, PLATFORM.media.max_video_bytes)


class Discord(Platform):
    descriptor = PLATFORM  # its name, thread style and idempotency
    media_kinds = frozenset({"image", "video"})
    timeout = http.TIMEOUT

    def publish(self, part: Part) -> PostRef:
        # Read before the first request, so storage failing sends nothing; a forum's second try
        # sends the same bytes again.
        files = read_files(part.media)
        thread_id = part.root.extra.get("thread_id") if part.root is not None else None
        if thread_id:
            return self._send(part.text, files, params={"thread_id": thread_id})
        try:
            return self._send(part.text, files)
        except _ForumChannelError:
            return self._send(part.text, files, thread_name=thread_name(part.text))

    def _send(
        self, text: str, files: Sequence[_File], *, params: dict[str, str] | None = None, thread_name: str | None = None
    ) -> PostRef:
        # A message of files alone goes without content.
        body: dict[str, Any] = {"content": text} if text or not files else {}
        if thread_name:
            body["thread_name"] = thread_name
        if files:
            body["attachments"] = [file.described(n) for n, file in enumerate(files)]
            request: dict[str, Any] = {
                "data": {"payload_json": json.dumps(body)},
                "files": [(f"files[{n}]", (file.name, file.data, file.content_type)) for n, file in enumerate(files)],
            }
        else:
            request = {"json": body}
        # Normalised on every call: accounts connected before v10 was pinned hold an unversioned URL.
        response = http.call(
            "POST",
            webhook_url(self.credentials.value["webhook_url"]),
            session=self.session,
            platform=NAME,
            idempotent=False,
            timeout=self.timeout,
            params={"wait": "true", **(params or {})},
            **request,
        )
        answer = http.json_body(response)
        if response.status_code >= 400:
            raise_for(response, answer, forum_retry=thread_name is None and not params)
        if not isinstance(answer, dict) or not answer.get("id"):
            raise http.unreadable_answer(NAME, idempotent=False)
        channel_id = str(answer.get("channel_id") or self.integration.profile.get("channel_id") or "")
        extra = {}
        # A message that opened a forum post lives in its own thread (whose id is the channel id of
        # the answer); later parts of the post join it.
        if thread_name or (params or {}).get("thread_id"):
            extra["thread_id"] = channel_id
        return PostRef(
            id=str(answer["id"]), url=message_url(self.integration.profile, channel_id, answer["id"]), extra=extra
        )


def webhook_url(url: str) -> str:
    """The webhook's URL on the API version openpost speaks, whichever version (or none) it names."""
    parts = urlsplit(url)
    found = WEBHOOK_PATH.match(parts.path)
    if found is None:
        return url
    webhook_id, token = found.groups()
    return f"{parts.scheme}://{parts.netloc}/api/v{API_VERSION}/webhooks/{webhook_id}/{token}"


class _ForumChannelError(Exception):
    """The webhook's channel is a forum: the part must open a thread (nothing was stored)."""


@dataclass(frozen=True)
class _File:
    name: str
    content_type: str
    data: bytes
    description: str | None

    def described(self, n: int) -> dict[str, Any]:
        """The file's entry in ``attachments``: its id is the n of its ``files[n]`` part."""
        entry: dict[str, Any] = {"id": n, "filename": self.name}
        if self.description:
            entry["description"] = self.description
        return entry


def read_files(media: list[Attachment]) -> list[_File]:
    too_large = [item for item in media if item.size > MAX_FILE_BYTES]
    if too_large:
        raise PermanentError(
            f"Discord takes files of at most {MAX_FILE_BYTES // (1024 * 1024)} MiB through a webhook; "
            f"{len(too_large)} file(s) of this post are larger.",
            code="media_too_large",
        )
    return [_File(item.upload_name, item.content_type, item.read(), alt_text(item.alt_text)) for item in media]


def alt_text(text: str | None) -> str | None:
    """Alt text cut to Discord's limit: a shortened description serves a reader better than a post
    refused for its length."""
    text = (text or "").strip()
    if len(text) <= DESCRIPTION_LIMIT:
        return text or None
    return text[: DESCRIPTION_LIMIT - 1].rstrip() + "…"


def thread_name(text: str) -> str:
    """A forum post's title: the first non-empty line of the first part, cut to Discord's limit."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "") or "Post"
    return first if len(first) <= THREAD_NAME_LIMIT else first[: THREAD_NAME_LIMIT - 1].rstrip() + "…"


def message_url(profile: dict[str, Any], channel_id: str, message_id: Any) -> str | None:
    guild_id = profile.get("guild_id")
    if not guild_id or not channel_id:
        return None
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def raise_for(response, answer, *, forum_retry: bool = False) -> None:
    body = answer if isinstance(answer, dict) else {}
    code = body.get("code")
    if forum_retry and response.status_code == 400 and code == FORUM_NEEDS_THREAD:
        raise _ForumChannelError()
    message = str(body.get("message") or "")
    if body.get("errors"):
        # Discord nests field errors ({"content": {"_errors": [{"message": ...}]}}); the first says enough.
        message = f"{message} ({_first_field_error(body['errors'])})" if message else _first_field_error(body["errors"])
    http.raise_for_answer(
        NAME,
        response.status_code,
        message,
        wait=http.retry_after(response.headers, body.get("retry_after")),
        auth_failed=code in (UNKNOWN_WEBHOOK, INVALID_WEBHOOK_TOKEN),
    )


def _first_field_error(errors: Any, path: str = "") -> str:
    if isinstance(errors, dict):
        if isinstance(errors.get("_errors"), list) and errors["_errors"]:
            return f"{path or 'body'}: {errors['_errors'][0].get('message', '')}"
        for key, value in errors.items():
            found = _first_field_error(value, f"{path}.{key}" if path else str(key))
            if found:
                return found
    return ""

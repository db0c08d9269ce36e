"""Telegram: messages a bot sends to one chat (a channel, a group or a private chat).

The account is a bot token and a chat. A thread is a reply chain: each later part replies to the
previous one (``reply_parameters``). Text is sent without a parse mode, so it shows exactly as
written. A message has a public link only in a chat with a public username (t.me/name/id), or, for
members, in a supergroup or channel (t.me/c/id/id).

A part with media is one call, the text as the caption: one image is ``sendPhoto``, one video
``sendVideo``, one GIF ``sendAnimation`` (so it still moves); two to ten files are an album,
``sendMediaGroup``, with the caption on the first item, where the official apps show it under the
whole album. The album's answer is its messages; the part is the first of them, which later parts
reply to. Files go up as ``multipart/form-data``: a single file in the method's own field
(``photo``, ``video``, ``animation``), an album's files in parts its items name as
``attach://<name>``. Telegram has no alt text field, so alt text is not sent.

Every failure comes as ``{"ok": false, "error_code", "description", "parameters"}``, with the wait
of a flood limit in ``parameters.retry_after``. Telegram takes no idempotency key, so a lost answer
is "outcome unknown", for media as for text: each of these calls makes the visible message. The bot
token is part of the URL path: it never appears in a message here.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.platforms import http
from chalicelib.platforms.base import ApiUrlPlatform, Attachment, Part, PermanentError, PostRef
from chalicelib.platforms.telegram import PLATFORM

NAME = "Telegram"
CAPTION_LIMIT = 1024
# What the Bot API takes by upload, as the platform declares it (photos 10 MB, other files 50 MB): one
# figure for the API's check and this one. Every file of a part is held in memory (requests builds
# the whole multipart body before sending), so a larger file is refused here, before anything is
# read or sent; a GIF goes as an animation, a file like a video. Telegram checks the exact limits.
MAX_BYTES = {
    "photo": PLATFORM.media.max_image_bytes,
    "video": PLATFORM.media.max_video_bytes,
    "animation": PLATFORM.media.max_video_bytes,
}
SINGLE_METHODS = {"photo": "sendPhoto", "video": "sendVideo", "animation": "sendAnimation"}

Files = dict[str, tuple[str, bytes, str]]


class Telegram(ApiUrlPlatform):
    descriptor = PLATFORM  # its name, thread style and idempotency
    media_kinds = frozenset({"image", "video"})
    timeout = http.TIMEOUT
    api_url_setting = "telegram_api_url"

    def publish(self, part: Part) -> PostRef:
        profile = self.integration.profile
        body: dict[str, Any] = {"chat_id": profile["chat_id"]}
        if part.reply_to is not None:
            # Refuse rather than post a reply that lost its parent (deleted meanwhile): the thread
            # would read out of order.
            body["reply_parameters"] = {"message_id": int(part.reply_to.id), "allow_sending_without_reply": False}
        files: Files | None = None
        if part.media:
            method, files = media_request(part.media, part.text, body)
        else:
            method, body["text"] = "sendMessage", part.text
        result = api_call(
            self._api_url,
            self.credentials.value["bot_token"],
            method,
            body,
            timeout=self.timeout,
            sends=True,
            files=files,
            session=self.session,
        )
        message = result[0] if isinstance(result, list) and result else result  # an album: its first
        if not isinstance(message, dict) or "message_id" not in message:
            raise http.unreadable_answer(NAME, idempotent=False)
        chat = message.get("chat") or {}
        return PostRef(
            id=str(message["message_id"]),
            url=message_link(
                chat.get("username") or profile.get("chat_username"),
                chat.get("id", profile["chat_id"]),
                message["message_id"],
            ),
        )


def media_request(media: list[Attachment], text: str, body: dict[str, Any]) -> tuple[str, Files]:
    """The method and files that send ``media`` with ``text`` as their caption; fills ``body``.
    Checks everything it can before reading a byte, so a refusal sends nothing."""
    if len(text) > CAPTION_LIMIT:
        # Telegram counts after parsing entities; with no parse mode that is the text as written.
        raise PermanentError(
            f"Telegram allows at most {CAPTION_LIMIT} characters of text with images or videos; this part has "
            f"{len(text)}.",
            code="character_limit_exceeded",
        )
    album = len(media) > 1
    kinds = [telegram_kind(item, album) for item in media]
    for item, kind in zip(media, kinds, strict=True):
        if item.size > MAX_BYTES[kind]:
            raise PermanentError(
                f"Telegram takes a {kind} of at most {MAX_BYTES[kind] // (1024 * 1024)} MiB from "
                f"a bot; {item.filename or item.id} is larger.",
                code="media_too_large",
            )
    if not album:
        kind, item = kinds[0], media[0]
        if text:
            body["caption"] = text
        body.update(dimensions(item, kind))
        return SINGLE_METHODS[kind], {kind: (item.upload_name, item.read(), item.content_type)}
    files = {f"file{n}": (item.upload_name, item.read(), item.content_type) for n, item in enumerate(media)}
    items = []
    for n, (item, kind) in enumerate(zip(media, kinds, strict=True)):
        entry: dict[str, Any] = {"type": kind, "media": f"attach://file{n}", **dimensions(item, kind)}
        if n == 0 and text:
            entry["caption"] = text
        items.append(entry)
    body["media"] = items
    return "sendMediaGroup", files


def telegram_kind(item: Attachment, album: bool) -> str:
    if item.kind == "video":
        return "video"
    # An album takes only photos and videos: a GIF in one is shown as a still photo.
    return "animation" if item.content_type == "image/gif" and not album else "photo"


def dimensions(item: Attachment, kind: str) -> dict[str, int]:
    """A video's size, so the player has its shape before the file loads (a photo's Telegram reads)."""
    if kind == "photo" or not item.width or not item.height:
        return {}
    return {"width": item.width, "height": item.height}


def api_call(
    api_url: str,
    token: str,
    method: str,
    body: dict[str, Any],
    *,
    session,
    timeout=http.TIMEOUT,
    sends: bool = False,
    files: Files | None = None,
) -> Any:
    """One Bot API method; returns its ``result``, else raises the engine's error. With ``files`` the
    request is multipart, where the Bot API wants objects (reply_parameters, media) as JSON strings."""
    if files:
        fields = {key: json.dumps(value) if isinstance(value, (dict, list)) else value for key, value in body.items()}
        request: dict[str, Any] = {"data": fields, "files": files}
    else:
        request = {"json": body}
    response = http.call(
        "POST",
        f"{api_url.rstrip('/')}/bot{token}/{method}",
        session=session,
        platform=NAME,
        idempotent=not sends,
        timeout=timeout,
        **request,
    )
    answer = http.json_body(response)
    if response.status_code == 200 and isinstance(answer, dict) and answer.get("ok"):
        return answer.get("result")
    if not isinstance(answer, dict):
        if response.status_code == 200 and sends:
            raise http.unreadable_answer(NAME, idempotent=False)
        http.raise_for_answer(
            NAME, response.status_code if response.status_code >= 400 else 502, "an answer that could not be read"
        )
    status = int(answer.get("error_code") or response.status_code)
    parameters = answer.get("parameters") or {}
    description = str(answer.get("description") or "")
    if parameters.get("migrate_to_chat_id"):
        description += (
            f" (the group is now the supergroup {parameters['migrate_to_chat_id']}: reconnect it with that chat id)"
        )
    http.raise_for_answer(
        NAME, status, description, wait=http.retry_after(response.headers, parameters.get("retry_after"))
    )


def posting_refusal(chat_type: str, member: dict[str, Any]) -> tuple[str, str] | None:
    """Why a bot whose ChatMember (from ``getChatMember``) is ``member`` cannot post to a chat of
    ``chat_type``, as (code, what to do), or None when it can. After the Bot API's ChatMember kinds:
    ``left`` and ``kicked`` are outside the chat, as is a ``restricted`` one with ``is_member`` false;
    in a channel only the ``creator`` and an ``administrator`` with ``can_post_messages`` post; a
    ``restricted`` member posts only with ``can_send_messages``."""
    status = member.get("status")
    if status in ("left", "kicked") or (status == "restricted" and not member.get("is_member", True)):
        advice = "for a channel, as an administrator allowed to post messages" if chat_type == "channel" else ""
        return "bot_not_in_chat", f"add the bot to the {chat_type}{' (' + advice + ')' if advice else ''}"
    if (
        chat_type == "channel"
        and status != "creator"
        and not (status == "administrator" and member.get("can_post_messages"))
    ):
        return "bot_cannot_post", "make the bot an administrator of the channel with the right to post messages"
    if status == "restricted" and not member.get("can_send_messages"):
        return "bot_cannot_post", f"let the bot send messages in the {chat_type} (lift its restriction)"
    return None


def message_link(username: str | None, chat_id: Any, message_id: Any) -> str | None:
    if username:
        return f"https://t.me/{username}/{message_id}"
    chat = str(chat_id)
    if chat.startswith("-100"):  # supergroups and channels: a link for their members
        return f"https://t.me/c/{chat[4:]}/{message_id}"
    return None  # private chats and basic groups have no message links

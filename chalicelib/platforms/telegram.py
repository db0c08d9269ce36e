"""Telegram: messages a bot sends to one chat (a channel, a group or a private chat).

The account is a bot token and a chat. A thread is a reply chain: each later part replies to the
previous one (``reply_parameters``). Text is sent without a parse mode, so it shows exactly as
written. A message has a public link only in a chat with a public username (t.me/name/id), or, for
members, in a supergroup or channel (t.me/c/id/id).

Every failure comes as ``{"ok": false, "error_code", "description", "parameters"}``, with the wait
of a flood limit in ``parameters.retry_after``. Telegram takes no idempotency key, so a lost answer
is "outcome unknown". The bot token is part of the URL path: it never appears in a message here.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from chalicelib.platforms import http
from chalicelib.platforms.base import Part, Platform, PostRef

NAME = "Telegram"


class Telegram(Platform):
    name = "telegram"
    thread_style = "reply"
    idempotent = False
    max_images = 10
    timeout = http.TIMEOUT

    def __init__(self, integration, credentials=None, api_url: Optional[str] = None):
        super().__init__(integration, credentials)
        self._api_url = api_url

    def publish(self, part: Part) -> PostRef:
        profile = self.integration.profile
        body: Dict[str, Any] = {"chat_id": profile["chat_id"], "text": part.text}
        if part.reply_to is not None:
            # Refuse rather than post a reply that lost its parent (deleted meanwhile): the thread
            # would read out of order.
            body["reply_parameters"] = {"message_id": int(part.reply_to.id), "allow_sending_without_reply": False}
        message = api_call(self._api_url or http.current_settings().telegram_api_url,
                           self.credentials.value["bot_token"], "sendMessage", body, timeout=self.timeout,
                           sends=True)
        if not isinstance(message, dict) or "message_id" not in message:
            raise http.unreadable_answer(NAME, idempotent=False)
        chat = message.get("chat") or {}
        return PostRef(id=str(message["message_id"]),
                       url=message_link(chat.get("username") or profile.get("chat_username"),
                                        chat.get("id", profile["chat_id"]), message["message_id"]))


def api_call(api_url: str, token: str, method: str, body: Dict[str, Any], *, timeout=http.TIMEOUT,
             sends: bool = False) -> Any:
    """One Bot API method; returns its ``result``, else raises the engine's error."""
    response = http.call("POST", f"{api_url.rstrip('/')}/bot{token}/{method}", platform=NAME,
                         idempotent=not sends, timeout=timeout, json=body)
    answer = http.json_body(response)
    if response.status_code == 200 and isinstance(answer, dict) and answer.get("ok"):
        return answer.get("result")
    if not isinstance(answer, dict):
        if response.status_code == 200 and sends:
            raise http.unreadable_answer(NAME, idempotent=False)
        http.raise_for_answer(NAME, response.status_code if response.status_code >= 400 else 502,
                              "an answer that could not be read")
    status = int(answer.get("error_code") or response.status_code)
    parameters = answer.get("parameters") or {}
    description = str(answer.get("description") or "")
    if parameters.get("migrate_to_chat_id"):
        description += (f" (the group is now the supergroup {parameters['migrate_to_chat_id']}: reconnect it with "
                        "that chat id)")
    http.raise_for_answer(NAME, status, description,
                          wait=http.retry_after(response.headers, parameters.get("retry_after")))


def message_link(username: Optional[str], chat_id: Any, message_id: Any) -> Optional[str]:
    if username:
        return f"https://t.me/{username}/{message_id}"
    chat = str(chat_id)
    if chat.startswith("-100"):        # supergroups and channels: a link for their members
        return f"https://t.me/c/{chat[4:]}/{message_id}"
    return None                        # private chats and basic groups have no message links

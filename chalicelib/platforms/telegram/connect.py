"""Connecting a Telegram chat: a bot token and the chat, checked with the Bot API.

The token is checked with ``getMe``, the chat with ``getChat`` and the bot's right to post there
with ``getChatMember``: 422 ``chat_not_found``, ``bot_not_in_chat`` or ``bot_cannot_post`` (in a
channel the bot must be an administrator allowed to post), rather than a first post that fails.
"""

from __future__ import annotations

from typing import Any

from chalicelib.platforms.base import AuthenticationFailedError, PermanentError
from chalicelib.platforms.connecting import ConnectContext, ConnectedAccount, refused


def check(body, context: ConnectContext) -> ConnectedAccount:
    from chalicelib.platforms.telegram import adapter  # requests: only connecting pays for it

    api_url = context.settings.telegram_api_url
    bot = adapter.api_call(api_url, body.bot_token, "getMe", {}, session=context.session)
    chat = _chat(api_url, body.bot_token, body.chat_id, bot, context.session)
    title = (
        chat.get("title") or " ".join(filter(None, (chat.get("first_name"), chat.get("last_name")))) or str(chat["id"])
    )
    return ConnectedAccount(
        account_id=f"{bot['id']}/{chat['id']}",
        username=f"@{chat['username']}" if chat.get("username") else str(chat["id"]),
        display_name=title,
        credentials={"bot_token": body.bot_token},
        profile={
            "chat_id": chat["id"],
            "chat_username": chat.get("username"),
            "chat_type": chat.get("type"),
            "bot_id": bot["id"],
            "bot_username": bot.get("username"),
        },
    )


def _chat(api_url: str, token: str, chat_id: str, bot: dict[str, Any], session) -> dict[str, Any]:
    """The chat, once the bot (``getMe``'s answer) is known to be able to post there."""
    from chalicelib.platforms.telegram import adapter

    name = f"@{bot.get('username') or bot['id']}"
    try:
        chat = adapter.api_call(api_url, token, "getChat", {"chat_id": chat_id}, session=session)
    except AuthenticationFailedError as error:
        # getMe accepted the token, so a 403 here is about this chat: the bot was removed from it.
        raise refused(
            "bot_not_in_chat",
            "chat_id",
            f"{name} cannot reach chat {chat_id} ({error.message}): add the bot to the chat, then connect again.",
        ) from None
    except PermanentError:
        raise refused(
            "chat_not_found",
            "chat_id",
            f"Telegram has no chat {chat_id} that {name} can see: check the @username or numeric id, and "
            "add the bot to the chat.",
        ) from None
    if chat.get("type") == "private":
        return chat  # a private chat with the bot: the user started it, the bot may answer
    member = adapter.api_call(
        api_url, token, "getChatMember", {"chat_id": chat["id"], "user_id": bot["id"]}, session=session
    )
    refusal = adapter.posting_refusal(str(chat.get("type") or "chat"), member)
    if refusal is not None:
        code, advice = refusal
        title = chat.get("title") or chat_id
        where = "is not a member of" if code == "bot_not_in_chat" else "may not post in"
        raise refused(
            code,
            "chat_id",
            f"{name} {where} {title} (its status there: {member.get('status')}): {advice}, then connect again.",
        )
    return chat

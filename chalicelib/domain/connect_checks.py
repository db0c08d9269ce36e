"""What connecting a chat account checks beyond "the credentials work": the things users trip on.

A bot token that works is not yet an account that can post. The bot may never have been added to the
Telegram chat, or added without the right to post; the Slack app may not be in the channel; a
Discord webhook URL may name a webhook that was deleted. Each of these would otherwise surface only
when the first post fails. Here each is a 422 with a stable ``code`` and a ``detail`` that says what
to do, naming the field to fix.

Platform calls go through the adapters' own ``api_call`` helpers, so their errors arrive as the
engine's kinds; the connect route turns the rest (refused tokens, platforms that cannot be reached)
into its usual answers.
"""
from __future__ import annotations

from typing import Any, Dict

from chalicelib.errors import ValidationError
from chalicelib.platforms.base import AuthenticationFailedError, PermanentError


def refused(code: str, field: str, detail: str) -> ValidationError:
    return ValidationError(detail, code=code, errors=[{"field": field, "message": detail}])


# --- Telegram ----------------------------------------------------------------------------------------
def telegram_chat(api_url: str, token: str, chat_id: str, bot: Dict[str, Any]) -> Dict[str, Any]:
    """The chat, once the bot (``getMe``'s answer) is known to be able to post there."""
    from chalicelib.platforms import telegram

    name = f"@{bot.get('username') or bot['id']}"
    try:
        chat = telegram.api_call(api_url, token, "getChat", {"chat_id": chat_id})
    except AuthenticationFailedError as error:
        # getMe accepted the token, so a 403 here is about this chat: the bot was removed from it.
        raise refused("bot_not_in_chat", "chat_id", f"{name} cannot reach chat {chat_id} ({error.message}): add "
                                                    "the bot to the chat, then connect again.") from None
    except PermanentError:
        raise refused("chat_not_found", "chat_id",
                      f"Telegram has no chat {chat_id} that {name} can see: check the @username or numeric id, and "
                      "add the bot to the chat.") from None
    if chat.get("type") == "private":
        return chat          # a private chat with the bot: the user started it, the bot may answer
    member = telegram.api_call(api_url, token, "getChatMember", {"chat_id": chat["id"], "user_id": bot["id"]})
    refusal = telegram.posting_refusal(str(chat.get("type") or "chat"), member)
    if refusal is not None:
        code, advice = refusal
        title = chat.get("title") or chat_id
        where = "is not a member of" if code == "bot_not_in_chat" else "may not post in"
        raise refused(code, "chat_id", f"{name} {where} {title} (its status there: {member.get('status')}): "
                                       f"{advice}, then connect again.")
    return chat


# --- Slack -------------------------------------------------------------------------------------------
def slack_channel(api_url: str, token: str, channel_id: str, team: Dict[str, Any]) -> Dict[str, Any]:
    """The channel, once the app (``auth.test``'s answer) is known to be in it."""
    from chalicelib.platforms import slack

    app = f"@{team.get('user') or 'the app'}"
    try:
        channel = slack.api_call(api_url, "conversations.info", token, {"channel": channel_id})["channel"]
    except AuthenticationFailedError:
        raise
    except PermanentError as error:
        if error.platform_error != "channel_not_found":
            raise
        raise refused("channel_not_found", "channel",
                      f"Slack has no channel {channel_id} that {app} can see: check the channel's id (channel "
                      f"details > About); a private channel shows only once the app is in it (/invite {app}).") \
            from None
    if not channel.get("is_member"):
        # conversations.info reports the caller's membership: a bot that is not in the channel gets
        # not_in_channel from chat.postMessage.
        raise refused("bot_not_in_channel", "channel",
                      f"{app} is not in #{channel.get('name') or channel_id}: type /invite {app} in the channel, "
                      "then connect again.")
    return channel


# --- Discord -----------------------------------------------------------------------------------------
UNKNOWN_WEBHOOK = 10015
INVALID_WEBHOOK_TOKEN = 50027


def discord_webhook(url: str, webhook_id: str) -> Dict[str, Any]:
    """The webhook (``GET`` on its URL), refused with ``webhook_not_found`` when Discord has no
    webhook at that URL: deleted, or its token mistyped."""
    from chalicelib.platforms import http

    response = http.call("GET", url, platform="Discord", idempotent=True)
    answer = http.json_body(response)
    body = answer if isinstance(answer, dict) else {}
    where = "Channel settings > Integrations > Webhooks"
    if response.status_code == 404 or body.get("code") == UNKNOWN_WEBHOOK:
        raise refused("webhook_not_found", "webhook_url",
                      f"Discord has no webhook {webhook_id}: it was deleted, or the URL is mistyped. Copy the URL "
                      f"again from {where}.")
    if response.status_code == 401 or body.get("code") == INVALID_WEBHOOK_TOKEN:
        raise refused("webhook_not_found", "webhook_url",
                      f"Discord's webhook {webhook_id} does not take the token at the end of this URL (it was "
                      f"reset, or the URL is cut short). Copy the URL again from {where}.")
    if response.status_code >= 400:
        http.raise_for_answer("Discord", response.status_code, str(body.get("message") or ""),
                              wait=http.retry_after(response.headers, body.get("retry_after")))
    if not isinstance(answer, dict):
        http.raise_for_answer("Discord", 502, "an answer that could not be read")
    return answer

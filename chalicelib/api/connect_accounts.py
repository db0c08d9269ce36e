"""Connecting Mastodon, Discord, Slack and Telegram accounts with the credentials their users hold.

Each route checks the credentials with the platform itself before anything is stored: an account
that cannot be used is refused here (422 ``invalid_credentials``), not discovered when its first
post fails. What the platform says about the account (its name, its limits) becomes the
integration's profile; the secrets are sealed with the tokens key and never shown again.

The four routes are literal paths, so they never compete with another platform's connect route.

URLs a user gives us (a Mastodon instance, a Discord webhook) are where we will send their token:
they must be HTTPS and resolve to public addresses, or to loopback when the deployment allows it for
local development (``allow_loopback_platforms``).
"""
from __future__ import annotations

import contextlib
import ipaddress
import socket
from typing import Any, Dict, Iterator, Optional, Tuple
from urllib.parse import urlsplit

from pydantic import Field

from chalicelib.api.integrations import IntegrationOut
from chalicelib.api.routing import ApiBlueprint, Call
from chalicelib.api.schemas import RequestModel
from chalicelib.container import services
from chalicelib.domain import connect_checks
from chalicelib.errors import ServiceUnavailableError, ValidationError
from chalicelib.platforms.base import AuthenticationFailedError, PermanentError, TransientError

blueprint = ApiBlueprint(__name__, tag="Integrations")

ERRORS = (400, 422, 503)
DISCORD_HOSTS = frozenset({"discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com"})


# --- request bodies ------------------------------------------------------------------------------
class ConnectMastodon(RequestModel):
    instance_url: str = Field(min_length=1, max_length=300, examples=["https://mastodon.social"],
                              description="The account's server. A bare domain means https.")
    access_token: str = Field(min_length=1, max_length=500, description="An access token with write:statuses.")


class ConnectDiscord(RequestModel):
    webhook_url: str = Field(min_length=1, max_length=500,
                             examples=["https://discord.com/api/webhooks/123456789012345678/abcDEF"],
                             description="The channel's webhook URL (Channel settings > Integrations > Webhooks).")


class ConnectSlack(RequestModel):
    bot_token: str = Field(min_length=1, max_length=500, pattern=r"^\S+$",
                           description="The app's bot token (xoxb-...), with chat:write, and files:write "
                                       "and files:read to post media.")
    channel: str = Field(min_length=1, max_length=40, pattern=r"^[A-Z0-9]+$", examples=["C0123456789"],
                         description="The channel's id (channel details > About); invite the app to the channel.")


class ConnectTelegram(RequestModel):
    bot_token: str = Field(min_length=1, max_length=200, pattern=r"^\d+:[\w-]+$",
                           description="The bot's token from @BotFather.")
    chat_id: str = Field(min_length=1, max_length=64, pattern=r"^(@[A-Za-z][A-Za-z0-9_]{3,}|-?\d+)$",
                         examples=["@my_channel", "-1001234567890"],
                         description="The chat's @username or numeric id; the bot must be allowed to post there.")


# What a Mastodon instance says of the files it takes (configuration.media_attachments), kept on the
# integration's profile for the adapter's checks before an upload.
MASTODON_MEDIA_LIMITS = ("supported_mime_types", "image_size_limit", "image_matrix_limit",
                         "video_size_limit", "video_matrix_limit", "video_frame_rate_limit")


# --- routes --------------------------------------------------------------------------------------
@blueprint.operation("POST", "/v1/integrations/mastodon/connect", summary="Connect a Mastodon account",
                     status=201, body=ConnectMastodon, response=IntegrationOut, errors=ERRORS)
def connect_mastodon(call: Call):
    """Checks the token with the server (`verify_credentials`) and reads the server's limits from
    `/api/v2/instance`: posts to this account are measured against its `max_characters`."""
    _live_only(call)
    body: ConnectMastodon = call.body
    base = _user_url(body.instance_url if "://" in body.instance_url else f"https://{body.instance_url}",
                     "instance_url")
    base = f"{urlsplit(base).scheme}://{urlsplit(base).netloc}"
    with _platform_errors("Mastodon"):
        account = _get_json("Mastodon", f"{base}/api/v1/accounts/verify_credentials",
                            headers={"Authorization": f"Bearer {body.access_token}"})
        instance = _mastodon_instance(base)
    statuses = (instance.get("configuration") or {}).get("statuses") or {}
    media = (instance.get("configuration") or {}).get("media_attachments") or {}
    domain = instance.get("domain") or instance.get("uri") or urlsplit(base).hostname
    username = str(account.get("acct") or account.get("username") or account["id"])
    profile = {
        "instance_url": base, "domain": domain,
        "max_characters": int(statuses.get("max_characters") or instance.get("max_toot_chars") or 500),
        "characters_reserved_per_url": int(statuses.get("characters_reserved_per_url") or 23),
        "max_media_attachments": int(statuses.get("max_media_attachments") or 4),
        # What the instance takes as files: the adapter refuses a part outside them before uploading.
        "media_attachments": {name: media[name] for name in MASTODON_MEDIA_LIMITS if media.get(name) is not None},
    }
    integration = services().integrations.connect(
        call.principal, "mastodon", account_id=f"{account['id']}@{domain}",
        username=username if "@" in username else f"{username}@{domain}",
        display_name=account.get("display_name") or username,
        # The instance URL is sealed with the token: the token goes only where it was issued.
        credentials={"instance_url": base, "access_token": body.access_token},
        profile=profile, avatar_url=account.get("avatar"))
    return IntegrationOut.of(integration)


@blueprint.operation("POST", "/v1/integrations/discord/connect", summary="Connect a Discord channel webhook",
                     status=201, body=ConnectDiscord, response=IntegrationOut, errors=ERRORS)
def connect_discord(call: Call):
    """Checks the webhook with Discord and learns its name and channel. Posts go to that channel; in a
    forum channel each post opens a forum post, and a thread's later parts go into it."""
    _live_only(call)
    url, webhook_id = _discord_webhook_url(call.body.webhook_url)
    with _platform_errors("Discord"):
        webhook = connect_checks.discord_webhook(url, webhook_id)
    name = str(webhook.get("name") or f"webhook {webhook_id}")
    avatar = webhook.get("avatar")
    integration = services().integrations.connect(
        call.principal, "discord", account_id=str(webhook.get("id") or webhook_id), username=name,
        display_name=name, credentials={"webhook_url": url},
        profile={"webhook_id": str(webhook.get("id") or webhook_id), "channel_id": str(webhook.get("channel_id") or ""),
                 "guild_id": str(webhook.get("guild_id") or "")},
        avatar_url=f"https://cdn.discordapp.com/avatars/{webhook_id}/{avatar}.png" if avatar else None)
    return IntegrationOut.of(integration)


@blueprint.operation("POST", "/v1/integrations/slack/connect", summary="Connect a Slack channel",
                     status=201, body=ConnectSlack, response=IntegrationOut, errors=ERRORS)
def connect_slack(call: Call):
    """Checks the bot token (`auth.test`) and that the app is in the channel (`conversations.info`):
    422 `channel_not_found` or `bot_not_in_channel` otherwise."""
    from chalicelib.platforms import slack

    _live_only(call)
    body: ConnectSlack = call.body
    api_url = services().settings.slack_api_url
    with _platform_errors("Slack"):
        team = slack.api_call(api_url, "auth.test", body.bot_token, {})
        channel = connect_checks.slack_channel(api_url, body.bot_token, body.channel, team)
    name = channel.get("name") or channel["id"]
    integration = services().integrations.connect(
        call.principal, "slack", account_id=f"{team.get('team_id')}/{channel['id']}", username=f"#{name}",
        display_name=f"#{name} ({team.get('team') or team.get('team_id')})",
        credentials={"bot_token": body.bot_token},
        profile={"team_id": team.get("team_id"), "team_url": team.get("url"), "channel_id": channel["id"],
                 "channel_name": name, "bot_user_id": team.get("user_id")})
    return IntegrationOut.of(integration)


@blueprint.operation("POST", "/v1/integrations/telegram/connect", summary="Connect a Telegram chat",
                     status=201, body=ConnectTelegram, response=IntegrationOut, errors=ERRORS)
def connect_telegram(call: Call):
    """Checks the bot token (`getMe`), the chat (`getChat`) and that the bot may post there
    (`getChatMember`): 422 `chat_not_found`, `bot_not_in_chat` or `bot_cannot_post` otherwise."""
    from chalicelib.platforms import telegram

    _live_only(call)
    body: ConnectTelegram = call.body
    api_url = services().settings.telegram_api_url
    with _platform_errors("Telegram"):
        bot = telegram.api_call(api_url, body.bot_token, "getMe", {})
        chat = connect_checks.telegram_chat(api_url, body.bot_token, body.chat_id, bot)
    title = chat.get("title") or " ".join(filter(None, (chat.get("first_name"), chat.get("last_name")))) \
        or str(chat["id"])
    integration = services().integrations.connect(
        call.principal, "telegram", account_id=f"{bot['id']}/{chat['id']}",
        username=f"@{chat['username']}" if chat.get("username") else str(chat["id"]), display_name=title,
        credentials={"bot_token": body.bot_token},
        profile={"chat_id": chat["id"], "chat_username": chat.get("username"), "chat_type": chat.get("type"),
                 "bot_id": bot["id"], "bot_username": bot.get("username")})
    return IntegrationOut.of(integration)


# --- helpers -------------------------------------------------------------------------------------
def _live_only(call: Call) -> None:
    # Before any call to a platform: a test key never reaches one.
    if call.principal.mode != "live":
        raise ValidationError("Connect accounts with a live key: test mode publishes to sandbox accounts only "
                              "and never reaches a platform.", code="live_mode_required")


@contextlib.contextmanager
def _platform_errors(platform: str) -> Iterator[None]:
    """What the platform said, as the API's answer: refused credentials are the caller's to fix
    (422); a platform that cannot be reached now is worth trying again (503)."""
    try:
        yield
    except (AuthenticationFailedError, PermanentError) as error:
        raise ValidationError(f"{platform} refused these credentials: {error.message}",
                              code="invalid_credentials") from None
    except TransientError as error:
        unavailable = ServiceUnavailableError(f"{platform} could not be reached to check the credentials "
                                              f"({error.message}); try again.",
                                              retry_after=max(2, int(error.retry_after or 2)))
        unavailable.code = "platform_unavailable"
        raise unavailable from None
    except (KeyError, TypeError, ValueError) as error:
        unavailable = ServiceUnavailableError(f"{platform} answered in an unexpected shape ({error!r}); try again.")
        unavailable.code = "platform_unavailable"
        raise unavailable from None


def _get_json(platform: str, url: str, headers: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    from chalicelib.platforms import http   # requests costs ~0.1 s: only connecting pays for it

    response = http.call("GET", url, platform=platform, idempotent=True, headers=headers or {})
    answer = http.json_body(response)
    if response.status_code >= 400:
        body = answer if isinstance(answer, dict) else {}
        message = str(body.get("error") or body.get("message") or "")
        http.raise_for_answer(platform, response.status_code, message, wait=http.retry_after(response.headers))
    if not isinstance(answer, dict):
        http.raise_for_answer(platform, 502, "an answer that could not be read")
    return answer


def _mastodon_instance(base: str) -> Dict[str, Any]:
    try:
        return _get_json("Mastodon", f"{base}/api/v2/instance")
    except PermanentError:
        # Servers older than Mastodon 4.0 have only the first version of the endpoint.
        return _get_json("Mastodon", f"{base}/api/v1/instance")


def _discord_webhook_url(given: str) -> Tuple[str, str]:
    from chalicelib.platforms import discord   # requests costs ~0.1 s: only connecting pays for it

    parts = urlsplit(given.strip())
    found = discord.WEBHOOK_PATH.match(parts.path)
    loopback = services().settings.allow_loopback_platforms and _is_loopback_host(parts.hostname)
    if found is None or parts.query or parts.fragment or not (parts.hostname in DISCORD_HOSTS or loopback):
        raise ValidationError("This is not a Discord webhook URL.", code="invalid_credentials",
                              errors=[{"field": "webhook_url",
                                       "message": "Expected https://discord.com/api/webhooks/{id}/{token} "
                                                  "(a version after /api, such as /v10, is fine)."}])
    _user_url(given.strip(), "webhook_url")
    # Stored on the API version openpost speaks (v10), whatever version the pasted URL names.
    return discord.webhook_url(given.strip()), found.group(1)


def _user_url(url: str, field: str) -> str:
    """A URL we may send a user's secret to: HTTPS to a public address (or, where allowed, anything
    on loopback). Checked by resolving the name, so a public-looking name that points inside the
    network is refused too."""
    def refuse(message: str) -> ValidationError:
        return ValidationError(f"{field} cannot be used: {message}", code="invalid_url",
                               errors=[{"field": field, "message": message}])

    parts = urlsplit(url)
    host = parts.hostname
    if not host or parts.username or parts.password:
        raise refuse("it needs a host name, and no user or password.")
    try:
        port = parts.port
    except ValueError:
        raise refuse("its port is not a number from 1 to 65535.") from None
    allow_loopback = services().settings.allow_loopback_platforms
    if _is_loopback_host(host) and allow_loopback:
        if parts.scheme not in ("http", "https"):
            raise refuse("it must be an http(s) URL.")
        return url
    if parts.scheme != "https":
        raise refuse("it must be an https URL.")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        raise refuse(f"{host} could not be found.") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global and not (allow_loopback and ip.is_loopback):
            raise refuse(f"{host} is not a public address.")
    return url


def _is_loopback_host(host: Optional[str]) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

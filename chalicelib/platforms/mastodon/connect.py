"""Connecting a Mastodon account: an instance URL and an access token, checked with the instance.

The token is checked with ``verify_credentials`` and the instance's limits read from
``/api/v2/instance``: posts to this account are measured against its ``max_characters``, and its
media limits are kept for the adapter's checks before an upload.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from chalicelib.platforms.base import PermanentError
from chalicelib.platforms.connecting import ConnectContext, ConnectedAccount, get_json

NAME = "Mastodon"
# What a Mastodon instance says of the files it takes (configuration.media_attachments), kept on the
# integration's profile for the adapter's checks before an upload.
MEDIA_LIMITS = (
    "supported_mime_types",
    "image_size_limit",
    "image_matrix_limit",
    "video_size_limit",
    "video_matrix_limit",
    "video_frame_rate_limit",
)


def check(body, context: ConnectContext) -> ConnectedAccount:
    base = context.user_url(
        body.instance_url if "://" in body.instance_url else f"https://{body.instance_url}", "instance_url"
    )
    base = f"{urlsplit(base).scheme}://{urlsplit(base).netloc}"
    account = get_json(
        NAME,
        f"{base}/api/v1/accounts/verify_credentials",
        headers={"Authorization": f"Bearer {body.access_token}"},
        session=context.session,
    )
    instance = _instance(base, context.session)
    statuses = (instance.get("configuration") or {}).get("statuses") or {}
    media = (instance.get("configuration") or {}).get("media_attachments") or {}
    domain = instance.get("domain") or instance.get("uri") or urlsplit(base).hostname
    username = str(account.get("acct") or account.get("username") or account["id"])
    profile = {
        "instance_url": base,
        "domain": domain,
        "max_characters": int(statuses.get("max_characters") or instance.get("max_toot_chars") or 500),
        "characters_reserved_per_url": int(statuses.get("characters_reserved_per_url") or 23),
        "max_media_attachments": int(statuses.get("max_media_attachments") or 4),
        # What the instance takes as files: the adapter refuses a part outside them before uploading.
        "media_attachments": {name: media[name] for name in MEDIA_LIMITS if media.get(name) is not None},
    }
    return ConnectedAccount(
        account_id=f"{account['id']}@{domain}",
        username=username if "@" in username else f"{username}@{domain}",
        display_name=account.get("display_name") or username,
        # The instance URL is sealed with the token: the token goes only where it was issued.
        credentials={"instance_url": base, "access_token": body.access_token},
        profile=profile,
        avatar_url=account.get("avatar"),
    )


def _instance(base: str, session) -> dict[str, Any]:
    try:
        return get_json(NAME, f"{base}/api/v2/instance", session=session)
    except PermanentError:
        # Servers older than Mastodon 4.0 have only the first version of the endpoint.
        return get_json(NAME, f"{base}/api/v1/instance", session=session)

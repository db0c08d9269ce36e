"""X (formerly Twitter): posts and reply-chain threads through X API v2, on OAuth 2.0 user tokens.

What openpost knows of the platform, declared for the registry (chalicelib/platforms/registry.py);
see chalicelib/platforms/descriptor.py for what each field means.
"""

from __future__ import annotations

import importlib
from fractions import Fraction
from typing import Literal

from chalicelib.media.spec import GIF, JPEG, MOV, MP4, PNG, WEBP, MediaRules, MiB, aspect
from chalicelib.platforms import shapes
from chalicelib.platforms.descriptor import (
    REPLY,
    Connect,
    DeploymentSetting,
    Metrics,
    PlatformDescriptor,
    PlatformSettingsModel,
    SandboxIdentity,
    TextLimit,
    TextRule,
)
from chalicelib.text.units import UTF16_UNITS, WEIGHTED

NAME, TITLE = "twitter", "X"

# twitter-text v3 (chalicelib/text/twitter.py): URLs 23, CJK and emoji 2, NFC. 280 for most
# accounts; X Premium allows 25,000, so an account may carry its own maximum.
TEXT = TextRule(text=(TextLimit(280, WEIGHTED),), adjustable=True)

# X. Media upload docs (docs.x.com/x-api/media, "Best practices"): up to 4 photos, 1 animated
# GIF or 1 video in a Post; JPG, PNG, GIF, WEBP; image <= 5 MB, animated GIF <= 15 MB. The
# upload endpoint counts in MiB ("File size exceeds 5242880 bytes", and 536870912 for video).
# Video: MP4 or MOV, 512 MB by the media introduction; the best-practices page now gives 8 GB
# for Post video (16 GB for Premium), we keep the figure every account gets. Video aspect ratio
# "must be between 1:3 and 3:1". Alt text: 1,000 characters (POST /2/media/metadata), unit not
# documented: UTF-16. A GIF goes alone: X cannot tell us before upload whether it animates,
# and an animated one takes the whole post.
MEDIA = MediaRules(
    platform=NAME,
    name=TITLE,
    max_images=4,
    max_videos=1,
    max_media=4,
    image_types=frozenset({JPEG, PNG, GIF, WEBP}),
    video_types=frozenset({MP4, MOV}),
    max_image_bytes=5 * MiB,
    max_video_bytes=512 * MiB,
    type_max_bytes={GIF: 15 * MiB},
    images_with_video=False,
    alone_types=frozenset({GIF}),
    alt_text=True,
    max_alt_text=1000,
    alt_text_unit=UTF16_UNITS,
    video_aspect=aspect(Fraction(1, 3), 3, "1:3 and 3:1"),
)


class TwitterSettings(PlatformSettingsModel):
    # reply_settings of POST /2/tweets; "everyone" is X's default and is sent as no setting.
    who_can_reply: Literal["everyone", "following", "mentionedUsers", "subscribers", "verified"] | None = None


PLATFORM = PlatformDescriptor(
    name=NAME,
    title=TITLE,
    aliases=("x",),
    text=TEXT,
    media=MEDIA,
    thread_style=REPLY,
    # POST /2/tweets takes no idempotency key: a call whose answer was lost may have published.
    idempotent=False,
    connect=Connect(
        kind="oauth",
        consent="chalicelib.platforms.twitter.connect:consent",
        finish="chalicelib.platforms.twitter.connect:finish",
        callback_path="/api/platforms/twitter/callback",
        handle_prefix="@",
        summary="Start connecting an X account",
        description="Starts the OAuth 2.0 (PKCE) flow that connects an X account to the workspace, in live mode. "
        "Open `url` in the user's browser; after they approve, X sends them to `redirect_uri`, which "
        "finishes the connection. The attempt expires after 10 minutes and works once.",
        callback_summary="Finish connecting an X account",
        callback_description="Where X sends the user's browser after the consent screen. Exchanges the code for "
        "the account's tokens and creates the integration (or reconnects the existing one, "
        "keeping its id). 400 when the state is unknown, used or expired, or the user "
        "declined. A browser gets a small HTML page saying what happened; a client that sends "
        "`Accept: application/json` gets the integration (or the problem) as JSON.",
    ),
    settings=TwitterSettings,
    sandbox=SandboxIdentity(
        username="openpost_sandbox",
        display_name="openpost Sandbox (X)",
        post_id=shapes.snowflake(1288834974657),  # X's snowflake epoch: ids carry their creation time
        url="{base}/twitter/{handle}/status/{id}",
    ),
    adapter="chalicelib.platforms.twitter.adapter:Twitter",
    deployment_settings=(
        DeploymentSetting("x_api_url", "https://api.x.com"),
        DeploymentSetting("x_authorize_url", "https://x.com/i/oauth2/authorize"),
    ),
    # A confidential client ("Web App" in X's developer portal): the secret authenticates the
    # token calls with HTTP Basic; connecting is OAuth 2.0 with PKCE.
    app_credentials=("client_id", "client_secret"),
    # GET /2/tweets?ids= (100 a call); X charges per post read, so reads are metered.
    metrics=Metrics(reader="chalicelib.platforms.twitter.metrics:XMetrics", batch=100, metered=True),
)


def __getattr__(attribute: str):
    # The adapter's names (its class, its helpers) as the platform's own, loaded on first use:
    # importing the descriptor loads neither an HTTP client nor a platform SDK.
    if attribute.startswith("__"):
        raise AttributeError(attribute)
    return getattr(importlib.import_module(f"{__name__}.adapter"), attribute)

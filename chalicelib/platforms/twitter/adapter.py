"""The X adapter: posts and threads through X API v2, on the account's OAuth 2.0 user tokens.

X offers no idempotency key for ``POST /2/tweets``, so the one thing this adapter must never do is
repeat a call that may have reached X: a timeout after the request was sent is reported as
``outcome_unknown`` and the engine fails the target rather than risk a second post. A call X refused
before acting (a 401, a 429, a 5xx, a connection that never opened) is safe to repeat.

Access tokens last two hours and refresh tokens rotate: each refresh token works once and the answer
carries the next one. Losing that answer, or overwriting it with an older one, disconnects the
account. So a refresh is stored with the credentials' compare-and-set (``AccountCredentials.replace``),
and a worker whose refresh token was already spent by another worker reads the winner's tokens
instead of giving up.

Media goes up before the post, through X's chunked upload (initialize, append the file piece by
piece, finalize, then wait while X processes a GIF or video, then set each image's alt text). An
upload posts nothing and unattached media simply expires on X, so every failure during it is safe
to retry: a timeout there is a TransientError, never "outcome unknown", and a retry uploads afresh.
Waiting for processing is bounded well under the publisher's Lambda timeout; a video X is still
processing then is retried later rather than waited for past the worker's end.
"""

from __future__ import annotations

import base64
import functools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import requests

from chalicelib.errors import GrantRejectedError
from chalicelib.observability import logger
from chalicelib.platforms import http
from chalicelib.platforms.base import (
    Attachment,
    AuthenticationFailedError,
    Deployment,
    OutcomeUnknownError,
    Part,
    PermanentError,
    Platform,
    PlatformRateLimitedError,
    PostRef,
    TransientError,
)
from chalicelib.platforms.oauth_client import OAuthClient
from chalicelib.platforms.oauth_client import bearer as _bearer
from chalicelib.platforms.twitter import PLATFORM

# media.write: X refuses every media upload call from a token granted without it.
SCOPES = "tweet.read tweet.write users.read media.write offline.access"
# Refresh a token that has less than this left: a post must not start on a token that dies mid-call.
REFRESH_MARGIN_SECONDS = 300
# X keeps unattached media about a day (initialize says how long); a kept upload this close to its
# end is uploaded again rather than risk attaching an id X is about to drop.
UPLOAD_LIFETIME_SECONDS = 86400
EXPIRY_MARGIN_SECONDS = 300
# When X refuses our refresh token, another worker may have just rotated it and be about to save
# the new one: read the stored tokens again after these pauses before declaring the account lost.
RACE_WAITS = (0.0, 0.3, 1.0)
# X takes appends of at most 5 MB; a smaller piece leaves room for the multipart envelope and is
# all a worker holds of a video at any time.
CHUNK_BYTES = 4 * 1024 * 1024
# Seconds a part keeps, of the worker's remaining time, for what follows the wait for X to process
# its media (the post itself, recording it): past that, stop waiting and let the engine try again
# later, since a worker killed mid-wait reports nothing at all. With a 60 s publisher that leaves 40 s.
RESERVE_SECONDS = 20.0
# What X takes in one post (up to 4 images, or a single GIF, or a single video), and the upload limit
# of each media category, from the platform's declared media rules: X has the last word, these only
# spare a doomed upload.
MAX_IMAGES = PLATFORM.media.max_images
ALT_TEXT_MAX_CHARACTERS = PLATFORM.media.max_alt_text
MAX_BYTES = {
    "tweet_image": PLATFORM.media.max_image_bytes,
    "tweet_gif": PLATFORM.media.max_bytes("image/gif"),
    "tweet_video": PLATFORM.media.max_video_bytes,
}

T = TypeVar("T")


class XUnauthorizedError(Exception):
    """X answered 401 to a bearer call: the access token is not (or no longer) valid."""


def _message(response: requests.Response) -> str:
    """X's own words for a refusal. X's OpenAPI document answers failures in two shapes: ``Error``
    (``{"code", "message"}``) and a problem (``type``, ``title``, ``detail``); a 400 also lists
    ``errors`` with a message each, and the token endpoint says ``error_description``."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors and isinstance(errors, list) and isinstance(errors[0], dict) and errors[0].get("message"):
        return str(errors[0]["message"])
    if isinstance(body, dict):
        for name in ("message", "detail", "error_description", "title"):
            if isinstance(body.get(name), str) and body[name]:
                return body[name]
    return response.reason


class XClient(OAuthClient):
    """The few X API v2 calls openpost makes, with X's answers turned into the adapter's errors."""

    platform = PLATFORM

    @classmethod
    def api_url_for(cls, settings) -> str:
        return settings.x_api_url

    # --- OAuth 2.0 -------------------------------------------------------------------------------
    def exchange_code(self, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        return self._token(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
        )

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def _token(self, form: dict[str, str]) -> dict[str, Any]:
        app = self._app_credentials()
        response = self._token_call(form, app)
        if response.status_code in (400, 401):
            # The secret may have just been rotated (at X, then in Secrets Manager) while this
            # container still holds the old one: a refusal is worth one more call, if the secret
            # read afresh differs. X refused before acting, so the code or refresh token is unspent.
            newer = self._app_credentials(fresh=True)
            if newer != app:
                response = self._token_call(form, newer)
        if response.status_code in (400, 401):
            raise GrantRejectedError(_message(response))
        self._raise_for(response)
        body = response.json()
        return {
            "access_token": body["access_token"],
            "refresh_token": body.get("refresh_token"),
            "expires_at": int(self._clock.time()) + int(body.get("expires_in") or 7200),
        }

    def _token_call(self, form: dict[str, str], app: Mapping[str, str]) -> requests.Response:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        pair = f"{app['client_id']}:{app['client_secret']}".encode()
        # A confidential client authenticates with HTTP Basic.
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        # A timeout here is not "outcome unknown" for a post, but a refresh X performed and we never
        # heard of has spent the refresh token: the next try will find it refused and ask the user
        # to reconnect. Nothing better is possible without X's answer.
        return self._call("POST", "/2/oauth2/token", data=form, headers=headers, may_have_acted=False)

    # --- bearer calls ----------------------------------------------------------------------------
    def me(self, access_token: str) -> dict[str, str]:
        response = self._call("GET", "/2/users/me", headers=_bearer(access_token), may_have_acted=False)
        self._raise_for(response)
        return response.json()["data"]

    def create_tweet(self, access_token: str, body: dict[str, Any]) -> dict[str, str]:
        response = self._call("POST", "/2/tweets", json=body, headers=_bearer(access_token), may_have_acted=True)
        self._raise_for(response)
        try:
            return response.json()["data"]
        except (ValueError, KeyError, TypeError) as exc:
            # X said it created the post but we cannot tell which one: as unknown as a timeout.
            raise OutcomeUnknownError(
                "X accepted the post but its answer could not be read; it was not sent "
                "again. Check the account before publishing this post again."
            ) from exc

    # --- media upload ----------------------------------------------------------------------------
    # None of these posts anything, so none of them "may have acted": a timeout is worth a retry.
    def initialize_upload(self, access_token: str, media_type: str, total_bytes: int, category: str) -> dict[str, Any]:
        response = self._call(
            "POST",
            "/2/media/upload/initialize",
            headers=_bearer(access_token),
            may_have_acted=False,
            json={"media_type": media_type, "total_bytes": total_bytes, "media_category": category},
        )
        return self._upload_data(response)

    def append_upload(self, access_token: str, media_id: str, segment_index: int, chunk: bytes) -> None:
        response = self._call(
            "POST",
            f"/2/media/upload/{media_id}/append",
            headers=_bearer(access_token),
            may_have_acted=False,
            data={"segment_index": str(segment_index)},
            files={"media": ("blob", chunk, "application/octet-stream")},
        )
        self._raise_for_upload(response)

    def finalize_upload(self, access_token: str, media_id: str) -> dict[str, Any]:
        response = self._call(
            "POST", f"/2/media/upload/{media_id}/finalize", headers=_bearer(access_token), may_have_acted=False
        )
        return self._upload_data(response)

    def upload_status(self, access_token: str, media_id: str) -> dict[str, Any]:
        response = self._call(
            "GET",
            "/2/media/upload",
            params={"media_id": media_id, "command": "STATUS"},
            headers=_bearer(access_token),
            may_have_acted=False,
        )
        return self._upload_data(response)

    def set_alt_text(self, access_token: str, media_id: str, alt_text: str) -> None:
        response = self._call(
            "POST",
            "/2/media/metadata",
            headers=_bearer(access_token),
            may_have_acted=False,
            json={"id": media_id, "metadata": {"alt_text": {"text": alt_text}}},
        )
        self._raise_for_upload(response)

    def _upload_data(self, response: requests.Response) -> dict[str, Any]:
        self._raise_for_upload(response)
        try:
            data = response.json()["data"]
        except (ValueError, KeyError, TypeError):
            data = None
        if not isinstance(data, dict) or not data.get("id"):
            # Nothing was posted, so an answer we cannot read costs only a fresh upload later.
            raise TransientError(f"X's answer to a media upload (HTTP {response.status_code}) could not be read.")
        return data

    def _raise_for_upload(self, response: requests.Response) -> None:
        if response.status_code == 403:
            # Most often a token granted before openpost asked for media.write: only a reconnect
            # grants it, as a refresh keeps the scopes first granted.
            raise PermanentError(
                f"X refused to take media from this account (HTTP 403): {_message(response)}. "
                "Reconnect the X account to allow openpost to upload media.",
                code="platform_rejected",
            )
        self._raise_for(response, refused="the media", code="media_rejected")

    # --- plumbing --------------------------------------------------------------------------------
    def _raise_for(
        self, response: requests.Response, refused: str = "the post", code: str = "platform_rejected"
    ) -> None:
        status = response.status_code
        if status < 400:
            return
        if status == 401:
            raise XUnauthorizedError(_message(response))
        if status == 429:
            raise self._rate_limited(response)
        if status >= 500:
            raise TransientError(f"X answered HTTP {status}: {_message(response)}")
        raise PermanentError(f"X refused {refused} (HTTP {status}): {_message(response)}", code=code)

    def _rate_limited(self, response: requests.Response) -> PlatformRateLimitedError:
        """X's 429, with the wait until the limit that ran out reopens. X sends no Retry-After; it says
        when each window resets (epoch seconds). Posting is also capped per 24 hours, per user and per
        app (``x-user-limit-24hour-*``, ``x-app-limit-24hour-*``): when one of those has nothing left, the
        15-minute reset is not when posting reopens, and retrying then only spends attempts."""
        words = _message(response)
        # The resets are on X's clock: measured from its Date header, a skew of ours is no matter.
        answered = http.answered_at(response.headers)
        now = answered.timestamp() if answered else self._clock.time()
        daily = [
            (float(reset) - now, whose)
            for prefix, whose in DAILY_CAPS
            for reset in [response.headers.get(f"{prefix}-reset") or ""]
            if response.headers.get(f"{prefix}-remaining") == "0" and reset.isdigit()
        ]
        if daily:
            wait, whose = max(daily)
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(now + wait))
            return PlatformRateLimitedError(
                f"X's 24-hour limit on posts for {whose} is used up until {when}; publishing "
                f"resumes then. X said: {words}",
                retry_after=max(1.0, wait),
            )
        reset = response.headers.get("x-rate-limit-reset")
        wait = max(1.0, float(reset) - now) if reset and reset.isdigit() else None
        return PlatformRateLimitedError(
            f"X's rate limit for this account is used up until the window resets. X said: {words}", retry_after=wait
        )


# The 24-hour caps X reports in headers on POST /2/tweets, and whose cap each one is.
DAILY_CAPS = (("x-user-limit-24hour", "this account"), ("x-app-limit-24hour", "openpost's X app"))


def tweet_body(part: Part, media_ids: Sequence[str] = ()) -> dict[str, Any]:
    """The POST /2/tweets body for one part."""
    # Always sent, "" for a post of media alone: X's OpenAPI document gives text the default "" because
    # X's backend rejects a body without it (CreatePostsRequest.text).
    body: dict[str, Any] = {"text": part.text}
    if media_ids:
        body["media"] = {"media_ids": list(media_ids)}
    if part.reply_to is not None:
        body["reply"] = {"in_reply_to_tweet_id": part.reply_to.id}
    # X's default is everyone and it has no value for it: everyone means leaving the field out.
    # Every tweet of a thread gets the same setting, so no part is more open than the first.
    who = part.settings.get("who_can_reply")
    if who and who != "everyone":
        body["reply_settings"] = who
    return body


def media_category(content_type: str) -> str:
    """X's use-case name for a file: it sets the limits X checks and whether X processes the file."""
    if content_type == "image/gif":
        return "tweet_gif"
    return "tweet_video" if content_type.startswith("video/") else "tweet_image"


_KIND_NAMES = {"tweet_image": "images", "tweet_gif": "GIFs", "tweet_video": "videos"}


def _check_media(media: Sequence[Attachment]) -> None:
    """Refuses, before anything is uploaded, what X would refuse only after the upload."""
    categories = [media_category(item.content_type) for item in media]
    if len(media) > 1 and any(category != "tweet_image" for category in categories):
        raise PermanentError(
            f"X takes a GIF or a video alone in a post, with no other media; this part has {len(media)} files.",
            code="too_many_media",
        )
    if len(media) > MAX_IMAGES:
        raise PermanentError(
            f"X takes at most {MAX_IMAGES} images in a post; this part has {len(media)}.", code="too_many_images"
        )
    for item, category in zip(media, categories, strict=True):
        name = item.filename or item.id
        if item.size > MAX_BYTES[category]:
            raise PermanentError(
                f"{name} is {item.size / 1048576:.1f} MB; X takes {_KIND_NAMES[category]} of at "
                f"most {MAX_BYTES[category] // 1048576} MB.",
                code="media_too_large",
            )
        if category != "tweet_video" and len(item.alt_text or "") > ALT_TEXT_MAX_CHARACTERS:
            raise PermanentError(
                f"The alt text of {name} is {len(item.alt_text)} characters; X takes at most "
                f"{ALT_TEXT_MAX_CHARACTERS}.",
                code="alt_text_too_long",
            )


class Twitter(Platform):
    descriptor = PLATFORM  # its name, thread style and idempotency
    media_kinds = frozenset({"image", "video"})

    def __init__(
        self,
        integration,
        credentials=None,
        client: XClient | None = None,
        chunk_bytes: int = CHUNK_BYTES,
        **shared: Any,
    ):
        super().__init__(integration, credentials, **shared)
        if client is None:
            raise TypeError("an X adapter needs an XClient: build it with Twitter.build")
        self._client = client
        self._chunk_bytes = chunk_bytes
        self._tokens: dict[str, Any] = {}

    @classmethod
    def build(cls, integration, credentials=None, deployment: Deployment | None = None, **options: Any):
        if options.get("client") is None and deployment is not None:
            options["client"] = XClient.for_deployment(deployment)
        return super().build(integration, credentials, deployment, **options)

    def publish(self, part: Part) -> PostRef:
        self._check_length(part.text)
        _check_media(part.media)
        deadline = self.clock.monotonic() + part.budget(RESERVE_SECONDS)
        self._tokens = self._current_tokens()
        media_ids = [self._upload(item, deadline, part) for item in part.media]
        body = tweet_body(part, media_ids)
        data = self._as_account(lambda token: self._client.create_tweet(token, body))
        username = (self.integration.username or "i").lstrip("@")
        return PostRef(id=data["id"], url=f"https://x.com/{username}/status/{data['id']}")

    def read_as_account(self, path: str, params: Mapping[str, str], refused: str = "the read") -> requests.Response:
        """``GET path`` on X's API as the account, for readers beside publishing (metrics): its
        current token (taken once per adapter, as a publish takes it, refreshed when near its end),
        once more with a refreshed one if X refuses it. The answer, once it is a success (its headers
        say what is left of X's rate limit); X's refusals as the engine's errors. Nothing is posted:
        a lost answer is transient."""
        if not self._tokens:
            self._tokens = self._current_tokens()

        def read(token: str) -> requests.Response:
            response = self._client._call(
                "GET", path, params=dict(params), headers=_bearer(token), may_have_acted=False
            )
            if response.status_code == 401:
                raise XUnauthorizedError("X refused the token")
            return response

        response = self._as_account(read)
        self._client._raise_for(response, refused=refused)
        return response

    def _as_account(self, call: Callable[[str], T]) -> T:
        """``call`` with the account's access token; once more with a refreshed one if X refused it."""
        try:
            return call(self._tokens["access_token"])
        except XUnauthorizedError:
            # X refused the token before doing anything, so one repeat with a fresh token is safe.
            self._tokens = self._refresh(self._tokens)
            try:
                return call(self._tokens["access_token"])
            except XUnauthorizedError:
                raise self._needs_reconnect("X refused the account's newly refreshed token") from None

    # --- media -----------------------------------------------------------------------------------
    def _upload(self, attachment: Attachment, deadline: float, part: Part) -> str:
        """Uploads one file (or takes up the upload an earlier attempt left processing), waits until
        X can attach it, sets its alt text; returns X's media id."""
        category = media_category(attachment.content_type)
        media_id, info = self._earlier_upload(part.uploads.get(attachment.id))
        if media_id is None:
            started = self._as_account(
                lambda token: self._client.initialize_upload(token, attachment.content_type, attachment.size, category)
            )
            media_id = started["id"]
            for index, chunk in enumerate(attachment.chunks(self._chunk_bytes)):
                self._as_account(
                    functools.partial(self._client.append_upload, media_id=media_id, segment_index=index, chunk=chunk)
                )
            info = self._as_account(lambda token: self._client.finalize_upload(token, media_id)).get("processing_info")
            if info:
                # Kept until X drops unattached media, so a retry resumes the wait rather than
                # uploading again and restarting processing that may outlast every attempt.
                lifetime = float(started.get("expires_after_secs") or UPLOAD_LIFETIME_SECONDS)
                part.keep(attachment.id, {"media_id": media_id, "expires_at": self.clock.time() + lifetime})
        self._await_processing(media_id, info, deadline, attachment)
        if attachment.alt_text and category != "tweet_video":
            # X documents alt text for images and GIFs only.
            self._as_account(lambda token: self._client.set_alt_text(token, media_id, attachment.alt_text))
        return media_id

    def _earlier_upload(self, handle: dict[str, Any] | None) -> tuple[str | None, dict[str, Any] | None]:
        """The media id an earlier attempt uploaded and its processing state, if X still has it."""
        if not handle or float(handle.get("expires_at") or 0) < self.clock.time() + EXPIRY_MARGIN_SECONDS:
            return None, None
        try:
            status = self._as_account(lambda token: self._client.upload_status(token, handle["media_id"]))
        except PermanentError:
            return None, None  # X no longer knows it: upload again
        return handle["media_id"], status.get("processing_info")

    def _await_processing(
        self, media_id: str, info: dict[str, Any] | None, deadline: float, attachment: Attachment
    ) -> None:
        """Returns once X has processed the media (at once when X said nothing of processing)."""
        while info and info.get("state") != "succeeded":
            if info.get("state") == "failed":
                # X's processing_info has state, check_after_secs and progress_percent only (its OpenAPI
                # document): no reason, so the user learns which file and what X is known to refuse.
                raise PermanentError(
                    f"X could not process {attachment.filename or attachment.id} ({attachment.content_type}, "
                    f"{attachment.size} bytes) and gives no reason: check that it plays, and that X takes its "
                    "codec, length and frame size.",
                    code="media_rejected",
                )
            wait = max(1.0, float(info.get("check_after_secs") or 0))  # never a busy loop against X
            if self.clock.monotonic() + wait > deadline:
                raise TransientError(
                    "X is still processing the media; publishing will be tried again later, taking up the same upload.",
                    code="media_still_processing",
                )
            self.clock.sleep(wait)
            info = self._as_account(lambda token: self._client.upload_status(token, media_id)).get("processing_info")

    # --- tokens ----------------------------------------------------------------------------------
    def _current_tokens(self) -> dict[str, Any]:
        tokens = self.credentials.value if self.credentials is not None else {}
        if not tokens or not tokens.get("access_token"):
            raise self._needs_reconnect("no X tokens are stored for this account")
        if float(tokens.get("expires_at") or 0) - self.clock.time() < REFRESH_MARGIN_SECONDS:
            tokens = self._refresh(tokens)
        return tokens

    def _refresh(self, stale: dict[str, Any]) -> dict[str, Any]:
        """New tokens for ``stale`` ones, stored before use; the newest stored tokens if another
        worker (or a reconnect) replaced them first."""
        stored = self._reread()
        if (
            stored.get("access_token")
            and stored.get("access_token") != stale.get("access_token")
            and float(stored.get("expires_at") or 0) - self.clock.time() >= REFRESH_MARGIN_SECONDS
        ):
            return stored  # someone refreshed already: their tokens are good, ours are spent
        refresh_token = stored.get("refresh_token")
        if not refresh_token:
            raise self._needs_reconnect("X gave this account no refresh token")
        try:
            fresh = self._client.refresh(refresh_token)
        except GrantRejectedError:
            winner = self._winner_of_a_race(refresh_token)
            if winner is None:
                raise self._needs_reconnect("X no longer accepts the account's refresh token") from None
            return winner
        if not fresh.get("refresh_token"):
            fresh["refresh_token"] = refresh_token
        kept = self.credentials.replace(fresh)
        logger.info(
            "x tokens refreshed",
            extra={
                "integration_id": self.integration.id,
                "kept_ours": kept.get("access_token") == fresh["access_token"],
            },
        )
        return kept

    def _winner_of_a_race(self, spent: str) -> dict[str, Any] | None:
        """X refused ``spent``: if another worker rotated it, its save shows up in the table within
        moments. None when nobody did (the user revoked access, or the token expired)."""
        for pause in RACE_WAITS:
            if pause:
                self.clock.sleep(pause)
            stored = self._reread()
            if stored.get("refresh_token") and stored["refresh_token"] != spent:
                return stored
        return None

    def _reread(self) -> dict[str, Any]:
        """The credentials as stored now, not as this adapter first read them."""
        return self.credentials.reload()

    def _needs_reconnect(self, why: str) -> AuthenticationFailedError:
        return AuthenticationFailedError(f"The X account @{self.integration.username} needs to be reconnected: {why}.")

    def _check_length(self, text: str) -> None:
        from chalicelib.text.limits import check

        # Refusing here costs nothing; X would refuse it too, after a call against the rate limit.
        violations = check("twitter", text, field="text")
        if violations:
            raise PermanentError(violations[0].message, code="text_too_long")

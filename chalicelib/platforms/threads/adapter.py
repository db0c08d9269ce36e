"""The Threads adapter: posts, carousels and reply-chain threads through the Threads API.

Publishing on Threads is two calls (Meta's Threads posts documentation): create a media container
(``POST /{threads-user-id}/threads``), then publish it (``POST /{threads-user-id}/threads_publish``
with ``creation_id``). Images and videos are not uploaded: Threads fetches them from a URL, so each
file goes as a short-lived presigned GET of our media bucket. A container is processed before it
can be published (statuses IN_PROGRESS, FINISHED, ERROR, EXPIRED, PUBLISHED per Meta's
troubleshooting page; publishing one that is not FINISHED answers code 24, subcode 4279009), so the
adapter polls its status within the worker's remaining time.

Neither call takes an idempotency key. Creating a container publishes nothing, so a failure there is
always safe to retry. A publish whose answer was lost may have published: it is ``outcome_unknown``
and never sent again. The container is kept (``Part.keep``) as soon as it exists, so a later attempt
(after a 5xx, or a wait for processing that ran out of time) takes it up: it asks the container's
status first, and a container already PUBLISHED is never published again nor created afresh.

Graph errors come as HTTP 400 with a ``code`` (Meta's Graph API error-handling guide): 190 is a
token that no longer works, 4/17/32/613 are throttling, 1 and 2 are transient unless
``is_transient`` says otherwise, 10 a permission not granted. The adapter reads the code, never the
status alone.

Long-lived tokens last 60 days and can be refreshed once at least 24 hours old and unexpired
(``GET /refresh_access_token?grant_type=th_refresh_token``); an expired one cannot be refreshed and
the user must reconnect. The adapter refreshes a token with less than REFRESH_WITHIN_SECONDS left and
stores the new one with the credentials' compare-and-set, as the X adapter does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import requests

from chalicelib.errors import GrantRejectedError
from chalicelib.observability import logger
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

# Meta's Postman collection authenticates with "Authorization: Bearer"; it keeps the token out of
# URLs (and the logs that record them).
from chalicelib.platforms.oauth_client import bearer as _bearer
from chalicelib.platforms.threads import PLATFORM

# Object and edge calls are versioned; the token endpoints are not (restfb/restfb#1450:
# /v1.0/access_token is "Unsupported request").
VERSION = "v1.0"
# threads_basic is "Required for all Threads endpoints", threads_content_publish "Required for
# Threads publishing endpoints only" (Meta, access tokens and permissions). Comma-separated, as
# Meta's sample app joins them.
# threads_manage_insights: analytics read each post's insights (views, likes, replies, ...).
SCOPES = "threads_basic,threads_content_publish,threads_manage_insights"
# Long-lived tokens live 60 days and may be refreshed from 24 hours old: refreshing a week ahead
# leaves an account that publishes rarely plenty of chances, and never starts a post on a token
# that could die mid-call.
REFRESH_WITHIN_SECONDS = 7 * 24 * 3600
LONG_LIVED_SECONDS = 60 * 24 * 3600
# Seconds a part keeps, of the worker's remaining time, for what follows the wait for Threads to
# process its media (publishing, recording it): past that, stop waiting and let the engine try
# again later, taking up the same container.
RESERVE_SECONDS = 20.0
# Pauses between status checks, the last repeated. Images are usually ready at once; Meta advises
# waiting "about 30 seconds" before publishing a video, so the checks widen rather than hammer.
POLL_WAITS = (0.5, 1.0, 2.0, 3.0, 5.0)
# A container not published within 24 hours expires (troubleshooting page): an older kept one is
# created afresh rather than asked about. The margin covers the clocks' difference.
CONTAINER_LIFETIME_SECONDS = 24 * 3600
EXPIRY_MARGIN_SECONDS = 600
# How long Threads may fetch a file through its presigned URL. Threads fetches when the container is
# created; a few minutes covers a slow fetch and gives a leaked URL little worth.
PRESIGNED_SECONDS = 600
# The handle under which the part's container is kept for a later attempt (Part.keep).
CONTAINER_HANDLE = "threads_container"
# Graph error codes (Graph API error-handling guide).
TOKEN_INVALID, PERMISSION_DENIED = 190, 10
THROTTLED = (4, 17, 32, 613)
TRANSIENT = (1, 2)
# Over the 250-posts (or 1,000-replies) quota of a moving 24 hours: Instagram's content publishing
# answer, which Threads shares the media pipeline with.
QUOTA_CODE, QUOTA_SUBCODE = 9, 2207042
NOT_READY_CODE, NOT_READY_SUBCODE = 24, 4279009
# The quota frees up as the oldest post of the window ages out: an hour is a fair first wait.
QUOTA_WAIT_SECONDS = 3600.0


def api_url(settings: Any) -> str:
    """Where the Threads API is: the deployment's setting (Meta's unless a test or a local stack
    points it at its own server)."""
    return settings.threads_api_url.rstrip("/")


def authorize_url(settings: Any) -> str:
    return settings.threads_authorize_url


class TokenRefusedError(Exception):
    """Threads answered code 190: the access token is expired, revoked or unknown."""


class GraphAnswerError(Exception):
    """A Graph error object, kept for the caller that acts on one particular code."""

    def __init__(self, status: int, error: Mapping[str, Any]):
        super().__init__(error.get("message") or f"HTTP {status}")
        self.status = status
        self.code = error.get("code")
        self.subcode = error.get("error_subcode")
        self.transient = error.get("is_transient")
        self.words = str(error.get("error_user_msg") or error.get("message") or f"HTTP {status}")


class ThreadsClient(OAuthClient):
    """The few Threads API calls openpost makes, with Threads' answers turned into the adapter's errors."""

    platform = PLATFORM
    request_options = {"allow_redirects": False}

    @classmethod
    def api_url_for(cls, settings) -> str:
        return api_url(settings)

    # --- tokens ----------------------------------------------------------------------------------
    def exchange_code(self, code: str, redirect_uri: str) -> dict[str, Any]:
        """The code for a short-lived token (1 hour), then that for a long-lived one (60 days)."""
        app = self._app_credentials()
        answer = self._token_call(
            "POST",
            "/oauth/access_token",
            data={
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "code": code,
                "grant_type": "authorization_code",
                "redirect_uri": redirect_uri,
            },
        )
        short = answer["access_token"]
        # user_id is a number in Meta's answers and a string in its Postman collection: either is kept
        # as a string.
        user_id = str(answer.get("user_id") or "")
        long_lived = self._token_call(
            "GET",
            "/access_token",
            params={"grant_type": "th_exchange_token", "client_secret": app["client_secret"], "access_token": short},
        )
        return {**self._tokens(long_lived), "user_id": user_id}

    def refresh(self, access_token: str) -> dict[str, Any]:
        return self._tokens(
            self._token_call(
                "GET", "/refresh_access_token", params={"grant_type": "th_refresh_token", "access_token": access_token}
            )
        )

    def _tokens(self, answer: Mapping[str, Any]) -> dict[str, Any]:
        now = int(self._clock.time())
        return {
            "access_token": answer["access_token"],
            "issued_at": now,
            "expires_at": now + int(answer.get("expires_in") or LONG_LIVED_SECONDS),
        }

    def _token_call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        # A token call publishes nothing: a failure without an answer is worth a retry.
        response = self._call(method, path, may_have_acted=False, **kwargs)
        try:
            return self._json(response)
        except GraphAnswerError as answer:
            if answer.status < 500 and answer.code not in THROTTLED and answer.code not in TRANSIENT:
                raise GrantRejectedError(answer.words) from None
            raise self.error_for(answer) from None

    # --- bearer calls ----------------------------------------------------------------------------
    def me(self, access_token: str) -> dict[str, Any]:
        return self.read(access_token, "me", "id,username,name,threads_profile_picture_url")

    def read(self, access_token: str, object_id: str, fields: str) -> dict[str, Any]:
        response = self._call(
            "GET",
            f"/{VERSION}/{object_id}",
            params={"fields": fields},
            headers=_bearer(access_token),
            may_have_acted=False,
        )
        return self._checked(response)

    def create_container(self, access_token: str, params: dict[str, Any]) -> str:
        # A container is not a post (we never ask for auto_publish_text): a lost answer costs an
        # unpublished container, which Threads drops after 24 hours.
        response = self._call(
            "POST", f"/{VERSION}/me/threads", data=params, headers=_bearer(access_token), may_have_acted=False
        )
        answer = self._checked(response, refused="the post", code="platform_rejected")
        if not answer.get("id"):
            raise TransientError("Threads' answer to creating the post's container could not be read.")
        return str(answer["id"])

    def publish(self, access_token: str, container_id: str) -> str:
        """Raises GraphAnswerError for a refusal, for the caller to look at the container."""
        response = self._call(
            "POST",
            f"/{VERSION}/me/threads_publish",
            data={"creation_id": container_id},
            headers=_bearer(access_token),
            may_have_acted=True,
        )
        try:
            answer = self._json(response)
        except GraphAnswerError as refusal:
            if refusal.code == TOKEN_INVALID:
                raise TokenRefusedError(refusal.words) from None
            raise
        except ValueError:
            raise OutcomeUnknownError(
                "Threads accepted the post but its answer could not be read; it was not sent "
                "again. Check the account before publishing this post again."
            ) from None
        if not answer.get("id"):
            raise OutcomeUnknownError(
                "Threads accepted the post but did not say which post it is; it was not sent "
                "again. Check the account before publishing this post again."
            )
        return str(answer["id"])

    # --- plumbing --------------------------------------------------------------------------------
    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        """The answer's object; GraphAnswerError for an error answer; ValueError for an unreadable success."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or (isinstance(body, dict) and isinstance(body.get("error"), dict)):
            error = (
                body.get("error")
                if isinstance(body, dict) and isinstance(body.get("error"), dict)
                else {"message": (response.text or response.reason or "")[:200]}
            )
            raise GraphAnswerError(response.status_code, error)
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        return body

    def _checked(
        self, response: requests.Response, refused: str = "the request", code: str = "platform_rejected"
    ) -> dict[str, Any]:
        try:
            return self._json(response)
        except GraphAnswerError as answer:
            if answer.code == TOKEN_INVALID:
                raise TokenRefusedError(answer.words) from None
            raise self.error_for(answer, refused, code) from None
        except ValueError:
            raise TransientError(
                f"Threads sent an answer (HTTP {response.status_code}) that could not be read."
            ) from None

    @staticmethod
    def error_for(answer: GraphAnswerError, refused: str = "the request", code: str = "platform_rejected"):
        """The engine's error kind for a Graph error that is not about the token."""
        if answer.code in THROTTLED:
            return PlatformRateLimitedError(f"Threads is rate limiting openpost's calls: {answer.words}")
        if answer.code == QUOTA_CODE and answer.subcode == QUOTA_SUBCODE:
            return PlatformRateLimitedError(
                "This Threads account has published as many posts as Threads allows in 24 "
                f"hours (250 posts, 1,000 replies); publishing resumes later. Threads said: "
                f"{answer.words}",
                retry_after=QUOTA_WAIT_SECONDS,
            )
        if answer.code == PERMISSION_DENIED:
            return AuthenticationFailedError(
                f"Threads refused: {answer.words}. Reconnect the Threads account to "
                "grant openpost permission to publish."
            )
        if (
            answer.status >= 500
            or answer.transient is True
            or (answer.code in TRANSIENT and answer.transient is not False)
        ):
            return TransientError(f"Threads answered HTTP {answer.status}: {answer.words}")
        return PermanentError(f"Threads refused {refused} (code {answer.code}): {answer.words}", code=code)


class MediaLinks:
    """Short-lived presigned GETs of our media bucket: how Threads gets a part's files ("Threads
    retrieves your image from the URL provided, so it must be on a public server")."""

    def __init__(self, settings: Any, workspace_id: str, mode: str, s3_client: Any = None):
        self._settings = settings
        self._workspace_id, self._mode = workspace_id, mode
        self._s3 = s3_client

    def url(self, attachment: Attachment) -> str:
        from chalicelib.domain.media import stored_key

        if self._s3 is None:
            import boto3

            self._s3 = boto3.client(
                "s3", region_name=self._settings.region, endpoint_url=self._settings.aws_endpoint_url
            )
        try:
            return self._s3.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._settings.media_bucket,
                    "Key": stored_key(self._workspace_id, self._mode, attachment.id),
                },
                ExpiresIn=PRESIGNED_SECONDS,
            )
        except Exception as error:  # noqa: BLE001 - signing fails only on missing AWS credentials
            raise TransientError(
                f"A link to media {attachment.id} could not be made ({type(error).__name__}); it will be tried again."
            ) from None


def container_params(part: Part, media_type: str, **extra: Any) -> dict[str, Any]:
    """The parameters of POST /{threads-user-id}/threads for the part's own container."""
    params: dict[str, Any] = {"media_type": media_type, **extra}
    if part.text:
        params["text"] = part.text
    if part.reply_to is not None:
        params["reply_to_id"] = part.reply_to.id
    reply_control = part.settings.get("reply_control")
    if reply_control:
        params["reply_control"] = reply_control
    return params


def _media_params(attachment: Attachment, link: str) -> dict[str, Any]:
    if attachment.kind == "video":
        params: dict[str, Any] = {"media_type": "VIDEO", "video_url": link}
    else:
        params = {"media_type": "IMAGE", "image_url": link}
    if attachment.alt_text:
        params["alt_text"] = attachment.alt_text  # Threads takes alt text on images and videos
    return params


class Threads(Platform):
    descriptor = PLATFORM  # its name, thread style and idempotency
    media_kinds = frozenset({"image", "video"})

    def __init__(
        self,
        integration,
        credentials=None,
        client: ThreadsClient | None = None,
        links: MediaLinks | None = None,
        **shared: Any,
    ):
        super().__init__(integration, credentials, **shared)
        if client is None:
            raise TypeError("a Threads adapter needs a ThreadsClient: build it with Threads.build")
        self._client = client
        self._links = links
        self._tokens: dict[str, Any] = {}

    @classmethod
    def build(cls, integration, credentials=None, deployment: Deployment | None = None, **options: Any):
        if deployment is not None:
            if options.get("client") is None:
                options["client"] = ThreadsClient.for_deployment(deployment)
            if options.get("links") is None:
                options["links"] = MediaLinks(deployment.settings, integration.workspace_id, integration.mode)
        return super().build(integration, credentials, deployment, **options)

    def publish(self, part: Part) -> PostRef:
        self._check(part)
        deadline = self.clock.monotonic() + part.budget(RESERVE_SECONDS)
        self._tokens = self._current_tokens()
        container_id = self._earlier_container(part.uploads.get(CONTAINER_HANDLE))
        if container_id is None:
            container_id = self._create(part)
            part.keep(CONTAINER_HANDLE, {"container_id": container_id, "created_at": self.clock.time()})
        self._await_container(container_id, deadline)
        media_id = self._publish(container_id, deadline)
        return PostRef(id=media_id, url=self._permalink(media_id))

    # --- containers ------------------------------------------------------------------------------
    def _create(self, part: Part) -> str:
        """The part's container: TEXT, an IMAGE or VIDEO, or a CAROUSEL of item containers."""
        if not part.media:
            return self._as_account(lambda token: self._client.create_container(token, container_params(part, "TEXT")))
        if len(part.media) == 1:
            item = part.media[0]
            media = _media_params(item, self._link(item))
            params = container_params(part, media.pop("media_type"), **media)
            return self._as_account(lambda token: self._client.create_container(token, params))
        # A carousel: each file becomes an item container (is_carousel_item, no text), then the
        # carousel container names them, in the author's order, in ``children``.
        children: list[str] = []
        for item in part.media:
            params = {**_media_params(item, self._link(item)), "is_carousel_item": "true"}
            children.append(self._as_account(lambda token, params=params: self._client.create_container(token, params)))
        return self._as_account(
            lambda token: self._client.create_container(
                token, container_params(part, "CAROUSEL", children=",".join(children))
            )
        )

    def _link(self, attachment: Attachment) -> str:
        if self._links is None:
            raise PermanentError(
                "This deployment cannot hand Threads links to its media.", code="platform_not_configured"
            )
        return self._links.url(attachment)

    def _earlier_container(self, handle: dict[str, Any] | None) -> str | None:
        """The container an earlier attempt at this part created, if it can still be published. One
        Threads shows PUBLISHED was published by that attempt: never publish the part again."""
        if (
            not handle
            or float(handle.get("created_at") or 0) + CONTAINER_LIFETIME_SECONDS
            < self.clock.time() + EXPIRY_MARGIN_SECONDS
        ):
            return None
        try:
            status = self._status(handle["container_id"])
        except PermanentError:
            return None  # Threads no longer knows it: create it afresh
        if status.get("status") == "PUBLISHED":
            raise OutcomeUnknownError(
                "An earlier attempt at this part was published on Threads although its answer never reached "
                "openpost, so the post's link is unknown. It was not published again: check the account."
            )
        if status.get("status") in ("ERROR", "EXPIRED"):
            return None
        return handle["container_id"]

    def _status(self, container_id: str) -> dict[str, Any]:
        return self._as_account(lambda token: self._client.read(token, container_id, "id,status,error_message"))

    def _await_container(self, container_id: str, deadline: float) -> None:
        """Returns once the container is FINISHED (Threads has fetched and processed its media)."""
        waits = iter(POLL_WAITS)
        wait = POLL_WAITS[0]
        while True:
            status = self._status(container_id)
            state = status.get("status")
            if state == "FINISHED":
                return
            if state == "PUBLISHED":
                # Only an earlier attempt of ours could have published it.
                raise OutcomeUnknownError(
                    "This part's container is already published on Threads by an earlier "
                    "attempt whose answer was lost; it was not published again."
                )
            if state in ("ERROR", "EXPIRED"):
                # error_message is one of Threads' reasons (FAILED_DOWNLOADING_VIDEO, INVALID_DURATION, ...).
                raise PermanentError(
                    f"Threads could not use this post's media ({status.get('error_message') or state})"
                    "; nothing was published.",
                    code="media_rejected",
                )
            wait = next(waits, wait)
            if self.clock.monotonic() + wait > deadline:
                raise TransientError(
                    "Threads is still processing the media; publishing will be tried again later, "
                    "taking up the same container.",
                    code="media_still_processing",
                )
            self.clock.sleep(wait)

    def _publish(self, container_id: str, deadline: float) -> str:
        try:
            return self._as_account(lambda token: self._client.publish(token, container_id))
        except GraphAnswerError as refusal:
            if (refusal.code, refusal.subcode) != (NOT_READY_CODE, NOT_READY_SUBCODE):
                raise ThreadsClient.error_for(refusal, "the post") from None
        # "Media Not Found": the container is not publishable now. Its status says why: still
        # processing (wait, then publish once more), already published, or failed.
        self._await_container(container_id, deadline)
        try:
            return self._as_account(lambda token: self._client.publish(token, container_id))
        except GraphAnswerError as refusal:
            raise ThreadsClient.error_for(refusal, "the post") from None

    def _permalink(self, media_id: str) -> str | None:
        # The post is published: failing to read its link must not fail the part.
        try:
            return self._as_account(lambda token: self._client.read(token, media_id, "permalink")).get("permalink")
        except Exception:  # noqa: BLE001 - any failure here leaves only the link unknown
            logger.warning("threads permalink unavailable", extra={"integration_id": self.integration.id})
            return None

    # --- reading as the account --------------------------------------------------------------------
    def read_as_account(self, object_path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """``GET /{version}/{object_path}`` as the account, for readers beside publishing (metrics):
        its current token (taken once per adapter, as a publish takes it), and once more with a newer
        stored one if Threads refuses it. The answer's object; GraphAnswerError for a refusal that is
        not about the token (``ThreadsClient.error_for`` turns it into the engine's error kind),
        ValueError for an answer that cannot be read. Nothing is posted: a lost answer is transient."""
        if not self._tokens:
            self._tokens = self._current_tokens()

        def read(token: str) -> dict[str, Any]:
            response = self._client._call(
                "GET", f"/{VERSION}/{object_path}", params=dict(params), headers=_bearer(token), may_have_acted=False
            )
            try:
                return self._client._json(response)
            except GraphAnswerError as answer:
                if answer.code == TOKEN_INVALID:
                    raise TokenRefusedError(answer.words) from None
                raise

        return self._as_account(read)

    # --- tokens ----------------------------------------------------------------------------------
    def _as_account(self, call: Callable[[str], Any]) -> Any:
        """``call`` with the account's token; once more with the stored one if Threads refused ours and
        another worker (or a reconnect) has stored a newer one since."""
        try:
            return call(self._tokens["access_token"])
        except TokenRefusedError as first:
            refusal = str(first)  # an except clause's name is gone after it: keep the words
            stored = self._reread()
            if stored.get("access_token") and stored["access_token"] != self._tokens.get("access_token"):
                self._tokens = stored
                try:
                    return call(self._tokens["access_token"])
                except TokenRefusedError as again:
                    refusal = again
            raise self._needs_reconnect(f"Threads refused its token ({refusal})") from None

    def _current_tokens(self) -> dict[str, Any]:
        tokens = self.credentials.value if self.credentials is not None else {}
        if not tokens or not tokens.get("access_token"):
            raise self._needs_reconnect("no Threads token is stored for this account")
        left = float(tokens.get("expires_at") or 0) - self.clock.time()
        if left <= 0:
            # "Long-lived tokens ... can be refreshed as long as they ... have not expired."
            raise self._needs_reconnect("its token expired, and Threads cannot refresh an expired token")
        if left < REFRESH_WITHIN_SECONDS:
            tokens = self._refresh(tokens)
        return tokens

    def _refresh(self, stale: dict[str, Any]) -> dict[str, Any]:
        """A refreshed token, stored before use; the stored one if another worker refreshed first.
        Threads refreshes only a token at least 24 hours old: one it refuses still works until it
        expires, so it is used as it is."""
        stored = self._reread()
        if (
            stored.get("access_token")
            and stored["access_token"] != stale.get("access_token")
            and float(stored.get("expires_at") or 0) - self.clock.time() >= REFRESH_WITHIN_SECONDS
        ):
            return stored
        current = stored if stored.get("access_token") else stale
        try:
            fresh = self._client.refresh(current["access_token"])
        except GrantRejectedError as refusal:
            logger.warning(
                "threads token not refreshed", extra={"integration_id": self.integration.id, "reason": str(refusal)}
            )
            # Too young to refresh, or revoked: either way the token is used as it is, and a revoked
            # one is refused at the first call, which asks the user to reconnect.
            return current
        kept = self.credentials.replace({**current, **fresh})
        logger.info(
            "threads token refreshed",
            extra={
                "integration_id": self.integration.id,
                "kept_ours": kept.get("access_token") == fresh["access_token"],
            },
        )
        return kept

    def _reread(self) -> dict[str, Any]:
        return self.credentials.reload() if self.credentials is not None else {}

    def _needs_reconnect(self, why: str) -> AuthenticationFailedError:
        return AuthenticationFailedError(
            f"The Threads account @{self.integration.username} needs to be reconnected: {why}."
        )

    def _check(self, part: Part) -> None:
        from chalicelib.text.limits import check

        # Refused here at no cost; Threads would refuse it too ("Param text must be at most 500
        # characters long", counting UTF-8 bytes).
        violations = check(PLATFORM.name, part.text, field="text")
        if violations:
            raise PermanentError(violations[0].message, code="text_too_long")
        if len(part.media) > PLATFORM.media.max_media:
            raise PermanentError(
                f"Threads takes at most {PLATFORM.media.max_media} files in a post; this part has {len(part.media)}.",
                code="too_many_media",
            )

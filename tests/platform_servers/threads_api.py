"""A local Threads (Meta) API server for tests: what a publishing client calls, answered as Meta documents it.

Sources (read Dec 2026; "[docs:x]" in the comments below names them):

- [docs:posts]   developers.facebook.com/docs/threads/posts (also /documentation/threads/posts.md): the
                 two-step container + publish flow, parameters, 500-character limit, carousels, media specs.
- [docs:ref]     developers.facebook.com/docs/threads/reference/publishing: parameter list of
                 ``POST /{threads-user-id}/threads`` (reply_control values, alt_text 1,000 characters).
- [docs:tokens]  developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions and
                 .../long-lived-tokens: the Authorization Window, ``POST /oauth/access_token``,
                 ``GET /access_token?grant_type=th_exchange_token``, ``GET /refresh_access_token``.
- [docs:overview] developers.facebook.com/docs/threads/overview: 250 API-published posts per 24-hour
                 moving period, enforced by ``threads_publish``, carousels count once; 1,000 replies.
- [docs:trouble] developers.facebook.com/docs/threads/troubleshooting: container statuses and
                 error_message values, ``threads_publishing_limit`` shape.
- [meta:sample]  fbsamples/threads_api (Meta's own sample app, src/index.js and its Postman collection
                 postman/threads-api.postman_collection.json): request and response shapes.
- [graph:errors] developers.facebook.com/docs/graph-api/guides/error-handling: the error object
                 (message, type, code, error_subcode, fbtrace_id), code 190 with subcodes 460/463,
                 codes 1, 2 (transient), 4, 10, 100.
- [observed]     issue trackers quoting real answers: fbsamples/threads_api#70, gitroomhq/postiz-app#2047,
                 trypostit/trypost#280 (publish of a container that is not ready: 400, code 24, subcode
                 4279009 "Media Not Found"); gitroomhq/postiz-app#1946 (text over 500 UTF-8 bytes:
                 "Param text must be at most 500 characters long", code 100); gitroomhq/postiz-app#1364
                 (image fetch failure at container creation: code 1, subcode 2207052); restfb/restfb#1502
                 (unknown object: type THApiException, code 100, subcode 33) and #1450 (the token
                 endpoints are unversioned: ``/v1.0/access_token`` is "Unsupported request").

Faithful (documented or observed): the endpoints and their parameter names; parameters taken from the
query string, a form, multipart (the docs' curl uses ``-F``) or JSON; the access token as the
``access_token`` parameter or an ``Authorization: Bearer`` header; short-lived tokens 1 hour, long-lived
60 days, refreshable once at least 24 hours old and unexpired; ``media_type`` TEXT/IMAGE/VIDEO/CAROUSEL;
text at most 500 UTF-8 bytes; alt_text at most 1,000 characters; reply_control's five values;
carousels of 2 to 20 items made of ``is_carousel_item`` containers, ``children`` comma-separated;
images and videos fetched by Threads from their URL (JPEG/PNG up to 8 MB; MOV/MP4 up to 1 GB and
5 minutes); container statuses IN_PROGRESS, FINISHED, PUBLISHED, ERROR (with error_message such as
FAILED_DOWNLOADING_VIDEO), EXPIRED after 24 hours unpublished; publishing a container that is not
FINISHED answers 400 code 24 subcode 4279009; 250 posts and 1,000 replies per moving 24 hours, shown by
``threads_publishing_limit``; ``auto_publish_text``; the Graph error object.

Assumed (documented nowhere we found; each marked ASSUMED where it is decided): HTTP 400 for every
Graph error (as the Graph API does for OAuthException); the exact codes and messages of refusals the
docs do not spell out (missing parameters, bad reply_control, carousel child problems, OAuth failures,
which follow Facebook Login's); over the posting quota: code 9 subcode 2207042, borrowed from the
Instagram content publishing API that shares Meta's media pipeline; an image's download failure is
answered at container creation while a video's shows as an ERROR status later; a published container
cannot be published again (the same 4279009); a refreshed token does not revoke the one it refreshed;
``user_id`` in the code exchange is a JSON number (Meta's Postman collection says string, clients
such as ndl-core accept both); media bytes are checked by signature (JPEG/PNG, ISO BMFF ``ftyp``), not
by the Content-Type the host sends. The fetcher reaches loopback, which Threads cannot: tests serve
media on 127.0.0.1 on purpose.

Hooks for tests: ``authorize()`` (the user's consent in the browser), ``issue_token()``, ``add_user()``,
``add_post()`` (a post by someone else, to reply to), ``advance()`` (Threads' clock: processing,
token and container expiry), ``process_next()`` (how the next image/video container processes),
``fail_next()``, ``rate_limit_next()``, ``drop_after_accept_next()``, ``delay_next()``; state in
``posts``, ``containers``, ``fetches``, ``tokens``, ``exchanges``, ``refreshes`` and ``calls``.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import json
import re
import secrets
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.platform_servers.loopback import LoopbackServer

# [docs:tokens] "By default, Threads user access tokens are short-lived and are valid for one hour";
# "Long-lived tokens are valid for 60 days and can be refreshed as long as they are at least 24 hours
# old but have not expired". Meta's example answer says expires_in 5183944, its Postman collection
# 5184000: both are "about 60 days"; this server answers the seconds actually left.
SHORT_LIVED_SECONDS = 60 * 60
LONG_LIVED_SECONDS = 60 * 24 * 60 * 60
REFRESH_MIN_AGE_SECONDS = 24 * 60 * 60
# ASSUMED: authorization codes live 1 hour and work once (Instagram's Authorization Window documents
# exactly that; the Threads page says only that the code is exchanged for a token).
CODE_SECONDS = 60 * 60
# [docs:tokens] permissions; threads_basic is "Required for all Threads endpoints",
# threads_content_publish "Required for Threads publishing endpoints only".
SCOPES = frozenset(
    {
        "threads_basic",
        "threads_content_publish",
        "threads_manage_insights",
        "threads_manage_replies",
        "threads_read_replies",
        "threads_keyword_search",
        "threads_manage_mentions",
        "threads_delete",
        "threads_location_tagging",
        "threads_profile_discovery",
    }
)
DEFAULT_SCOPE = "threads_basic,threads_content_publish"

# [docs:posts] "Text posts are limited to 500 characters" and "Emojis are counted as the number of
# UTF-8 bytes"; [observed] postiz-app#1946: a 498-character post of 504 UTF-8 bytes (three curly
# apostrophes) was refused, so every character counts as its UTF-8 bytes, not only emoji.
MAX_TEXT_BYTES = 500
MAX_ALT_TEXT = 1000  # [docs:ref] "The maximum length of alt_text is 1,000 characters."
MIN_CHILDREN, MAX_CHILDREN = 2, 20  # [meta:sample] Postman: "at least 2 and up to 20" items
MEDIA_TYPES = ("TEXT", "IMAGE", "VIDEO", "CAROUSEL")
# [docs:ref] and [meta:sample] (the Postman variable reply_control lists the same five).
REPLY_CONTROLS = ("everyone", "accounts_you_follow", "mentioned_only", "parent_post_author_only", "followers_only")
# [docs:posts] media specifications: images JPEG or PNG, "8 MB maximum"; videos MOV or MP4, "1 GB
# maximum", "300 seconds (5 minutes) maximum". Megabytes read as MiB (Instagram's message for the same
# limit says "less than 8 MiB").
MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_VIDEO_BYTES = 1024 * 1024 * 1024
MAX_VIDEO_SECONDS = 300
# [docs:trouble] "EXPIRED — The container was not published within 24 hours and has expired."
CONTAINER_SECONDS = 24 * 60 * 60
# [docs:overview] 250 posts and 1,000 replies "within a 24-hour moving period".
POSTS_PER_DAY, REPLIES_PER_DAY, DAY_SECONDS = 250, 1000, 24 * 60 * 60
# ASSUMED: the delete and location-search quotas threads_publishing_limit also reports ([meta:sample]
# asks for delete_config and location_search_config; the totals here are not from a page we read).
DELETE_PER_DAY, LOCATION_SEARCHES_PER_DAY = 100, 500
# [docs:trouble] the error_message values of an ERROR container.
CONTAINER_ERRORS = (
    "FAILED_DOWNLOADING_VIDEO",
    "FAILED_PROCESSING_AUDIO",
    "FAILED_PROCESSING_VIDEO",
    "INVALID_ASPEC_RATIO",
    "INVALID_BIT_RATE",
    "INVALID_DURATION",
    "INVALID_FRAME_RATE",
    "INVALID_AUDIO_CHANNELS",
    "INVALID_AUDIO_CHANNEL_LAYOUT",
    "UNKNOWN",
)

# Fields a GET may ask for, per node type; any other is refused as the Graph API refuses it
# ("(#100) Tried accessing nonexisting field"). Lists from [meta:sample] (fields_profile,
# fields_threads, fields_replies, fields_container).
USER_FIELDS = (
    "id",
    "username",
    "name",
    "threads_profile_picture_url",
    "threads_biography",
    "is_verified",
    "recently_searched_keywords",
    "is_eligible_for_geo_gating",
)
MEDIA_FIELDS = (
    "id",
    "media_product_type",
    "media_type",
    "media_url",
    "gif_url",
    "permalink",
    "owner",
    "username",
    "text",
    "timestamp",
    "shortcode",
    "thumbnail_url",
    "children",
    "is_quote_post",
    "quoted_post",
    "reposted_post",
    "has_replies",
    "alt_text",
    "link_attachment_url",
    "poll_attachment",
    "location_id",
    "topic_tag",
    "is_verified",
    "profile_picture_url",
    "is_reply",
    "is_reply_owned_by_me",
    "root_post",
    "replied_to",
    "hide_status",
    "reply_audience",
)
CONTAINER_FIELDS = ("id", "status", "error_message")
LIMIT_FIELDS = (
    "quota_usage",
    "config",
    "reply_quota_usage",
    "reply_config",
    "delete_quota_usage",
    "delete_config",
    "location_search_quota_usage",
    "location_search_config",
)
# [observed] media_type of a published post: TEXT_POST, IMAGE, VIDEO, CAROUSEL_ALBUM
# (restfb/restfb#1400 quotes the table of developers.facebook.com/docs/threads/threads-media).
PUBLISHED_TYPES = {"TEXT": "TEXT_POST", "IMAGE": "IMAGE", "VIDEO": "VIDEO", "CAROUSEL": "CAROUSEL_ALBUM"}
VERSION = re.compile(r"^/v\d+\.\d+(?=/)")


class GraphError(Exception):
    """A Graph API error answer: HTTP status and the ``{"error": {...}}`` body."""

    def __init__(
        self,
        message: str,
        code: int,
        *,
        type_: str = "OAuthException",
        subcode: int | None = None,
        status: int = 400,
        user_title: str | None = None,
        user_msg: str | None = None,
        transient: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "type": type_, "code": code}
        if subcode is not None:
            self.body["error_subcode"] = subcode
        if transient is not None:
            self.body["is_transient"] = transient
        if user_title is not None:
            self.body["error_user_title"] = user_title
        if user_msg is not None:
            self.body["error_user_msg"] = user_msg
        # [graph:errors] every error carries an fbtrace_id "for support"; an opaque string.
        self.body["fbtrace_id"] = "A" + secrets.token_urlsafe(16)

    def answer(self) -> tuple[int, dict[str, Any]]:
        return self.status, {"error": self.body}


def _param_error(message: str) -> GraphError:
    # ASSUMED wording and type for parameter refusals; code 100 is the Graph API's "Invalid parameter",
    # and [observed] postiz-app#1946 / gesteves/denali#1285 report code 100 for the text limit.
    return GraphError(message, 100, type_="THApiException")


def _missing(name: str) -> GraphError:
    return _param_error(f"The parameter {name} is required")


def _no_object(object_id: str, method: str = "get") -> GraphError:
    # [observed] restfb/restfb#1502 quotes this answer of graph.threads.net.
    return GraphError(
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation",
        100,
        type_="THApiException",
        subcode=33,
    )


def _media_not_found(container_id: str) -> GraphError:
    # [observed] fbsamples/threads_api#70, postiz-app#2047, trypost#280: threads_publish of a container
    # still being processed (or unknown) answers exactly this, HTTP 400.
    return GraphError(
        "The requested resource does not exist",
        24,
        subcode=4279009,
        transient=False,
        user_title="Media Not Found",
        user_msg=f"The media with id {container_id} cannot be found.",
    )


@dataclass
class User:
    id: str
    username: str
    name: str
    biography: str = ""
    is_verified: bool = False


@dataclass
class Token:
    value: str
    user_id: str
    scopes: frozenset
    kind: str  # "short" or "long"
    issued_at: float
    expires_at: float
    revoked: bool = False


@dataclass
class _Code:
    user_id: str
    client_id: str
    redirect_uri: str
    scopes: frozenset
    expires_at: float


@dataclass
class Fetch:
    """One download Threads made of a media URL, for assertions (each URL should be fetched once)."""

    url: str
    status: int | None  # HTTP status, or None when nothing answered
    content_type: str | None
    size: int
    error: str | None  # why it failed, None on success
    at: float


@dataclass
class Container:
    id: str
    owner: str
    media_type: str
    created_at: float
    ready_at: float
    text: str | None = None
    is_carousel_item: bool = False
    children: list[str] = field(default_factory=list)  # container ids, in the order given
    reply_to_id: str | None = None
    reply_control: str | None = None
    alt_text: str | None = None
    media_url: str | None = None
    data: bytes | None = None
    content_type: str | None = None
    error_message: str | None = None  # set when processing ends in ERROR
    published_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # everything the client sent


@dataclass
class _Faults:
    errors: list[tuple[tuple[int, int, str], str | None]] = field(default_factory=list)
    drops: list[tuple[None, str | None]] = field(default_factory=list)
    delays: list[tuple[tuple[float, bool], str | None]] = field(default_factory=list)
    processing: list[tuple[float | None, str | None]] = field(default_factory=list)


class ThreadsApiServer(LoopbackServer):
    thread_name = "threads-api"
    poll_interval = 0.05  # stops quickly

    def __init__(
        self,
        client_id: str = "990602627938098",
        client_secret: str = "threads-app-secret",
        redirect_uris: list[str] | None = None,
        *,
        image_processing_seconds: float = 0.0,
        video_processing_seconds: float = 1.0,
        posts_per_day: int = POSTS_PER_DAY,
        replies_per_day: int = REPLIES_PER_DAY,
        fetch_timeout: float = 5.0,
        user_id_as_number: bool = True,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = redirect_uris  # None: any redirect_uri is registered
        # Meta: "Wait about 30 seconds before publishing" ([docs:posts], create-replies page); images
        # are usually ready sooner, videos later. Both are the server's clock (see advance()).
        self.image_processing_seconds = image_processing_seconds
        self.video_processing_seconds = video_processing_seconds
        self.posts_per_day = posts_per_day
        self.replies_per_day = replies_per_day
        self.fetch_timeout = fetch_timeout
        self.user_id_as_number = user_id_as_number
        self.users: dict[str, User] = {}
        self.tokens: dict[str, Token] = {}  # every token ever issued, by value
        self.exchanges: list[tuple[str, str]] = []  # (short-lived, long-lived) token pairs
        self.refreshes: list[tuple[str, str]] = []  # (refreshed, new) token pairs
        self.containers: dict[str, Container] = {}
        self.posts: list[dict[str, Any]] = []  # published posts, in publish order
        self.fetches: list[Fetch] = []
        self.calls: list[tuple[str, str, dict[str, Any]]] = []  # (method, endpoint, params) of every call
        self.insight_counts: dict[str, dict[str, int]] = {}  # media id -> metric name -> value
        self._media: dict[str, dict[str, Any]] = {}  # published media id -> post (or carousel child)
        self._codes: dict[str, _Code] = {}
        self._published: list[tuple[float, str, bool]] = []  # (when, user id, is a reply)
        self._ids = itertools.count(17_840_000_000_000_000 + secrets.randbelow(10**15))
        self._faults = _Faults()
        self._offset = 0.0
        self._lock = threading.RLock()

    # --- lifecycle ----------------------------------------------------------------------------
    def _serve(self):
        # Stands for both https://graph.threads.net and https://graph.threads.com.
        return _Server(("127.0.0.1", 0), _handler_for(self))

    @property
    def authorize_url(self) -> str:
        """Stands for https://threads.net/oauth/authorize (a page for the browser, not an API)."""
        return f"{self.url}/oauth/authorize"

    # --- the server's clock -------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Time passes at Threads only: processing ends, tokens and containers expire."""
        with self._lock:
            self._offset += seconds

    # --- people and their browsers ------------------------------------------------------------
    def add_user(
        self, id: str | None = None, username: str = "openpost", name: str = "Openpost", biography: str = ""
    ) -> User:
        with self._lock:
            user = User(id or str(next(self._ids)), username, name, biography)
            self.users[user.id] = user
            return user

    def authorize(self, authorize_url: str, user_id: str | None = None) -> str:
        """The user grants the permissions in the Authorization Window: returns the URL Threads sends
        the browser to. Raises ValueError where Threads would show an error page instead."""
        query = {key: values[-1] for key, values in parse_qs(urlsplit(authorize_url).query).items()}
        # [docs:tokens] "All parameters except state are required": client_id, redirect_uri, scope,
        # response_type (=code).
        lacking = [name for name in ("client_id", "redirect_uri", "scope", "response_type") if not query.get(name)]
        if lacking:
            raise ValueError(f"authorization request lacks {lacking}")
        if query["response_type"] != "code":
            raise ValueError("response_type must be code")
        if query["client_id"] != self.client_id:
            raise ValueError("unknown client_id (use the Threads app id, not the Meta app id)")
        # [docs:tokens] redirect_uri must exactly match one of the app's valid OAuth redirect URIs.
        if self.redirect_uris is not None and query["redirect_uri"] not in self.redirect_uris:
            raise ValueError("redirect_uri is not one of the app's valid OAuth redirect URIs")
        # The scope is a comma-separated list ([meta:sample] joins with ","); spaces are tolerated.
        scopes = frozenset(s for s in re.split(r"[,\s]+", query["scope"]) if s)
        unknown = scopes - SCOPES
        if unknown:
            raise ValueError(f"unknown permissions {sorted(unknown)}")
        with self._lock:
            user = self.users.get(user_id) if user_id else next(iter(self.users.values()), None)
            if user is None:
                user = self.add_user()
            code = secrets.token_urlsafe(32)
            self._codes[code] = _Code(
                user.id, query["client_id"], query["redirect_uri"], scopes, self.now() + CODE_SECONDS
            )
        answer = {"code": code}
        if "state" in query:
            answer["state"] = query["state"]
        # Meta appends "#_" to the redirect (Instagram's Authorization Window documents it; a Threads
        # walkthrough, qiita.com/kawamurashin, shows it on a Threads callback).
        separator = "&" if urlsplit(query["redirect_uri"]).query else "?"
        return f"{query['redirect_uri']}{separator}{urlencode(answer)}#_"

    def issue_token(self, user_id: str | None = None, scope: str = DEFAULT_SCOPE, long_lived: bool = True) -> str:
        """A token without the browser dance: a test's starting point."""
        with self._lock:
            if user_id is None:
                user_id = (next(iter(self.users.values()), None) or self.add_user()).id
            scopes = frozenset(s for s in re.split(r"[,\s]+", scope) if s)
            return self._issue(user_id, scopes, "long" if long_lived else "short").value

    def expire_tokens(self) -> None:
        with self._lock:
            for token in self.tokens.values():
                token.expires_at = min(token.expires_at, self.now())

    def revoke_tokens(self, user_id: str | None = None) -> None:
        """As when the user removes the app in Threads' settings, or changes their password."""
        with self._lock:
            for token in self.tokens.values():
                if user_id is None or token.user_id == user_id:
                    token.revoked = True

    def add_post(self, owner: str | None = None, text: str = "someone else's post") -> str:
        """A published post (someone else's unless ``owner`` is given), to reply to; its media id."""
        with self._lock:
            user = self.users.get(owner) if owner else self.add_user(username="someone", name="Someone")
            container = Container(str(next(self._ids)), user.id, "TEXT", self.now(), self.now(), text=text)
            self.containers[container.id] = container
            return self._publish_container(container, count=False)

    # --- fault injection ------------------------------------------------------------------------
    # Endpoint names for ``on``: "oauth/access_token", "access_token", "refresh_access_token", "me",
    # "threads" (container creation), "threads_publish", "threads_publishing_limit", "object" (GET of
    # a container, post or user by id).
    def fail_next(
        self,
        times: int = 1,
        status: int = 500,
        on: str | None = None,
        code: int | None = None,
        message: str | None = None,
    ) -> None:
        """The next ``times`` calls (to ``on`` only, when given) answer ``status`` with a Graph error and
        change nothing. By default 500 is code 1 "An unknown error occurred" and 503 code 2 "Service
        temporarily unavailable", both transient ([graph:errors])."""
        code = code if code is not None else (2 if status == 503 else 1)
        message = message or {1: "An unknown error occurred", 2: "Service temporarily unavailable"}.get(
            code, "An unexpected error has occurred. Please retry your request later."
        )
        with self._lock:
            self._faults.errors.extend([((status, code, message), on)] * times)

    def rate_limit_next(self, times: int = 1, on: str | None = None, code: int = 4, status: int = 400) -> None:
        """The Graph API's throttling answer (it has no 429): code 4 "Application request limit
        reached", 17 user, 32 page, 613 custom ([graph:errors]). ASSUMED: HTTP 400, as other Graph
        errors; the docs identify throttling by code, not by status, so a client must read the code."""
        messages = {
            4: "Application request limit reached",
            17: "User request limit reached",
            32: "Page request limit reached",
            613: "Calls to this api have exceeded the rate limit.",
        }
        with self._lock:
            self._faults.errors.extend([((status, code, messages.get(code, "Rate limit reached")), on)] * times)

    def drop_after_accept_next(self, on: str = "threads_publish", times: int = 1) -> None:
        """The next call to ``on`` takes effect (the post exists), then the connection is closed without
        an answer: the client cannot know it worked."""
        with self._lock:
            self._faults.drops.extend([(None, on)] * times)

    def delay_next(self, seconds: float, on: str | None = None, before: bool = False) -> None:
        """The next call to ``on`` waits ``seconds``: after taking effect (a read timeout then hides a
        success), or ``before=True`` before anything happens."""
        with self._lock:
            self._faults.delays.append(((seconds, before), on))

    def process_next(self, seconds: float | None = None, error: str | None = None) -> None:
        """The next image or video container takes ``seconds`` (the server's default when None) to
        process, then ends FINISHED, or ERROR with ``error`` as its error_message."""
        if error is not None and error not in CONTAINER_ERRORS:
            raise ValueError(f"{error} is not one of Threads' container errors {CONTAINER_ERRORS}")
        with self._lock:
            self._faults.processing.append((seconds, error))

    # --- tokens ---------------------------------------------------------------------------------
    def _issue(self, user_id: str, scopes: frozenset, kind: str) -> Token:
        lifetime = SHORT_LIVED_SECONDS if kind == "short" else LONG_LIVED_SECONDS
        token = Token("TH" + secrets.token_urlsafe(40), user_id, scopes, kind, self.now(), self.now() + lifetime)
        self.tokens[token.value] = token
        return token

    def _token(self, value: str | None) -> Token:
        """The valid token ``value`` names, or Graph's refusal ([graph:errors]: code 190, subcode 463
        for an expired token, 460 for a session invalidated by a password change or revocation)."""
        if not value:
            # ASSUMED: the Graph API's answer to a call without any token.
            raise GraphError("An access token is required to request this resource.", 104)
        token = self.tokens.get(value)
        if token is None:
            raise GraphError("Invalid OAuth access token - Cannot parse access token", 190)
        if token.revoked:
            raise GraphError(
                "Error validating access token: The session has been invalidated because the user "
                "changed their password or Threads has changed the session for security reasons.",
                190,
                subcode=460,
            )
        if token.expires_at <= self.now():
            stamp = time.strftime("%A, %d-%b-%y %H:%M:%S UTC", time.gmtime(token.expires_at))
            raise GraphError(f"Error validating access token: Session has expired on {stamp}.", 190, subcode=463)
        return token

    def _require(self, token: Token, *scopes: str) -> None:
        missing = [scope for scope in scopes if scope not in token.scopes]
        if missing:
            # ASSUMED status and wording; code 10 is the Graph API's "Permission denied".
            raise GraphError(f"(#10) Application does not have permission for this action: needs {missing}", 10)

    def exchange_code(self, params: dict[str, Any]) -> dict[str, Any]:
        """POST /oauth/access_token ([docs:tokens], [meta:sample]): client_id, client_secret, code,
        grant_type=authorization_code, redirect_uri -> {"access_token", "user_id"}."""
        for name in ("client_id", "client_secret", "code", "grant_type", "redirect_uri"):
            if not params.get(name):
                raise _missing(name)
        if params["grant_type"] != "authorization_code":
            raise _param_error(f"Unsupported grant_type: {params['grant_type']}")
        # ASSUMED codes and messages below: Facebook Login's for the same mistakes.
        if params["client_id"] != self.client_id:
            raise GraphError("Error validating application. Invalid application ID.", 101)
        if params["client_secret"] != self.client_secret:
            raise GraphError("Error validating client secret.", 1, subcode=404)
        with self._lock:
            grant = self._codes.pop(params["code"], None)  # a code works once
            if grant is None or grant.client_id != params["client_id"]:
                raise GraphError("Invalid verification code format or the code has been used.", 100, subcode=36009)
            if grant.expires_at <= self.now():
                raise GraphError("This authorization code has expired.", 100, subcode=36007)
            if params["redirect_uri"] != grant.redirect_uri:
                raise GraphError(
                    "Error validating verification code. Please make sure your redirect_uri is "
                    "identical to the one you used in the OAuth dialog request",
                    100,
                    subcode=36008,
                )
            token = self._issue(grant.user_id, grant.scopes, "short")
        user_id: Any = int(grant.user_id) if self.user_id_as_number else grant.user_id
        return {"access_token": token.value, "user_id": user_id}

    def exchange_long_lived(self, params: dict[str, Any]) -> dict[str, Any]:
        """GET /access_token?grant_type=th_exchange_token&client_secret=&access_token= ([docs:tokens])."""
        for name in ("grant_type", "client_secret", "access_token"):
            if not params.get(name):
                raise _missing(name)
        if params["grant_type"] != "th_exchange_token":
            raise _param_error(f"Unsupported grant_type: {params['grant_type']}")
        if params["client_secret"] != self.client_secret:
            raise GraphError("Error validating client secret.", 1, subcode=404)
        with self._lock:
            short = self._token(params["access_token"])
            if short.kind != "short":
                # ASSUMED: only a short-lived token is exchanged ("exchange a short-lived Threads user
                # access token for a long-lived token"); a long-lived one is refreshed instead.
                raise _param_error("Only a short-lived access token can be exchanged; refresh long-lived tokens")
            token = self._issue(short.user_id, short.scopes, "long")
            self.exchanges.append((short.value, token.value))
        return {"access_token": token.value, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS}

    def refresh(self, params: dict[str, Any]) -> dict[str, Any]:
        """GET /refresh_access_token?grant_type=th_refresh_token&access_token= ([docs:tokens]): a
        long-lived token at least 24 hours old and unexpired becomes a new one valid 60 days."""
        for name in ("grant_type", "access_token"):
            if not params.get(name):
                raise _missing(name)
        if params["grant_type"] != "th_refresh_token":
            raise _param_error(f"Unsupported grant_type: {params['grant_type']}")
        with self._lock:
            old = self._token(params["access_token"])  # an expired token cannot be refreshed
            if old.kind != "long":
                raise _param_error("Only a long-lived access token can be refreshed")  # ASSUMED wording
            if self.now() - old.issued_at < REFRESH_MIN_AGE_SECONDS:
                # ASSUMED wording and code: the docs state the rule, not the answer.
                raise _param_error("The access token must be at least 24 hours old to be refreshed")
            if "threads_basic" not in old.scopes:
                self._require(old, "threads_basic")  # [docs:tokens] refresh needs threads_basic
            token = self._issue(old.user_id, old.scopes, "long")
            self.refreshes.append((old.value, token.value))
        return {"access_token": token.value, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS}

    # --- publishing -----------------------------------------------------------------------------
    def _owner(self, token: Token, path_user: str, method: str) -> User:
        """The user a ``/{threads-user-id}/...`` path names: "me" or the token's own user id."""
        if path_user not in ("me", token.user_id):
            raise _no_object(path_user, method)
        return self.users[token.user_id]

    def create_container(self, token: Token, path_user: str, params: dict[str, Any]) -> dict[str, Any]:
        """POST /{threads-user-id}/threads ([docs:posts], [docs:ref])."""
        self._require(token, "threads_basic", "threads_content_publish")
        user = self._owner(token, path_user, "post")
        media_type = params.get("media_type")
        if not media_type:
            raise _missing("media_type")
        if media_type not in MEDIA_TYPES:
            raise _param_error(f"Param media_type must be one of {{{', '.join(MEDIA_TYPES)}}}")
        is_item = _boolean(params, "is_carousel_item")
        if is_item and media_type not in ("IMAGE", "VIDEO"):
            # [docs:posts] carousel items are images or videos.
            raise _param_error("A carousel item must be an IMAGE or a VIDEO")
        text = params.get("text")
        if text is not None and not isinstance(text, str):
            raise _param_error("Param text must be a string")
        if media_type == "TEXT" and not text and not params.get("link_attachment"):
            # [docs:posts] text is "Required for media_type=TEXT" (Postman: unless link_attachment).
            raise _missing("text")
        if text and len(text.encode("utf-8")) > MAX_TEXT_BYTES:
            raise _param_error(f"Param text must be at most {MAX_TEXT_BYTES} characters long.")
        alt_text = params.get("alt_text")
        if alt_text is not None and len(alt_text) > MAX_ALT_TEXT:
            raise _param_error(f"Param alt_text must be at most {MAX_ALT_TEXT} characters long.")
        reply_control = params.get("reply_control")
        if reply_control is not None and reply_control not in REPLY_CONTROLS:
            raise _param_error(f"Param reply_control must be one of {{{', '.join(REPLY_CONTROLS)}}}")
        reply_to = params.get("reply_to_id")
        with self._lock:
            if reply_to and reply_to not in self._media:
                # ASSUMED: a reply to a post that does not exist (or is not published) is refused here.
                raise _param_error(f"Param reply_to_id {reply_to} is not a valid Threads post")
            children: list[str] = []
            if media_type == "CAROUSEL":
                children = self._carousel_children(user, params.get("children"))
            processing = None
            if media_type in ("IMAGE", "VIDEO"):
                processing = self._faults.processing.pop(0) if self._faults.processing else (None, None)
        container = Container(
            str(next(self._ids)),
            user.id,
            media_type,
            self.now(),
            self.now(),
            text=text or None,
            is_carousel_item=is_item,
            children=children,
            reply_to_id=reply_to or None,
            reply_control=reply_control,
            alt_text=alt_text,
            params=dict(params),
        )
        if media_type == "IMAGE":
            self._fetch_image(container, params.get("image_url"), processing)
        elif media_type == "VIDEO":
            self._fetch_video(container, params.get("video_url"), processing)
        with self._lock:
            self.containers[container.id] = container
            if media_type == "TEXT" and _boolean(params, "auto_publish_text"):
                # [meta:sample] "a Threads post is published automatically when a Threads media container
                # is created": the answer's id is then the post's.
                return {"id": self._publish(user, container)}
        return {"id": container.id}

    def _carousel_children(self, user: User, raw: Any) -> list[str]:
        if raw is None or raw == "" or raw == []:
            raise _missing("children")
        if isinstance(raw, list):
            ids = [str(item) for item in raw]
        else:
            text = str(raw).strip()
            ids = [str(i) for i in json.loads(text)] if text.startswith("[") else [i.strip() for i in text.split(",")]
        if not MIN_CHILDREN <= len(ids) <= MAX_CHILDREN:
            raise _param_error(f"Param children must have between {MIN_CHILDREN} and {MAX_CHILDREN} items")
        if len(set(ids)) != len(ids):
            raise _param_error("Param children lists a container more than once")  # ASSUMED
        for child_id in ids:
            child = self.containers.get(child_id)
            if child is None or child.owner != user.id:
                raise _no_object(child_id)
            if not child.is_carousel_item:
                raise _param_error(f"Container {child_id} was not created with is_carousel_item=true")
            if self._status(child) == "EXPIRED":
                raise _media_not_found(child_id)
        return ids

    def _fetch(self, url: Any) -> tuple[bytes | None, str | None, str | None]:
        """Downloads ``url`` once, as Threads does ([docs:posts]: "Threads retrieves your image from the
        URL provided, so it must be on a public server"): (bytes, content type, failure)."""
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            self.fetches.append(Fetch(str(url), None, None, 0, "not an http(s) URL", self.now()))
            return None, None, "not an http(s) URL"
        request = urllib.request.Request(url, headers={"User-Agent": "facebookexternalhit/1.1"})  # ASSUMED UA
        try:
            with urllib.request.urlopen(request, timeout=self.fetch_timeout) as response:
                data = response.read(MAX_VIDEO_BYTES + 1)
                fetched = Fetch(url, response.status, response.headers.get("Content-Type"), len(data), None, self.now())
        except urllib.error.HTTPError as failure:
            self.fetches.append(
                Fetch(url, failure.code, failure.headers.get("Content-Type"), 0, f"HTTP {failure.code}", self.now())
            )
            return None, None, f"HTTP {failure.code}"
        except (urllib.error.URLError, OSError, ValueError) as failure:
            reason = "timeout" if isinstance(getattr(failure, "reason", failure), socket.timeout) else str(failure)
            self.fetches.append(Fetch(url, None, None, 0, reason, self.now()))
            return None, None, reason
        self.fetches.append(fetched)
        return data, fetched.content_type, None

    def _fetch_image(self, container: Container, url: Any, processing: tuple[float | None, str | None]) -> None:
        if not url:
            raise _missing("image_url")  # [docs:posts] "Required for media_type=IMAGE"
        data, content_type, failure = self._fetch(url)
        if failure == "timeout":
            # ASSUMED (Instagram's code for the same failure): "It takes too long to download the media."
            raise GraphError(
                "Media download has timed out",
                -2,
                subcode=2207003,
                transient=True,
                user_title="Media download timed out",
                user_msg="It takes too long to download the media.",
            )
        kind = _image_kind(data) if data is not None else None
        if failure is not None or kind is None:
            # [observed] postiz-app#1364: an image Threads cannot use is refused at container creation
            # with code 1, subcode 2207052. The messages are ASSUMED (Instagram's for that subcode).
            raise GraphError(
                "An unknown error occurred",
                1,
                subcode=2207052,
                transient=False,
                user_title="Media download has failed. The media URI doesn't meet our requirements.",
                user_msg=f"The media could not be fetched from this uri: {url}",
            )
        if len(data) > MAX_IMAGE_BYTES:
            # ASSUMED: Instagram's answer for an image over 8 MiB (code 36000, subcode 2207004).
            raise GraphError(
                "The image size is too large.",
                36000,
                subcode=2207004,
                transient=False,
                user_title="Image size too large",
                user_msg="The image is too large to download. It should be less than 8 MiB.",
            )
        seconds, error = processing
        container.media_url, container.data, container.content_type = url, data, kind
        container.ready_at = self.now() + (self.image_processing_seconds if seconds is None else seconds)
        container.error_message = error

    def _fetch_video(self, container: Container, url: Any, processing: tuple[float | None, str | None]) -> None:
        if not url:
            raise _missing("video_url")  # [docs:posts] "Required for media_type=VIDEO"
        seconds, error = processing
        data, content_type, failure = self._fetch(url)
        # [docs:trouble] a video's trouble shows later, as the container's status ERROR with an
        # error_message; ASSUMED: the fetch itself happens now (so a presigned URL must be valid at
        # container creation), its outcome shows when processing ends.
        if failure is not None:
            error = error or "FAILED_DOWNLOADING_VIDEO"
        elif not _is_iso_bmff(data) or len(data) > MAX_VIDEO_BYTES:
            error = error or "FAILED_PROCESSING_VIDEO"
        else:
            duration = _mp4_duration(data)
            if duration is not None and not 0 < duration <= MAX_VIDEO_SECONDS:
                error = error or "INVALID_DURATION"
        container.media_url, container.data = url, data
        container.content_type = _video_kind(data) if data else None
        container.ready_at = self.now() + (self.video_processing_seconds if seconds is None else seconds)
        container.error_message = error

    def _status(self, container: Container) -> str:
        """[docs:trouble] EXPIRED, ERROR, FINISHED, IN_PROGRESS, PUBLISHED."""
        if container.published_id is not None:
            return "PUBLISHED"
        if self.now() >= container.created_at + CONTAINER_SECONDS:
            return "EXPIRED"
        if container.media_type == "CAROUSEL":
            # ASSUMED: a carousel is ready when every item is, and fails when one does.
            statuses = [self._status(self.containers[child]) for child in container.children]
            if "ERROR" in statuses or "EXPIRED" in statuses:
                return "ERROR"
            if "IN_PROGRESS" in statuses:
                return "IN_PROGRESS"
        if self.now() < container.ready_at:
            return "IN_PROGRESS"
        return "ERROR" if container.error_message else "FINISHED"

    def _error_message(self, container: Container) -> str | None:
        if container.media_type == "CAROUSEL":
            for child in container.children:
                if self._status(self.containers[child]) == "ERROR":
                    return self.containers[child].error_message
            return None
        return container.error_message

    def publish(self, token: Token, path_user: str, params: dict[str, Any]) -> dict[str, Any]:
        """POST /{threads-user-id}/threads_publish?creation_id= ([docs:posts])."""
        self._require(token, "threads_basic", "threads_content_publish")
        user = self._owner(token, path_user, "post")
        creation_id = params.get("creation_id")
        if not creation_id:
            raise _missing("creation_id")
        with self._lock:
            container = self.containers.get(str(creation_id))
            if container is None or container.owner != user.id:
                raise _media_not_found(str(creation_id))
            if container.is_carousel_item:
                # ASSUMED: an item is published only through its carousel.
                raise _param_error("A carousel item cannot be published on its own; publish its carousel")
            if self._status(container) != "FINISHED":
                # [observed] the answer to a container not ready; ASSUMED the same for ERROR, EXPIRED and
                # an already PUBLISHED container (it is never published twice).
                raise _media_not_found(container.id)
            return {"id": self._publish(user, container)}

    def _publish(self, user: User, container: Container) -> str:
        reply = container.reply_to_id is not None
        window = [
            when
            for when, who, is_reply in self._published
            if who == user.id and is_reply == reply and when > self.now() - DAY_SECONDS
        ]
        if len(window) >= (self.replies_per_day if reply else self.posts_per_day):
            # [docs:overview] the limit "is enforced on the POST /{threads-user-id}/threads_publish
            # endpoint". ASSUMED answer: Instagram's content publishing limit (code 9, subcode 2207042).
            raise GraphError(
                "Application request limit reached",
                9,
                subcode=2207042,
                transient=False,
                user_title="Maximum number of posts reached",
                user_msg="You reached maximum number of posts that is allowed to be published by "
                "Content Publishing API.",
            )
        return self._publish_container(container, count=True)

    def _publish_container(self, container: Container, count: bool) -> str:
        user = self.users[container.owner]
        media_id = str(next(self._ids))
        shortcode = secrets.token_urlsafe(8).replace("-", "A").replace("_", "B")[:11]
        children = []
        for child_id in container.children:
            child = self.containers[child_id]
            child.published_id = str(next(self._ids))
            snapshot = {
                "id": child.published_id,
                "container_id": child.id,
                "media_type": child.media_type,
                "media_url": child.media_url,
                "data": child.data,
                "content_type": child.content_type,
                "alt_text": child.alt_text,
                "owner": user.id,
            }
            self._media[child.published_id] = snapshot
            children.append(snapshot)
        container.published_id = media_id
        post = {
            "id": media_id,
            "container_id": container.id,
            "owner": user.id,
            "username": user.username,
            "media_type": container.media_type,
            "text": container.text,
            "reply_to_id": container.reply_to_id,
            "reply_control": container.reply_control,
            "alt_text": container.alt_text,
            "media_url": container.media_url,
            "data": container.data,
            "content_type": container.content_type,
            "children": children,
            "shortcode": shortcode,
            "published_at": self.now(),
            "permalink": f"https://www.threads.net/@{user.username}/post/{shortcode}",
        }
        self._media[media_id] = post
        self.posts.append(post)
        if count:
            self._published.append((self.now(), user.id, container.reply_to_id is not None))
        return media_id

    def publishing_limit(self, token: Token, path_user: str, params: dict[str, Any]) -> dict[str, Any]:
        """GET /{threads-user-id}/threads_publishing_limit ([docs:overview], [docs:trouble])."""
        # [docs:overview] "This endpoint requires the threads_basic and threads_content_publish permissions."
        self._require(token, "threads_basic", "threads_content_publish")
        user = self._owner(token, path_user, "get")
        fields = _fields(params, LIMIT_FIELDS, "ThreadsPublishingLimit", default=("quota_usage", "config"))
        with self._lock:
            recent = [r for when, who, r in self._published if who == user.id and when > self.now() - DAY_SECONDS]
        values = {
            "quota_usage": sum(1 for r in recent if not r),
            "config": {"quota_total": self.posts_per_day, "quota_duration": DAY_SECONDS},
            "reply_quota_usage": sum(1 for r in recent if r),
            "reply_config": {"quota_total": self.replies_per_day, "quota_duration": DAY_SECONDS},
            "delete_quota_usage": 0,
            "delete_config": {"quota_total": DELETE_PER_DAY, "quota_duration": DAY_SECONDS},
            "location_search_quota_usage": 0,
            "location_search_config": {"quota_total": LOCATION_SEARCHES_PER_DAY, "quota_duration": DAY_SECONDS},
        }
        return {"data": [{name: values[name] for name in fields}]}

    # --- reading ---------------------------------------------------------------------------------
    def set_insights(self, media_id: str, **counts: int) -> None:
        with self._lock:
            self.insight_counts[media_id] = {**self.insight_counts.get(media_id, {}), **counts}

    def insights(self, token: Token, media_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """GET /{threads-media-id}/insights ([docs] developers.facebook.com/docs/threads/insights):
        ``metric`` names views, likes, replies, reposts, quotes, shares (comma-separated); needs
        threads_basic and threads_manage_insights; each metric comes as
        ``{"name", "period": "lifetime", "values": [{"value"}], "title", "description", "id"}``."""
        self._require(token, "threads_basic", "threads_manage_insights")
        names = [name for name in str(params.get("metric") or "").split(",") if name]
        allowed = ("views", "likes", "replies", "reposts", "quotes", "shares")
        if not names or any(name not in allowed for name in names):
            raise _param_error(f"(#100) metric must be a list of {', '.join(allowed)}")
        with self._lock:
            media = self._media.get(media_id)
            if media is None or media["owner"] != token.user_id:
                raise _no_object(media_id)
            counts = self.insight_counts.get(media_id, {})
            return {
                "data": [
                    {
                        "name": name,
                        "period": "lifetime",
                        "values": [{"value": int(counts.get(name, 0))}],
                        "title": name.capitalize(),
                        "description": f"The number of {name} of your post.",
                        "id": f"{media_id}/insights/{name}/lifetime",
                    }
                    for name in names
                ]
            }

    def read_object(self, token: Token, object_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """GET /me, /{threads-user-id}, /{container-id}, /{threads-media-id}."""
        self._require(token, "threads_basic")
        with self._lock:
            if object_id in ("me", token.user_id):
                user = self.users[token.user_id]
                fields = _fields(params, USER_FIELDS, "User")
                values = {
                    "id": user.id,
                    "username": user.username,
                    "name": user.name,
                    "threads_profile_picture_url": f"{self.url}/cdn/profile/{user.id}.jpg",
                    "threads_biography": user.biography,
                    "is_verified": user.is_verified,
                    "recently_searched_keywords": [],
                    "is_eligible_for_geo_gating": False,
                }
                return {name: values[name] for name in fields}
            container = self.containers.get(object_id)
            if container is not None and container.owner == token.user_id:
                # [docs:trouble] {"status": "FINISHED", "id": ...}, and error_message on ERROR.
                fields = _fields(params, CONTAINER_FIELDS, "ThreadsMediaContainer")
                values = {
                    "id": container.id,
                    "status": self._status(container),
                    "error_message": self._error_message(container) if self._status(container) == "ERROR" else None,
                }
                return {name: values[name] for name in fields if values[name] is not None}
            media = self._media.get(object_id)
            if media is not None:
                return self._media_fields(media, token, _fields(params, MEDIA_FIELDS, "ThreadsMedia"))
        raise _no_object(object_id)

    def _media_fields(self, media: dict[str, Any], token: Token, fields: tuple[str, ...]) -> dict[str, Any]:
        owner = self.users[media["owner"]]
        is_post = "shortcode" in media  # a post, not a carousel's child
        parent = media.get("reply_to_id")
        root = parent
        while root is not None and self._media.get(root, {}).get("reply_to_id"):
            root = self._media[root]["reply_to_id"]
        values: dict[str, Any] = {
            "id": media["id"],
            "media_product_type": "THREADS",
            "media_type": PUBLISHED_TYPES[media["media_type"]],
            "media_url": f"{self.url}/cdn/{media['id']}" if media.get("data") is not None else None,
            "permalink": media.get("permalink"),
            "owner": {"id": owner.id},
            "username": owner.username,
            "text": media.get("text"),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(media.get("published_at", self.now()))),
            "shortcode": media.get("shortcode"),
            "is_quote_post": False,
            "alt_text": media.get("alt_text"),
            "children": {"data": [{"id": child["id"]} for child in media["children"]]}
            if media.get("children")
            else None,
            "has_replies": any(p.get("reply_to_id") == media["id"] for p in self.posts) if is_post else None,
            "is_reply": parent is not None if is_post else None,
            "replied_to": {"id": parent} if parent else None,
            "root_post": {"id": root} if root else None,
            "is_reply_owned_by_me": (parent is not None and owner.id == token.user_id) if is_post else None,
            # ASSUMED spelling: the reply_control value in capitals (EVERYONE when none was set).
            "reply_audience": (media.get("reply_control") or "everyone").upper() if is_post else None,
            "is_verified": owner.is_verified,
            "profile_picture_url": f"{self.url}/cdn/profile/{owner.id}.jpg",
        }
        # Graph omits a field that has no value rather than answering null.
        return {name: values[name] for name in fields if values.get(name) is not None}

    def media_bytes(self, media_id: str) -> tuple[bytes, str] | None:
        media = self._media.get(media_id)
        if media is None or media.get("data") is None:
            return None
        return media["data"], media.get("content_type") or "application/octet-stream"

    # --- faults, applied by the handler ----------------------------------------------------------
    def injected_error(self, endpoint: str) -> tuple[int, dict[str, Any]] | None:
        with self._lock:
            fault = _take(self._faults.errors, endpoint)
        if fault is None:
            return None
        status, code, message = fault
        error = GraphError(message, code, status=status, transient=code in (1, 2, 4, 17, 32, 613))
        return error.answer()

    def delay(self, endpoint: str, before: bool) -> None:
        with self._lock:
            for position, ((seconds, is_before), on) in enumerate(self._faults.delays):  # noqa: B007 (read after the break)
                if is_before == before and (on is None or on == endpoint):
                    del self._faults.delays[position]
                    break
            else:
                return
        self._stopping.wait(seconds)

    def drops(self, endpoint: str) -> bool:
        with self._lock:
            return _take(self._faults.drops, endpoint) is not None or False


# --- helpers ---------------------------------------------------------------------------------------
def _take(queue: list[tuple[Any, str | None]], endpoint: str) -> Any:
    for position, (value, on) in enumerate(queue):
        if on is None or on == endpoint:
            del queue[position]
            return value if value is not None else True
    return None


def _boolean(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1"):
        return True
    if str(value).lower() in ("false", "0"):
        return False
    raise _param_error(f"Param {name} must be a boolean")


def _fields(
    params: dict[str, Any], known: tuple[str, ...], node: str, default: tuple[str, ...] = ("id",)
) -> tuple[str, ...]:
    """The fields asked for (Graph answers ``id`` alone when none are), refusing unknown ones."""
    raw = params.get("fields")
    if not raw:
        return default
    # A node's id comes with whatever fields are asked for ([docs:trouble]: fields=status,error_message
    # answers {"status", "id"}).
    always = ("id",) if "id" in known else ()
    names = tuple(name.strip().split("{")[0] for name in re.split(r",(?![^{]*\})", str(raw)) if name.strip())
    for name in names:
        if name not in known:
            # The Graph API's answer for an unknown field (code 100).
            raise GraphError(
                f"(#100) Tried accessing nonexisting field ({name}) on node type ({node})", 100, type_="THApiException"
            )
    return tuple(dict.fromkeys(always + names))


def _image_kind(data: bytes | None) -> str | None:
    """[docs:posts] "JPEG and PNG image types are the officially supported formats for image posts."
    Decided by the bytes' signature."""
    if data and data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data and data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def _is_iso_bmff(data: bytes | None) -> bool:
    """MOV or MP4 ([docs:posts] "Container: MOV or MP4"): an ISO base media file starts with ftyp."""
    return bool(data) and len(data) >= 12 and data[4:8] == b"ftyp"


def _video_kind(data: bytes) -> str:
    return "video/quicktime" if data[8:12] == b"qt  " else "video/mp4"


def _mp4_duration(data: bytes) -> float | None:
    """Seconds from moov/mvhd, when the file has them at top level (None when it cannot tell)."""
    position = 0
    while position + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        if size < 8:
            return None
        if kind == b"moov":
            inner, end = position + 8, position + size
            while inner + 8 <= end:
                inner_size, inner_kind = struct.unpack(">I4s", data[inner : inner + 8])
                if inner_size < 8:
                    return None
                if inner_kind == b"mvhd":
                    body = data[inner + 8 : inner + inner_size]
                    if body[:1] == b"\x01" and len(body) >= 32:
                        scale, duration = struct.unpack(">IQ", body[20:32])
                    elif len(body) >= 20:
                        scale, duration = struct.unpack(">II", body[12:20])
                    else:
                        return None
                    return duration / scale if scale else None
                inner += inner_size
            return None
        position += size
    return None


def _parse_params(query: str, content_type: str, raw: bytes) -> dict[str, Any]:
    """Graph parameters from the query string and the body (form, multipart or JSON); the body wins."""
    params: dict[str, Any] = {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
    if not raw:
        return params
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise _param_error("The request body is not valid JSON") from exc
        if isinstance(body, dict):
            params.update(
                {
                    k: (
                        ("true" if v else "false")
                        if isinstance(v, bool)
                        else v
                        if isinstance(v, (list, str))
                        else str(v)
                    )
                    for k, v in body.items()
                }
            )
    elif kind == "multipart/form-data":
        message = email.message_from_bytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw, policy=email.policy.HTTP
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                params[name] = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    else:
        params.update(
            {
                key: values[-1]
                for key, values in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()
            }
        )
    return params


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that gave up is the point
            super().handle_error(request, client_address)


def _handler_for(server: ThreadsApiServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _send(self, status: int, payload: Any, content_type: str = "application/json; charset=UTF-8") -> None:
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _drop(self) -> None:
            """Closes the connection without an answer."""
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def do_GET(self) -> None:  # noqa: N802
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def do_DELETE(self) -> None:  # noqa: N802
            self._serve("DELETE")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            versioned = VERSION.match(parts.path)
            path = parts.path[versioned.end() :] if versioned else parts.path
            segments = [s for s in path.split("/") if s]
            try:
                params = _parse_params(parts.query, self.headers.get("Content-Type") or "", raw)
                if method == "GET" and len(segments) >= 2 and segments[0] == "cdn":
                    found = server.media_bytes(segments[1])
                    self._send(*((200, found[0], found[1]) if found else (404, b"", "text/plain")))
                    return
                endpoint, act = self._route(method, segments, versioned is not None, params)
            except GraphError as error:
                server.calls.append((method, "/".join(segments), {}))
                self._send(*error.answer())
                return
            server.calls.append((method, endpoint, params))
            injected = server.injected_error(endpoint)
            if injected is not None:
                self._send(*injected)
                return
            server.delay(endpoint, before=True)
            try:
                status, payload = 200, act()
            except GraphError as error:
                status, payload = error.answer()
            if status == 200:
                if server.drops(endpoint):
                    self._drop()
                    return
                server.delay(endpoint, before=False)
            self._send(status, payload)

        def _bearer(self, params: dict[str, Any]) -> Token:
            # The token as a parameter ([docs:posts] curl examples, [meta:sample]) or a header (Meta's
            # Postman collection authenticates with OAuth 2.0, which sends "Authorization: Bearer").
            header = self.headers.get("Authorization") or ""
            scheme, _, value = header.partition(" ")
            token = params.get("access_token") or (value.strip() if scheme.lower() in ("bearer", "oauth") else None)
            with server._lock:
                return server._token(token)

        def _route(self, method: str, segments: list[str], versioned: bool, params: dict[str, Any]):
            unsupported = _param_error(f"Unsupported request - method type: {method.lower()}")
            if segments == ["oauth", "access_token"]:
                if method != "POST":
                    raise unsupported
                return "oauth/access_token", lambda: server.exchange_code(params)
            if segments in (["access_token"], ["refresh_access_token"]):
                # [observed] restfb#1450: graph.threads.net/v1.0/access_token answers "Unsupported
                # request - method type: get"; the documented URLs carry no version.
                if method != "GET" or versioned:
                    raise unsupported
                if segments == ["access_token"]:
                    return "access_token", lambda: server.exchange_long_lived(params)
                return "refresh_access_token", lambda: server.refresh(params)
            if len(segments) == 2 and segments[1] in ("threads", "threads_publish", "threads_publishing_limit"):
                edge = segments[1]
                wanted = "GET" if edge == "threads_publishing_limit" else "POST"
                if method != wanted:
                    raise unsupported
                token = self._bearer(params)
                act = {
                    "threads": server.create_container,
                    "threads_publish": server.publish,
                    "threads_publishing_limit": server.publishing_limit,
                }[edge]
                return edge, lambda: act(token, segments[0], params)
            if len(segments) == 2 and segments[1] == "insights" and method == "GET":
                token = self._bearer(params)
                return "insights", lambda: server.insights(token, segments[0], params)
            if len(segments) == 1 and method == "GET":
                token = self._bearer(params)
                return ("me" if segments[0] == "me" else "object"), lambda: server.read_object(
                    token, segments[0], params
                )
            if len(segments) == 1:
                self._bearer(params)
                raise _no_object(segments[0], method.lower())
            raise unsupported

    return Handler

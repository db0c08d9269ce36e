"""A local X API v2 server for tests: the parts openpost talks to, behaving as X documents them.

What it serves (on a free loopback port, in a background thread):

- ``POST /2/oauth2/token``: the authorization_code grant with PKCE (the S256 hash of
  ``code_verifier`` must equal the ``code_challenge`` given at authorization; codes are single use
  and live 30 seconds) and the refresh_token grant, which rotates: each refresh token works once,
  and the answer carries a new one. Access tokens last 2 hours. A confidential client authenticates
  with HTTP Basic (client id and secret); a public one names its ``client_id`` in the form.
  Failures answer 400 ``{"error", "error_description"}``, as X does (X says "invalid_request" for a
  used or unknown token, not "invalid_grant").
- ``GET /2/users/me``: ``{"data": {"id", "name", "username"}}``.
- ``POST /2/tweets``: ``text``, ``reply.in_reply_to_tweet_id``, ``reply_settings``
  (following | mentionedUsers | subscribers | verified; omitted means everyone) and
  ``media.media_ids``; 201 ``{"data": {"id", "text"}}``. The body is checked against X's OpenAPI
  document (CreatePostsRequest: no field it does not list, ``text`` always present, 1 to 4 media ids
  of digits), then refused as X does: a reply to a post
  that does not exist (403), duplicate text from the same account (403), an unknown reply setting or
  an empty post (400), more than 280 characters (400; counted plainly here, weighted counting is
  openpost's own business), and media ids that are unknown, another account's, expired, not
  finalized or not yet processed, or more than 4 photos or a GIF or video with anything else (400
  "Your media IDs are invalid.", with the ids under ``media.media_ids``).
- The chunked media upload, each call needing the ``media.write`` scope (403 without it):
  ``POST /2/media/upload/initialize`` (JSON ``media_type``, ``total_bytes``, ``media_category``:
  200 ``{"data": {"id", "media_key", "expires_after_secs"}}``; the category must fit the type, and
  the size X's limit for the category); ``POST /2/media/upload/{id}/append`` (multipart ``media``,
  at most 5 MB, and ``segment_index`` 0-999; an index sent again replaces its segment);
  ``POST /2/media/upload/{id}/finalize`` (the segments must run 0..n-1 and add up to ``total_bytes``;
  GIFs and videos answer ``processing_info`` ``{"state": "pending", "check_after_secs"}``);
  ``GET /2/media/upload?media_id=&command=STATUS`` (each call moves processing on: ``in_progress``,
  then ``succeeded`` or ``failed``; ``processing_info`` carries only what X's OpenAPI document lists:
  ``state``, ``check_after_secs``, ``progress_percent``, and no reason for a failure); ``POST /2/media/metadata``
  (``{"id", "metadata": {"alt_text": {"text"}}}``, at most 1,000 characters). Media belongs to the
  account that uploaded it and expires after a day.

- ``GET /2/tweets?ids=`` (the metrics read): 1 to 100 comma-separated ids (400 otherwise), with
  ``tweet.fields`` naming ``public_metrics`` (retweet, reply, like, quote, bookmark, impression
  counts) and ``non_public_metrics`` (impression_count, url_link_clicks, user_profile_clicks), which
  X gives only to the post's author and only for posts under 30 days: for the others the post comes
  without them and ``errors`` says so, as for an id that does not exist. ``lookups`` counts the
  calls; ``set_metrics()`` sets a post's counters; ``seed_tweet()`` adds a post without the API.
  Reads have their own 15-minute window (``read_limit``, 5,000 per user by default).

Bearer endpoints answer 401 with X's problem body for a missing, unknown or expired token, and carry
``x-rate-limit-limit``/``-remaining``/``-reset`` (epoch seconds) on every answer; over the limit,
429 with the same headers and no Retry-After. ``POST /2/tweets`` is also capped per 24 hours, per
user and per app (``daily_user_limit``, ``daily_app_limit``), with ``x-user-limit-24hour-limit``/
``-remaining``/``-reset`` and ``x-app-limit-24hour-*`` on its answers: a post over either cap is a
429 while the 15-minute window may still have room, and only the 24-hour reset says when it
reopens. X's failures come in the two shapes of its OpenAPI document: a problem (``type``,
``title``, ``detail``, ``status``) and the plain ``Error`` (``{"code", "message"}``).

Hooks for tests: ``authorize()`` does what the user's browser does on X's consent screen;
``fail_next()``, ``rate_limit_next()`` and ``hang_after_accept_next()`` inject faults (the first
two on any bearer call, or on one endpoint only, e.g. ``on="media/upload/append"``; the third on
``POST /2/tweets`` unless another endpoint is named);
``process_next()`` says how long the next GIF or video takes to process and how it ends;
``advance()`` moves the server's clock (tokens and media expire); ``tweets`` is what was posted,
each with the ``media`` it carries; ``media`` is every upload by id.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.platform_servers.loopback import LoopbackServer

ACCESS_TOKEN_SECONDS = 2 * 60 * 60
DAY_SECONDS = 24 * 60 * 60
# Messages of X's Error shape ({"code", "message"}) for the codes the tests use.
ERROR_MESSAGES = {
    88: "Rate limit exceeded",
    186: "Tweet needs to be a bit shorter.",
    187: "Status is a duplicate.",
    326: "To protect our users from spam and other malicious activity, this account is temporarily locked.",
}
CODE_SECONDS = 30
MAX_TEXT = 280
REPLY_SETTINGS = frozenset({"following", "mentionedUsers", "subscribers", "verified"})
TWITTER_EPOCH_MS = 1288834974657
SCOPE = "tweet.read tweet.write users.read offline.access"
MEDIA_SCOPE = "media.write"
MEDIA_SECONDS = 24 * 60 * 60
MAX_SEGMENT_BYTES = 5 * 1024 * 1024
MAX_SEGMENTS = 1000
MAX_ALT_TEXT = 1000
MAX_PHOTOS = 4
# initialize's media_type values as X lists them, and the types each post category takes.
MEDIA_TYPES = frozenset(
    {
        "video/mp4",
        "video/webm",
        "video/mp2t",
        "video/quicktime",
        "text/srt",
        "text/vtt",
        "image/jpeg",
        "image/gif",
        "image/bmp",
        "image/png",
        "image/webp",
        "image/pjpeg",
        "image/tiff",
        "model/gltf-binary",
        "model/vnd.usdz+zip",
    }
)
CATEGORIES = {
    "tweet_image": lambda media_type: media_type.startswith("image/"),
    "tweet_gif": lambda media_type: media_type == "image/gif",
    "tweet_video": lambda media_type: media_type.startswith("video/"),
}
CATEGORY_BYTES = {"tweet_image": 5 * 1024 * 1024, "tweet_gif": 15 * 1024 * 1024, "tweet_video": 512 * 1024 * 1024}
# X's media object types, and the prefix of their media keys.
MEDIA_KINDS = {"tweet_image": ("photo", "3"), "tweet_gif": ("animated_gif", "16"), "tweet_video": ("video", "7")}


def s256(verifier: str) -> str:
    """RFC 7636's S256 code challenge of a verifier."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


@dataclass
class User:
    id: str
    username: str
    name: str


@dataclass
class _Grant:
    """An authorization code waiting to be exchanged."""

    user_id: str
    client_id: str
    redirect_uri: str
    challenge: str
    method: str
    scope: str
    expires_at: float


@dataclass
class Media:
    """One upload, as X keeps it: whose it is, what was appended, how processing goes."""

    id: str
    owner: str  # the user id that uploaded it
    media_type: str
    category: str
    total_bytes: int
    expires_at: float
    segments: dict[int, bytes] = field(default_factory=dict)
    finalized: bool = False
    state: str | None = None  # None (nothing to process), pending, in_progress, succeeded, failed
    polls_left: int = 0
    check_after_secs: int = 1
    fails: bool = False
    alt_text: str | None = None
    status_checks: int = 0

    @property
    def kind(self) -> str:
        return MEDIA_KINDS[self.category][0]

    @property
    def media_key(self) -> str:
        return f"{MEDIA_KINDS[self.category][1]}_{self.id}"

    @property
    def data(self) -> bytes:
        return b"".join(self.segments[index] for index in sorted(self.segments))

    @property
    def usable(self) -> bool:
        return self.finalized and self.state in (None, "succeeded")

    def processing_info(self) -> dict[str, Any] | None:
        if self.state is None:
            return None
        info: dict[str, Any] = {"state": self.state}
        if self.state in ("pending", "in_progress"):
            info["check_after_secs"] = self.check_after_secs
        if self.state == "in_progress":
            info["progress_percent"] = 50
        # GetMediaUploadStatusResponseDataProcessingInfo (and its Finalize twin) in X's OpenAPI document
        # lists state, check_after_secs and progress_percent, with "additionalProperties": false: a
        # failure comes with no reason, so none is made up here.
        return info

    def snapshot(self) -> dict[str, Any]:
        """What a tweet carries of it, for assertions."""
        return {
            "id": self.id,
            "type": self.kind,
            "media_type": self.media_type,
            "category": self.category,
            "size": len(self.data),
            "data": self.data,
            "alt_text": self.alt_text,
        }


@dataclass
class _Faults:
    # ((status, Error code or None), endpoint or None for any) for the next calls, in order
    errors: list[tuple[tuple[int, int | None], str | None]] = field(default_factory=list)
    # (reset delay in seconds, endpoint or None) for the next 429s
    rate_limited: list[tuple[int, str | None]] = field(default_factory=list)
    # (seconds to hold the answer after accepting, endpoint)
    hangs: list[tuple[float, str | None]] = field(default_factory=list)
    # (status checks before the end, fails?, check_after_secs) for the next GIFs and videos
    processing: list[tuple[int, bool, int]] = field(default_factory=list)


class XApiServer(LoopbackServer):
    thread_name = "x-api"

    def __init__(
        self,
        client_id: str = "openpost-client",
        client_secret: str | None = "openpost-secret",
        tweet_limit: int = 100,
        window_seconds: int = 15 * 60,
        daily_user_limit: int | None = None,
        daily_app_limit: int | None = None,
        read_limit: int = 5000,
    ):
        super().__init__()
        self.read_limit = read_limit
        self.lookups: list[list[str]] = []  # the ids of every GET /2/tweets, in order
        self.metrics: dict[str, dict[str, int]] = {}  # tweet id -> public counters
        self.client_id = client_id
        self.daily_user_limit = daily_user_limit
        self.daily_app_limit = daily_app_limit
        self.client_secret = client_secret
        self.tweet_limit = tweet_limit
        self.window_seconds = window_seconds
        self.users: dict[str, User] = {}
        self.tweets: list[dict[str, Any]] = []
        self.bodies: list[Any] = []  # every POST /2/tweets body as sent, accepted or not
        self.requests: list[tuple[str, str]] = []  # (method, path) of every call, in order
        self.issued: list[str] = []  # every token handed out, to look for leaks
        self.media: dict[str, Media] = {}  # every upload, by media id
        self._codes: dict[str, _Grant] = {}
        self._access: dict[str, tuple[str, float]] = {}  # token -> (user id, expires at)
        self._scopes: dict[str, str] = {}  # access token -> the scopes granted
        self._refresh: dict[str, tuple[str, str]] = {}  # token -> (user id, scopes); removed once used
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}  # (user, endpoint) -> (reset, used)
        self._days: dict[str, tuple[float, int]] = {}  # "user:<id>" or "app" -> (reset, posts) for 24 hours
        self._faults = _Faults()
        self._offset = 0.0
        self._lock = threading.RLock()

    # --- lifecycle ----------------------------------------------------------------------------
    def _serve(self):
        return ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))

    # --- the server's clock -------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Time passes on X's side only: tokens issued before expire as they would."""
        with self._lock:
            self._offset += seconds

    # --- what a browser and a person would do --------------------------------------------------
    def add_user(self, id: str = "1460000000000000001", username: str = "openpost", name: str = "openpost") -> User:
        with self._lock:
            self.users[id] = User(id, username, name)
            return self.users[id]

    def authorize(self, authorize_url: str, user_id: str | None = None) -> str:
        """The user approves on X's consent screen: returns where X sends the browser back to
        (the redirect_uri with ``state`` and ``code``). Refuses a malformed request as X does."""
        query = {key: values[0] for key, values in parse_qs(urlsplit(authorize_url).query).items()}
        problems = [
            name
            for name in ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge")
            if not query.get(name)
        ]
        if problems:
            raise ValueError(f"authorize request lacks {problems}")
        if query["response_type"] != "code" or query["client_id"] != self.client_id:
            raise ValueError("authorize request names another client or response type")
        method = query.get("code_challenge_method", "plain")
        if method not in ("S256", "plain"):
            raise ValueError(f"unknown code_challenge_method {method}")
        with self._lock:
            user = self.users.get(user_id) if user_id else next(iter(self.users.values()), None)
            if user is None:
                user = self.add_user()
            code = secrets.token_urlsafe(24)
            self._codes[code] = _Grant(
                user.id,
                query["client_id"],
                query["redirect_uri"],
                query["code_challenge"],
                method,
                query["scope"],
                self.now() + CODE_SECONDS,
            )
        return f"{query['redirect_uri']}?{urlencode({'state': query['state'], 'code': code})}"

    # --- fault injection --------------------------------------------------------------------------
    def fail_next(
        self, times: int = 1, status: int = 503, on: str | None = None, error_code: int | None = None
    ) -> None:
        """The next ``times`` bearer calls (to endpoint ``on`` only, when given) answer ``status``
        and change nothing: with X's problem body, or with its ``Error`` shape ``{"code": error_code,
        "message"}`` when ``error_code`` is given."""
        with self._lock:
            self._faults.errors.extend([((status, error_code), on)] * times)

    def rate_limit_next(self, reset_in: int = 30, on: str | None = None) -> None:
        """The next bearer call (to endpoint ``on`` only, when given) answers 429, with
        x-rate-limit-reset ``reset_in`` seconds ahead."""
        with self._lock:
            self._faults.rate_limited.append((reset_in, on))

    def process_next(self, checks: int = 1, fails: bool = False, check_after_secs: int = 1) -> None:
        """The next GIF or video finalized stays in processing for ``checks`` status checks, then
        succeeds, or fails (``fails``). ``checks=0``: finalize answers the end."""
        with self._lock:
            self._faults.processing.append((checks, fails, check_after_secs))

    def hang_after_accept_next(self, seconds: float = 5.0, on: str = "tweets") -> None:
        """The next call to ``on`` (POST /2/tweets unless told) is accepted (the post exists), then
        the answer is held back for ``seconds``: the client's read timeout fires after X acted."""
        with self._lock:
            self._faults.hangs.append((seconds, on))

    def expire_access_tokens(self) -> None:
        with self._lock:
            self._access = {token: (user, 0.0) for token, (user, _) in self._access.items()}

    def revoke_refresh_tokens(self) -> None:
        """As when the user revokes openpost's access in X's settings."""
        with self._lock:
            self._refresh.clear()
            self._access.clear()

    def issue_tokens(self, user_id: str, scope: str = SCOPE) -> dict[str, Any]:
        """Tokens for a user without the browser dance (a test's starting point)."""
        with self._lock:
            return self._issue(user_id, scope)

    # --- tokens ------------------------------------------------------------------------------------
    def _issue(self, user_id: str, scope: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.issued += [access, refresh]
        self._access[access] = (user_id, self.now() + ACCESS_TOKEN_SECONDS)
        self._scopes[access] = scope
        answer = {"token_type": "bearer", "expires_in": ACCESS_TOKEN_SECONDS, "access_token": access, "scope": scope}
        if "offline.access" in scope.split():
            self._refresh[refresh] = (user_id, scope)
            answer["refresh_token"] = refresh
        return answer

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, dict[str, Any]]:
        client_id = basic[0] if basic else form.get("client_id")
        if client_id != self.client_id or (basic and self.client_secret and basic[1] != self.client_secret):
            return 401, {"error": "unauthorized_client", "error_description": "Missing valid authorization header"}
        if basic is None and self.client_secret:
            # A confidential client must authenticate; X refuses it in the form alone.
            return 401, {"error": "unauthorized_client", "error_description": "Missing valid authorization header"}
        grant = form.get("grant_type")
        with self._lock:
            if grant == "authorization_code":
                return self._exchange(form, client_id)
            if grant == "refresh_token":
                granted = self._refresh.pop(form.get("refresh_token", ""), None)  # once only: rotation
                if granted is None:
                    return 400, {
                        "error": "invalid_request",
                        "error_description": "Value passed for the token was invalid.",
                    }
                return 200, self._issue(*granted)  # a refresh keeps the scopes first granted
        return 400, {"error": "unsupported_grant_type", "error_description": f"Grant type {grant} is not supported."}

    def _exchange(self, form: dict[str, str], client_id: str) -> tuple[int, dict[str, Any]]:
        invalid = (
            400,
            {"error": "invalid_request", "error_description": "Value passed for the authorization code was invalid."},
        )
        grant = self._codes.pop(form.get("code", ""), None)  # a code is good for one exchange
        if grant is None or grant.expires_at < self.now() or grant.client_id != client_id:
            return invalid
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {
                "error": "invalid_request",
                "error_description": "Value passed for the redirect uri was invalid.",
            }
        verifier = form.get("code_verifier", "")
        expected = s256(verifier) if grant.method == "S256" else verifier
        if not verifier or not secrets.compare_digest(expected, grant.challenge):
            return 400, {
                "error": "invalid_request",
                "error_description": "Value passed for the code verifier was invalid.",
            }
        return 200, self._issue(grant.user_id, grant.scope)

    # --- bearer endpoints -------------------------------------------------------------------------
    def bearer(self, header: str | None) -> User | None:
        if not header or not header.startswith("Bearer "):
            return None
        with self._lock:
            found = self._access.get(header[len("Bearer ") :])
            if found is None or found[1] <= self.now():
                return None
            return self.users.get(found[0])

    def granted(self, header: str) -> list[str]:
        """The scopes of the bearer token in ``header`` (one ``bearer`` accepted)."""
        with self._lock:
            return self._scopes.get(header[len("Bearer ") :], "").split()

    def rate_headers(self, user: User, endpoint: str, count: bool) -> tuple[bool, dict[str, str]]:
        """Counts a call against the user's 15-minute window; (over the limit?, headers)."""
        limit = self.read_limit if endpoint == "tweets/lookup" else self.tweet_limit
        with self._lock:
            now = self.now()
            reset, used = self._windows.get((user.id, endpoint), (now + self.window_seconds, 0))
            if reset <= now:
                reset, used = now + self.window_seconds, 0
            over = used >= limit
            if count and not over:
                used += 1
            self._windows[(user.id, endpoint)] = (reset, used)
            return over, {
                "x-rate-limit-limit": str(limit),
                "x-rate-limit-remaining": str(max(0, limit - used)),
                "x-rate-limit-reset": str(int(reset)),
            }

    def injected(self, endpoint: str) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """The fault due on this call to ``endpoint``, if any."""
        with self._lock:
            reset_in = _take(self._faults.rate_limited, endpoint)
            if reset_in is not None:
                return (
                    429,
                    _problem(429, "Too Many Requests"),
                    {
                        "x-rate-limit-limit": str(self.tweet_limit),
                        "x-rate-limit-remaining": "0",
                        "x-rate-limit-reset": str(int(self.now()) + reset_in),
                    },
                )
            failure = _take(self._faults.errors, endpoint)
            if failure is not None:
                status, error_code = failure
                if error_code is not None:
                    return status, {"code": error_code, "message": ERROR_MESSAGES.get(error_code, "Error")}, {}
                return status, _problem(status, "Service Unavailable" if status == 503 else "Internal Error"), {}
        return None

    def daily_headers(self, user: User, count: bool) -> tuple[bool, dict[str, str]]:
        """Counts a post against the user's and the app's 24-hour caps; (over either?, headers)."""
        over, headers = False, {}
        with self._lock:
            now = self.now()
            for key, prefix, limit in (
                (f"user:{user.id}", "x-user-limit-24hour", self.daily_user_limit),
                ("app", "x-app-limit-24hour", self.daily_app_limit),
            ):
                if limit is None:
                    continue
                reset, used = self._days.get(key, (now + DAY_SECONDS, 0))
                if reset <= now:
                    reset, used = now + DAY_SECONDS, 0
                over = over or used >= limit
                self._days[key] = (reset, used)
                headers.update(
                    {
                        f"{prefix}-limit": str(limit),
                        f"{prefix}-remaining": str(max(0, limit - used)),
                        f"{prefix}-reset": str(int(reset)),
                    }
                )
            if count and not over:
                for key, prefix in ((f"user:{user.id}", "x-user-limit-24hour"), ("app", "x-app-limit-24hour")):
                    if key in self._days:
                        reset, used = self._days[key]
                        self._days[key] = (reset, used + 1)
                        headers[f"{prefix}-remaining"] = str(max(0, int(headers[f"{prefix}-limit"]) - used - 1))
        return over, headers

    # --- metrics ---------------------------------------------------------------------------------
    def seed_tweet(self, user_id: str, text: str = "", age_seconds: float = 0) -> str:
        """A post by ``user_id``, made ``age_seconds`` ago, as if published earlier."""
        with self._lock:
            taken = {tweet["id"] for tweet in self.tweets}
            tweet_id = self._snowflake(self.now() - age_seconds)
            while tweet_id in taken:  # ids made in one millisecond differ only in 22 random bits
                tweet_id = self._snowflake(self.now() - age_seconds)
            self.tweets.append({"id": tweet_id, "text": text or f"post {tweet_id}", "author_id": user_id, "media": []})
            return tweet_id

    def set_metrics(self, tweet_id: str, **counts: int) -> None:
        with self._lock:
            self.metrics[tweet_id] = {**self.metrics.get(tweet_id, {}), **counts}

    def lookup(self, user: User, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        ids = [item for item in (query.get("ids") or "").split(",") if item]
        if not 1 <= len(ids) <= 100 or not all(item.isdigit() for item in ids):
            return 400, _invalid("ids", "The `ids` query parameter value must be 1 to 100 comma-separated ids.")
        fields = set((query.get("tweet.fields") or "").split(","))
        data, errors = [], []
        with self._lock:
            self.lookups.append(ids)
            tweets = {tweet["id"]: tweet for tweet in self.tweets}
            for tweet_id in ids:
                tweet = tweets.get(tweet_id)
                if tweet is None:
                    errors.append(
                        {
                            "value": tweet_id,
                            "detail": f"Could not find tweet with ids: [{tweet_id}].",
                            "title": "Not Found Error",
                            "resource_type": "tweet",
                            "parameter": "ids",
                            "resource_id": tweet_id,
                            "type": "https://api.twitter.com/2/problems/resource-not-found",
                        }
                    )
                    continue
                counts = self.metrics.get(tweet_id, {})
                item: dict[str, Any] = {"id": tweet_id, "text": tweet["text"], "edit_history_tweet_ids": [tweet_id]}
                if "public_metrics" in fields:
                    item["public_metrics"] = {
                        name: int(counts.get(name, 0))
                        for name in (
                            "retweet_count",
                            "reply_count",
                            "like_count",
                            "quote_count",
                            "bookmark_count",
                            "impression_count",
                        )
                    }
                if "non_public_metrics" in fields:
                    young = self.now() - self._created(tweet_id) < 30 * DAY_SECONDS
                    if tweet["author_id"] == user.id and young:
                        item["non_public_metrics"] = {
                            "impression_count": int(counts.get("impression_count", 0)),
                            "url_link_clicks": int(counts.get("url_link_clicks", 0)),
                            "user_profile_clicks": int(counts.get("user_profile_clicks", 0)),
                        }
                    else:
                        errors.append(
                            {
                                "title": "Field Authorization Error",
                                "detail": "Sorry, you are not authorized to access 'non_public_metrics' on a Tweet.",
                                "resource_id": tweet_id,
                                "resource_type": "tweet",
                                "field": "non_public_metrics",
                                "type": "https://api.twitter.com/2/problems/not-authorized-for-field",
                            }
                        )
                data.append(item)
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return 200, body

    @staticmethod
    def _created(tweet_id: str) -> float:
        return ((int(tweet_id) >> 22) + TWITTER_EPOCH_MS) / 1000

    def create_tweet(self, user: User, body: Any) -> tuple[int, dict[str, Any]]:
        refused = _tweet_body_refusal(body)
        if refused is not None:
            return 400, refused
        text = body["text"]
        media = (body.get("media") or {}).get("media_ids") or []
        if not text and not media:
            return 400, _invalid("text", "Tweet text or media is required.")
        if len(text) > MAX_TEXT:
            return 400, _invalid("text", f"Tweet text is longer than {MAX_TEXT} characters.")
        setting = body.get("reply_settings")
        with self._lock:
            attached = self._attachable(user, media)
            if attached is None:
                return 400, _invalid("media.media_ids", "Your media IDs are invalid.", [str(item) for item in media])
            parent = (body.get("reply") or {}).get("in_reply_to_tweet_id")
            if parent is not None and not any(tweet["id"] == parent for tweet in self.tweets):
                return 403, _problem(
                    403, "Forbidden", "You attempted to reply to a Tweet that is deleted or not visible to you."
                )
            if text and any(t["author_id"] == user.id and t["text"] == text for t in self.tweets):
                return 403, _problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
            tweet = {
                "id": self._snowflake(),
                "text": text or "",
                "author_id": user.id,
                "in_reply_to_tweet_id": parent,
                "reply_settings": setting,
                "media_ids": list(media),
                "media": [item.snapshot() for item in attached],
            }
            self.tweets.append(tweet)
        return 201, {"data": {"id": tweet["id"], "text": tweet["text"]}}

    def _attachable(self, user: User, ids: Any) -> list[Media] | None:
        """The media a post may carry, or None when X would refuse the ids."""
        if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
            return None
        found = [self.media.get(item) for item in ids]
        if any(
            item is None or item.owner != user.id or not item.usable or item.expires_at <= self.now() for item in found
        ):
            return None
        photos = sum(item.kind == "photo" for item in found)
        if (photos != len(found) and len(found) > 1) or photos > MAX_PHOTOS:
            return None  # 4 photos at most, or one GIF or one video alone
        return found

    # --- media upload ---------------------------------------------------------------------------------
    def initialize_upload(self, user: User, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict):
            return 400, _invalid("body", "The request body is not a JSON object.")
        media_type, total, category = body.get("media_type"), body.get("total_bytes"), body.get("media_category")
        if media_type not in MEDIA_TYPES:
            return 400, _invalid("media_type", f"{media_type} is not a supported media type.")
        if category not in CATEGORIES:
            return 400, _invalid("media_category", f"{category} is not a supported media category here.")
        if not CATEGORIES[category](media_type):
            return 400, _invalid("media_category", f"{media_type} cannot be uploaded as {category}.")
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            return 400, _invalid("total_bytes", "total_bytes must be a non-negative integer.")
        if total > CATEGORY_BYTES[category]:
            return 400, _invalid("total_bytes", f"File size exceeds {CATEGORY_BYTES[category]} bytes.")
        with self._lock:
            media = Media(
                id=self._snowflake(),
                owner=user.id,
                media_type=media_type,
                category=category,
                total_bytes=total,
                expires_at=self.now() + MEDIA_SECONDS,
            )
            self.media[media.id] = media
        return 200, {"data": {"id": media.id, "media_key": media.media_key, "expires_after_secs": MEDIA_SECONDS}}

    def append_upload(self, user: User, media_id: str, fields: dict[str, bytes] | None) -> tuple[int, dict[str, Any]]:
        if fields is None:
            return 400, _invalid("media", "Append takes a multipart/form-data body.")
        index, chunk = fields.get("segment_index", b"").decode(errors="replace"), fields.get("media")
        if not index.isdigit() or not 0 <= int(index) < MAX_SEGMENTS:
            return 400, _invalid("segment_index", f"segment_index must be between 0 and {MAX_SEGMENTS - 1}.")
        if chunk is None:
            return 400, _invalid("media", "The media field is required.")
        if len(chunk) > MAX_SEGMENT_BYTES:
            return 400, _invalid("media", f"A segment must be at most {MAX_SEGMENT_BYTES} bytes.")
        with self._lock:
            media = self._own_media(user, media_id)
            if media is None or media.finalized:
                return 400, _invalid("id", f"Media {media_id} is not an upload in progress.")
            media.segments[int(index)] = chunk  # a segment sent again replaces the first
            return 200, {"data": {"expires_at": int(media.expires_at)}}

    def finalize_upload(self, user: User, media_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            media = self._own_media(user, media_id)
            if media is None or media.finalized:
                return 400, _invalid("id", f"Media {media_id} is not an upload in progress.")
            if sorted(media.segments) != list(range(len(media.segments))) or not media.segments:
                return 400, _invalid("segment_index", "Segments are missing from this upload.")
            if len(media.data) != media.total_bytes:
                return 400, _invalid("total_bytes", "Segments do not add up to provided total file size.")
            media.finalized = True
            if media.category != "tweet_image":  # GIFs and videos are processed asynchronously
                plan = self._faults.processing.pop(0) if self._faults.processing else (1, False, 1)
                media.polls_left, media.fails, media.check_after_secs = plan
                media.state = "pending" if media.polls_left else ("failed" if media.fails else "succeeded")
            return 200, {"data": self._status_data(media)}

    def upload_status(self, user: User, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if query.get("command", "STATUS") != "STATUS":
            return 400, _invalid("command", "command must be STATUS.")
        with self._lock:
            media = self._own_media(user, query.get("media_id", ""))
            if media is None or not media.finalized:
                return 400, _invalid("media_id", f"Media {query.get('media_id')} has not been finalized.")
            media.status_checks += 1
            if media.state in ("pending", "in_progress"):
                media.polls_left -= 1
                if media.polls_left > 0:
                    media.state = "in_progress"
                else:
                    media.state = "failed" if media.fails else "succeeded"
            return 200, {"data": self._status_data(media)}

    def set_metadata(self, user: User, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            return 400, _invalid("id", "The media id is required.")
        alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
        if not isinstance(alt, str):
            return 400, _invalid("metadata.alt_text.text", "The alt text is required.")
        if len(alt) > MAX_ALT_TEXT:
            return 400, _invalid("metadata.alt_text.text", f"The alt text is longer than {MAX_ALT_TEXT} characters.")
        with self._lock:
            media = self._own_media(user, body["id"])
            if media is None:
                return 400, _invalid("id", f"Media {body['id']} is not found.")
            media.alt_text = alt
        return 200, {"data": {"id": media.id, "associated_metadata": {"alt_text": {"text": alt}}}}

    def _own_media(self, user: User, media_id: str) -> Media | None:
        media = self.media.get(media_id)
        if media is None or media.owner != user.id or media.expires_at <= self.now():
            return None
        return media

    def _status_data(self, media: Media) -> dict[str, Any]:
        data = {
            "id": media.id,
            "media_key": media.media_key,
            "size": media.total_bytes,
            "expires_after_secs": max(0, int(media.expires_at - self.now())),
        }
        info = media.processing_info()
        if info is not None:
            data["processing_info"] = info
        return data

    def _snowflake(self, at: float | None = None) -> str:
        moment = self.now() if at is None else at
        return str(((int(moment * 1000) - TWITTER_EPOCH_MS) << 22) | secrets.randbits(22))

    def hold_answer(self, endpoint: str) -> None:
        with self._lock:
            seconds = _take(self._faults.hangs, endpoint) or 0
        if seconds:
            self._stopping.wait(seconds)


def _take(queue: list[tuple[Any, str | None]], endpoint: str) -> Any:
    """Removes and returns the first queued fault meant for ``endpoint`` (or for any), else None."""
    for position, (value, on) in enumerate(queue):
        if on is None or on == endpoint:
            del queue[position]
            return value
    return None


# POST /2/tweets, as X's OpenAPI document describes its body (xdevplatform/xdk specs/openapi.json,
# components.schemas.CreatePostsRequest and the CreatePostsMedia and CreatePostsReply it refers to):
# each object has "additionalProperties": false, so a field it does not list is refused. Media ids and
# the id replied to match ^[0-9]{1,19}$, and media.media_ids holds 1 to 4 of them. ``text`` defaults to
# "" and the document says why: "the backend's `tweet_text` variable is non-null and rejects an absent
# value", so a body without it is refused even when it carries media.
TWEET_FIELDS = frozenset(
    {
        "card_uri",
        "community_id",
        "direct_message_deep_link",
        "edit_options",
        "for_super_followers_only",
        "geo",
        "made_with_ai",
        "media",
        "nullcast",
        "paid_partnership",
        "poll",
        "quote_tweet_id",
        "reply",
        "reply_settings",
        "share_with_followers",
        "text",
    }
)
TWEET_MEDIA_FIELDS = frozenset(
    {"call_to_actions", "description", "embeddable", "media_ids", "preview_media_id", "tagged_user_ids", "title"}
)
TWEET_REPLY_FIELDS = frozenset({"auto_populate_reply_metadata", "exclude_reply_user_ids", "in_reply_to_tweet_id"})
X_ID = re.compile(r"^[0-9]{1,19}$")


def _tweet_body_refusal(body: Any) -> dict[str, Any] | None:
    """X's 400 for a body CreatePostsRequest does not allow, or None when the schema admits it."""
    if not isinstance(body, dict):
        return _invalid("body", "The request body is not a JSON object.")
    for name, value, allowed in (
        ("", body, TWEET_FIELDS),
        ("media.", body.get("media"), TWEET_MEDIA_FIELDS),
        ("reply.", body.get("reply"), TWEET_REPLY_FIELDS),
    ):
        if value is None and name:
            continue
        if not isinstance(value, dict):
            return _invalid(name.rstrip("."), f"{name.rstrip('.')} must be an object.")
        extra = sorted(set(value) - allowed)
        if extra:
            return _invalid(name + extra[0], f"[{name + extra[0]}] is not a valid field of this request.")
    if not isinstance(body.get("text"), str):
        return _invalid("text", "text is required (an empty string for a post of media alone).")
    if "media" in body:
        ids = body["media"].get("media_ids")
        if (
            not isinstance(ids, list)
            or not 1 <= len(ids) <= MAX_PHOTOS
            or not all(isinstance(item, str) and X_ID.match(item) for item in ids)
        ):
            return _invalid("media.media_ids", f"media.media_ids must hold 1 to {MAX_PHOTOS} ids of digits.")
    if "reply" in body:
        parent = body["reply"].get("in_reply_to_tweet_id")
        if not isinstance(parent, str) or not X_ID.match(parent):
            return _invalid("reply.in_reply_to_tweet_id", "reply.in_reply_to_tweet_id must be an id of digits.")
    setting = body.get("reply_settings")
    if setting is not None and setting not in REPLY_SETTINGS:
        return _invalid("reply_settings", f"{setting} is not one of {sorted(REPLY_SETTINGS)}")
    return None


def _problem(status: int, title: str, detail: str | None = None) -> dict[str, Any]:
    return {"title": title, "type": "about:blank", "status": status, "detail": detail or title}


def _invalid(parameter: str, message: str, values: list[str] | None = None) -> dict[str, Any]:
    return {
        "errors": [{"parameters": {parameter: values or []}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


def _handler_for(server: XApiServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet: pytest output is for the tests
            pass

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a read timeout): nothing to tell it

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            server.requests.append(("POST", path))
            raw = self._body()
            upload = re.fullmatch(r"/2/media/upload/([0-9]{1,19})/(append|finalize)", path)
            if path == "/2/oauth2/token":
                form = {key: values[0] for key, values in parse_qs(raw.decode()).items()}
                self._send(*server.token(form, _basic(self.headers.get("Authorization"))))
            elif path == "/2/tweets":
                server.bodies.append(_json(raw))
                self._bearer_call("tweets", lambda user: server.create_tweet(user, _json(raw)))
            elif path == "/2/media/upload/initialize":
                self._bearer_call(
                    "media/upload/initialize",
                    lambda user: server.initialize_upload(user, _json(raw)),
                    scope=MEDIA_SCOPE,
                )
            elif upload and upload.group(2) == "append":
                fields = _multipart(self.headers.get("Content-Type"), raw)
                self._bearer_call(
                    "media/upload/append",
                    lambda user: server.append_upload(user, upload.group(1), fields),
                    scope=MEDIA_SCOPE,
                )
            elif upload:
                self._bearer_call(
                    "media/upload/finalize",
                    lambda user: server.finalize_upload(user, upload.group(1)),
                    scope=MEDIA_SCOPE,
                )
            elif path == "/2/media/metadata":
                self._bearer_call(
                    "media/metadata", lambda user: server.set_metadata(user, _json(raw)), scope=MEDIA_SCOPE
                )
            else:
                self._send(404, _problem(404, "Not Found"))

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            server.requests.append(("GET", path))
            if path == "/2/users/me":
                self._bearer_call(
                    "users/me",
                    lambda user: (200, {"data": {"id": user.id, "name": user.name, "username": user.username}}),
                )
            elif path == "/2/tweets":
                query = {key: values[0] for key, values in parse_qs(parts.query).items()}
                self._bearer_call("tweets/lookup", lambda user: server.lookup(user, query))
            elif path == "/2/media/upload":
                query = {key: values[0] for key, values in parse_qs(parts.query).items()}
                self._bearer_call(
                    "media/upload/status", lambda user: server.upload_status(user, query), scope=MEDIA_SCOPE
                )
            else:
                self._send(404, _problem(404, "Not Found"))

        def _bearer_call(self, endpoint: str, act, scope: str | None = None) -> None:
            user = server.bearer(self.headers.get("Authorization"))
            if user is None:
                self._send(401, _problem(401, "Unauthorized"))
                return
            if scope is not None and scope not in server.granted(self.headers["Authorization"]):
                self._send(403, _problem(403, "Forbidden", "You are not permitted to perform this action."))
                return
            fault = server.injected(endpoint)
            if fault is not None:
                self._send(*fault)
                return
            over, headers = server.rate_headers(user, endpoint, count=True)
            if over:
                self._send(429, _problem(429, "Too Many Requests"), headers)
                return
            if endpoint == "tweets":
                over, daily = server.daily_headers(user, count=True)
                headers.update(daily)
                if over:
                    self._send(429, _problem(429, "Too Many Requests"), headers)
                    return
            status, payload = act(user)
            if status < 300:
                server.hold_answer(endpoint)
            self._send(status, payload, headers)

    return Handler


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return None


def _multipart(content_type: str | None, raw: bytes) -> dict[str, bytes] | None:
    """The fields of a multipart/form-data body, byte for byte; None when it is not one."""
    boundary = re.match(r'multipart/form-data;.*boundary="?([^";]+)"?', content_type or "", re.IGNORECASE)
    if boundary is None:
        return None
    fields: dict[str, bytes] = {}
    for section in raw.split(b"--" + boundary.group(1).encode())[1:]:
        if section.startswith(b"--"):  # the closing delimiter
            return fields
        head, separator, body = section.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        if not separator or name is None or not body.endswith(b"\r\n"):
            return None
        fields[name.group(1).decode()] = body[:-2]
    return None  # no closing delimiter: a truncated body


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[len("Basic ") :]).decode().partition(":")
    except ValueError:
        return None
    return user, password

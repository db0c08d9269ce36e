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
  ``media.media_ids``; 201 ``{"data": {"id", "text"}}``. Refuses, as X does: a reply to a post
  that does not exist (403), duplicate text from the same account (403), an unknown reply setting or
  an empty post (400), more than 280 characters (400; counted plainly here, weighted counting is
  openpost's own business).

Bearer endpoints answer 401 with X's problem body for a missing, unknown or expired token, and carry
``x-rate-limit-limit``/``-remaining``/``-reset`` (epoch seconds) on every answer; over the limit,
429 with the same headers and no Retry-After.

Hooks for tests: ``authorize()`` does what the user's browser does on X's consent screen;
``fail_next()``, ``rate_limit_next()`` and ``hang_after_accept_next()`` inject faults;
``advance()`` moves the server's clock (tokens expire); ``tweets`` is what was posted.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlencode, urlsplit

ACCESS_TOKEN_SECONDS = 2 * 60 * 60
CODE_SECONDS = 30
MAX_TEXT = 280
REPLY_SETTINGS = frozenset({"following", "mentionedUsers", "subscribers", "verified"})
TWITTER_EPOCH_MS = 1288834974657


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
class _Faults:
    errors: List[int] = field(default_factory=list)     # statuses for the next calls, in order
    rate_limited: List[int] = field(default_factory=list)   # reset delays (s) for the next 429s
    hangs: List[float] = field(default_factory=list)     # seconds to hold the answer after accepting


class XApiServer:
    def __init__(self, client_id: str = "openpost-client", client_secret: Optional[str] = "openpost-secret",
                 tweet_limit: int = 100, window_seconds: int = 15 * 60):
        self.client_id = client_id
        self.client_secret = client_secret
        self.tweet_limit = tweet_limit
        self.window_seconds = window_seconds
        self.users: Dict[str, User] = {}
        self.tweets: List[Dict[str, Any]] = []
        self.requests: List[Tuple[str, str]] = []    # (method, path) of every call, in order
        self.issued: List[str] = []                  # every token handed out, to look for leaks
        self._codes: Dict[str, _Grant] = {}
        self._access: Dict[str, Tuple[str, float]] = {}    # token -> (user id, expires at)
        self._refresh: Dict[str, str] = {}                 # token -> user id; removed once used
        self._windows: Dict[Tuple[str, str], Tuple[float, int]] = {}   # (user, endpoint) -> (reset, used)
        self._faults = _Faults()
        self._offset = 0.0
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._httpd: Optional[ThreadingHTTPServer] = None

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "XApiServer":
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, name="x-api", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()          # releases any answer held by hang_after_accept_next
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> "XApiServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

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

    def authorize(self, authorize_url: str, user_id: Optional[str] = None) -> str:
        """The user approves on X's consent screen: returns where X sends the browser back to
        (the redirect_uri with ``state`` and ``code``). Refuses a malformed request as X does."""
        query = {key: values[0] for key, values in parse_qs(urlsplit(authorize_url).query).items()}
        problems = [name for name in ("response_type", "client_id", "redirect_uri", "scope", "state",
                                      "code_challenge") if not query.get(name)]
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
            self._codes[code] = _Grant(user.id, query["client_id"], query["redirect_uri"], query["code_challenge"],
                                       method, query["scope"], self.now() + CODE_SECONDS)
        return f"{query['redirect_uri']}?{urlencode({'state': query['state'], 'code': code})}"

    # --- fault injection --------------------------------------------------------------------------
    def fail_next(self, times: int = 1, status: int = 503) -> None:
        """The next ``times`` bearer calls answer ``status`` (X's problem body) and change nothing."""
        with self._lock:
            self._faults.errors.extend([status] * times)

    def rate_limit_next(self, reset_in: int = 30) -> None:
        """The next bearer call answers 429, with x-rate-limit-reset ``reset_in`` seconds ahead."""
        with self._lock:
            self._faults.rate_limited.append(reset_in)

    def hang_after_accept_next(self, seconds: float = 5.0) -> None:
        """The next POST /2/tweets is accepted (the post exists), then the answer is held back for
        ``seconds``: the client's read timeout fires after the platform acted."""
        with self._lock:
            self._faults.hangs.append(seconds)

    def expire_access_tokens(self) -> None:
        with self._lock:
            self._access = {token: (user, 0.0) for token, (user, _) in self._access.items()}

    def revoke_refresh_tokens(self) -> None:
        """As when the user revokes openpost's access in X's settings."""
        with self._lock:
            self._refresh.clear()
            self._access.clear()

    def issue_tokens(self, user_id: str) -> Dict[str, Any]:
        """Tokens for a user without the browser dance (a test's starting point)."""
        with self._lock:
            return self._issue(user_id, "tweet.read tweet.write users.read offline.access")

    # --- tokens ------------------------------------------------------------------------------------
    def _issue(self, user_id: str, scope: str) -> Dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.issued += [access, refresh]
        self._access[access] = (user_id, self.now() + ACCESS_TOKEN_SECONDS)
        answer = {"token_type": "bearer", "expires_in": ACCESS_TOKEN_SECONDS, "access_token": access, "scope": scope}
        if "offline.access" in scope.split():
            self._refresh[refresh] = user_id
            answer["refresh_token"] = refresh
        return answer

    def token(self, form: Dict[str, str], basic: Optional[Tuple[str, str]]) -> Tuple[int, Dict[str, Any]]:
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
                user_id = self._refresh.pop(form.get("refresh_token", ""), None)   # once only: rotation
                if user_id is None:
                    return 400, {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}
                return 200, self._issue(user_id, "tweet.read tweet.write users.read offline.access")
        return 400, {"error": "unsupported_grant_type", "error_description": f"Grant type {grant} is not supported."}

    def _exchange(self, form: Dict[str, str], client_id: str) -> Tuple[int, Dict[str, Any]]:
        invalid = (400, {"error": "invalid_request",
                         "error_description": "Value passed for the authorization code was invalid."})
        grant = self._codes.pop(form.get("code", ""), None)   # a code is good for one exchange
        if grant is None or grant.expires_at < self.now() or grant.client_id != client_id:
            return invalid
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_request", "error_description": "Value passed for the redirect uri was invalid."}
        verifier = form.get("code_verifier", "")
        expected = s256(verifier) if grant.method == "S256" else verifier
        if not verifier or not secrets.compare_digest(expected, grant.challenge):
            return 400, {"error": "invalid_request", "error_description": "Value passed for the code verifier was invalid."}
        return 200, self._issue(grant.user_id, grant.scope)

    # --- bearer endpoints -------------------------------------------------------------------------
    def bearer(self, header: Optional[str]) -> Optional[User]:
        if not header or not header.startswith("Bearer "):
            return None
        with self._lock:
            found = self._access.get(header[len("Bearer "):])
            if found is None or found[1] <= self.now():
                return None
            return self.users.get(found[0])

    def rate_headers(self, user: User, endpoint: str, count: bool) -> Tuple[bool, Dict[str, str]]:
        """Counts a call against the user's 15-minute window; (over the limit?, headers)."""
        with self._lock:
            now = self.now()
            reset, used = self._windows.get((user.id, endpoint), (now + self.window_seconds, 0))
            if reset <= now:
                reset, used = now + self.window_seconds, 0
            over = used >= self.tweet_limit
            if count and not over:
                used += 1
            self._windows[(user.id, endpoint)] = (reset, used)
            return over, {"x-rate-limit-limit": str(self.tweet_limit),
                          "x-rate-limit-remaining": str(max(0, self.tweet_limit - used)),
                          "x-rate-limit-reset": str(int(reset))}

    def injected(self) -> Optional[Tuple[int, Dict[str, Any], Dict[str, str]]]:
        """The fault due on this call, if any."""
        with self._lock:
            if self._faults.rate_limited:
                reset = int(self.now()) + self._faults.rate_limited.pop(0)
                return 429, _problem(429, "Too Many Requests"), {
                    "x-rate-limit-limit": str(self.tweet_limit), "x-rate-limit-remaining": "0",
                    "x-rate-limit-reset": str(reset)}
            if self._faults.errors:
                status = self._faults.errors.pop(0)
                return status, _problem(status, "Service Unavailable" if status == 503 else "Internal Error"), {}
        return None

    def create_tweet(self, user: User, body: Any) -> Tuple[int, Dict[str, Any]]:
        if not isinstance(body, dict):
            return 400, _invalid("body", "The request body is not a JSON object.")
        text = body.get("text")
        media = (body.get("media") or {}).get("media_ids") or []
        if not text and not media:
            return 400, _invalid("text", "Tweet text or media is required.")
        if text is not None and len(text) > MAX_TEXT:
            return 400, _invalid("text", f"Tweet text is longer than {MAX_TEXT} characters.")
        setting = body.get("reply_settings")
        if setting is not None and setting not in REPLY_SETTINGS:
            return 400, _invalid("reply_settings", f"{setting} is not one of {sorted(REPLY_SETTINGS)}")
        with self._lock:
            parent = (body.get("reply") or {}).get("in_reply_to_tweet_id")
            if parent is not None and not any(tweet["id"] == parent for tweet in self.tweets):
                return 403, _problem(403, "Forbidden",
                                     "You attempted to reply to a Tweet that is deleted or not visible to you.")
            if text and any(t["author_id"] == user.id and t["text"] == text for t in self.tweets):
                return 403, _problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
            tweet = {"id": str(((int(self.now() * 1000) - TWITTER_EPOCH_MS) << 22) | secrets.randbits(22)),
                     "text": text or "", "author_id": user.id, "in_reply_to_tweet_id": parent,
                     "reply_settings": setting, "media_ids": list(media)}
            self.tweets.append(tweet)
        return 201, {"data": {"id": tweet["id"], "text": tweet["text"]}}

    def hold_answer(self) -> None:
        with self._lock:
            seconds = self._faults.hangs.pop(0) if self._faults.hangs else 0
        if seconds:
            self._stopping.wait(seconds)


def _problem(status: int, title: str, detail: Optional[str] = None) -> Dict[str, Any]:
    return {"title": title, "type": "about:blank", "status": status, "detail": detail or title}


def _invalid(parameter: str, message: str) -> Dict[str, Any]:
    return {"errors": [{"parameters": {parameter: []}, "message": message}], "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request"}


def _handler_for(server: XApiServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:   # quiet: pytest output is for the tests
            pass

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _send(self, status: int, payload: Dict[str, Any], headers: Optional[Dict[str, str]] = None) -> None:
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
                pass   # the client gave up waiting (a read timeout): nothing to tell it

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            server.requests.append(("POST", path))
            raw = self._body()
            if path == "/2/oauth2/token":
                form = {key: values[0] for key, values in parse_qs(raw.decode()).items()}
                self._send(*server.token(form, _basic(self.headers.get("Authorization"))))
            elif path == "/2/tweets":
                self._bearer_call("tweets", lambda user: server.create_tweet(user, _json(raw)), hold=True)
            else:
                self._send(404, _problem(404, "Not Found"))

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            server.requests.append(("GET", path))
            if path == "/2/users/me":
                self._bearer_call("users/me", lambda user: (200, {"data": {"id": user.id, "name": user.name,
                                                                              "username": user.username}}))
            else:
                self._send(404, _problem(404, "Not Found"))

        def _bearer_call(self, endpoint: str, act, hold: bool = False) -> None:
            user = server.bearer(self.headers.get("Authorization"))
            if user is None:
                self._send(401, _problem(401, "Unauthorized"))
                return
            fault = server.injected()
            if fault is not None:
                self._send(*fault)
                return
            over, headers = server.rate_headers(user, endpoint, count=True)
            if over:
                self._send(429, _problem(429, "Too Many Requests"), headers)
                return
            status, payload = act(user)
            if hold and status == 201:
                server.hold_answer()
            self._send(status, payload, headers)

    return Handler


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return None


def _basic(header: Optional[str]) -> Optional[Tuple[str, str]]:
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[len("Basic "):]).decode().partition(":")
    except ValueError:
        return None
    return user, password

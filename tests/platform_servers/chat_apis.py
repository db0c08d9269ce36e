"""Local servers that answer as Discord's webhooks, Slack's Web API and Telegram's Bot API do.

Each one runs on a free loopback port in a thread, keeps what was posted, and shows it back the way a
person in the channel would see it (in order, with its thread or reply structure). Only the calls
our adapters and connect routes make are served, with the answers and error bodies the platforms
document, including each platform's own way of saying "wait": Discord's ``retry_after`` (seconds,
a float) in the body and ``Retry-After``; Slack's HTTP 429 ``ratelimited`` with ``Retry-After``;
Telegram's ``parameters.retry_after``.

Faults are scripted with ``fail_next(kind, times)`` and apply to the calls that post a message:
"5xx", "429" (with ``retry_after``), "401" (the credentials stop working), and "slow" (the message
is stored, then the answer is held for ``delay`` seconds, so a client that gives up never learns it
was posted).
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

Answer = Tuple[int, Dict[str, str], Any]


@dataclass
class Fault:
    kind: str                       # "5xx", "429", "401", "slow"
    times: int = 1
    retry_after: float = 1.0
    delay: float = 1.0


@dataclass
class _Calls:
    """What the server was asked, for tests that check a call was (or was not) made."""

    items: List[Tuple[str, str]] = field(default_factory=list)

    def count(self, name: str) -> int:
        return sum(1 for _, called in self.items if called == name)


class ChatServer:
    """The shared machinery: a threaded HTTP server, a lock around the state, a fault script."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.faults: List[Fault] = []
        self.calls = _Calls()
        self._ids = itertools.count(1)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
                status, headers, body = server.handle(method, parts.path, query, _parse_body(self.headers, raw),
                                                      {key.lower(): value for key, value in self.headers.items()})
                payload = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):  # noqa: N802 - http.server's naming
                self._serve("GET")

            def do_POST(self):  # noqa: N802
                self._serve("POST")

            def log_message(self, *args):   # quiet: tests read the state, not the log
                pass

        self._http = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._http.shutdown()
        self._http.server_close()

    def fail_next(self, kind: str, times: int = 1, **options: Any) -> None:
        with self.lock:
            self.faults.append(Fault(kind, times, **options))

    def next_id(self) -> int:
        return next(self._ids)

    def _take_fault(self) -> Optional[Fault]:
        with self.lock:
            if not self.faults:
                return None
            fault = self.faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self.faults.pop(0)
            return fault

    def posting(self, name: str, answer_fault, store) -> Answer:
        """A call that posts: apply the next fault, else store the message and answer with it."""
        self.calls.items.append(("POST", name))
        fault = self._take_fault()
        if fault is not None and fault.kind != "slow":
            return answer_fault(fault)
        with self.lock:
            answer = store()
        if fault is not None:            # stored; the answer comes too late for the client
            time.sleep(fault.delay)
        return answer

    def handle(self, method: str, path: str, query: Dict[str, str], body: Dict[str, Any],
               headers: Dict[str, str]) -> Answer:
        raise NotImplementedError


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client that gave up before the answer (the "slow" fault) is the point, not an error.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _parse_body(headers, raw: bytes) -> Dict[str, Any]:
    if not raw:
        return {}
    if (headers.get("Content-Type") or "").startswith("application/json"):
        return json.loads(raw)
    return {key: values[-1] for key, values in parse_qs(raw.decode()).items()}


# --- Discord --------------------------------------------------------------------------------------
DISCORD_EPOCH_MS = 1420070400000


class DiscordServer(ChatServer):
    """One guild with one webhook on a channel; ``forum=True`` makes that channel a forum, where every
    message opens or joins a thread."""

    GUILD_ID = "1100000000000000001"
    CHANNEL_ID = "1100000000000000002"
    WEBHOOK_ID = "1100000000000000003"
    TOKEN = "webhook-token-5b1f"

    def __init__(self, forum: bool = False) -> None:
        super().__init__()
        self.forum = forum
        self.token = self.TOKEN
        self.messages: List[Dict[str, Any]] = []       # every message, in the order stored
        self.threads: Dict[str, str] = {}               # thread id -> name

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/api/webhooks/{self.WEBHOOK_ID}/{self.TOKEN}"

    def _snowflake(self) -> str:
        return str(((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | self.next_id())

    def handle(self, method, path, query, body, headers):
        parts = path.strip("/").split("/")
        if parts[:2] != ["api", "webhooks"] or len(parts) != 4:
            return 404, {}, {"message": "404: Not Found", "code": 0}
        if parts[2] != self.WEBHOOK_ID:
            return 404, {}, {"message": "Unknown Webhook", "code": 10015}
        if parts[3] != self.token:
            return 401, {}, {"message": "Invalid Webhook Token", "code": 50027}
        if method == "GET":
            self.calls.items.append(("GET", "webhook"))
            return 200, {}, {"id": self.WEBHOOK_ID, "type": 1, "name": "openpost news", "avatar": None,
                             "channel_id": self.CHANNEL_ID, "guild_id": self.GUILD_ID, "token": self.token,
                             "application_id": None}
        return self.posting("execute", self._fault_answer, lambda: self._execute(query, body))

    def _fault_answer(self, fault: Fault) -> Answer:
        if fault.kind == "429":
            return 429, {"Retry-After": str(int(-(-fault.retry_after // 1))),
                         "X-RateLimit-Reset-After": str(fault.retry_after), "X-RateLimit-Scope": "user"}, \
                {"message": "You are being rate limited.", "retry_after": fault.retry_after, "global": False}
        if fault.kind == "401":
            self.token = "revoked"
            return 401, {}, {"message": "Invalid Webhook Token", "code": 50027}
        return 503, {}, {"message": "Service Unavailable", "code": 0}

    def _execute(self, query, body) -> Answer:
        content = body.get("content") or ""
        if not content:
            return 400, {}, {"message": "Cannot send an empty message", "code": 50006}
        thread_id, thread_name = query.get("thread_id"), body.get("thread_name")
        message_id = self._snowflake()
        if thread_id:
            if thread_id not in self.threads:
                return 400, {}, {"message": "Unknown Channel", "code": 10003}
            channel_id = thread_id
        elif thread_name:
            if not self.forum:
                return 400, {}, {"message": "Webhooks can only create threads in forum channels", "code": 220003}
            channel_id = message_id                    # a forum post's thread takes its first message's id
            self.threads[channel_id] = thread_name
        elif self.forum:
            return 400, {}, {"message": "Webhooks posted to forum channels must have a thread_name or thread_id",
                             "code": 220001}
        else:
            channel_id = self.CHANNEL_ID
        message = {"id": message_id, "type": 0, "content": content, "channel_id": channel_id,
                   "webhook_id": self.WEBHOOK_ID, "author": {"id": self.WEBHOOK_ID, "username": "openpost news",
                                                             "bot": True},
                   "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}
        self.messages.append(message)
        return (200, {}, message) if query.get("wait") == "true" else (204, {}, None)

    # what a member of the server sees
    def channel(self) -> List[str]:
        """The channel's own messages, in order (in a forum: the posts, by title)."""
        if self.forum:
            return list(self.threads.values())
        return [m["content"] for m in self.messages if m["channel_id"] == self.CHANNEL_ID]

    def thread(self, thread_id: str) -> List[str]:
        return [m["content"] for m in self.messages if m["channel_id"] == thread_id]


# --- Slack ----------------------------------------------------------------------------------------
class SlackServer(ChatServer):
    """One workspace with one channel a bot may post to. The API lives under ``/api``."""

    TEAM_ID = "T0OPENPOST"
    TEAM_URL = "https://openpost-test.slack.com/"
    CHANNEL_ID = "C0NEWS0001"
    TOKEN = "xoxb-1-openpost-test"

    def __init__(self) -> None:
        super().__init__()
        self.token = self.TOKEN
        self.messages: List[Dict[str, Any]] = []
        self._clock = time.time()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    def handle(self, method, path, query, body, headers):
        name = path.removeprefix("/api/")
        params = {**query, **body}
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")
        if not token:
            return 200, {}, {"ok": False, "error": "not_authed"}
        if token != self.token:
            return 200, {}, {"ok": False, "error": "token_revoked" if token == self.TOKEN else "invalid_auth"}
        if name == "auth.test":
            self.calls.items.append(("POST", name))
            return 200, {}, {"ok": True, "url": self.TEAM_URL, "team": "openpost test", "user": "openpost",
                             "team_id": self.TEAM_ID, "user_id": "U0BOT00001", "bot_id": "B0BOT00001"}
        if name == "conversations.info":
            self.calls.items.append(("POST", name))
            if params.get("channel") != self.CHANNEL_ID:
                return 200, {}, {"ok": False, "error": "channel_not_found"}
            return 200, {}, {"ok": True, "channel": {"id": self.CHANNEL_ID, "name": "news", "is_channel": True,
                                                     "is_private": False, "is_member": True}}
        if name == "chat.getPermalink":
            ts = params.get("message_ts")
            found = next((m for m in self.messages if m["ts"] == ts), None)
            if found is None:
                return 200, {}, {"ok": False, "error": "message_not_found"}
            url = f"{self.TEAM_URL}archives/{self.CHANNEL_ID}/p{ts.replace('.', '')}"
            if found.get("thread_ts"):
                url += f"?thread_ts={found['thread_ts']}&cid={self.CHANNEL_ID}"
            return 200, {}, {"ok": True, "channel": self.CHANNEL_ID, "permalink": url}
        if name == "chat.postMessage":
            return self.posting(name, self._fault_answer, lambda: self._post(params))
        return 200, {}, {"ok": False, "error": "unknown_method"}

    def _fault_answer(self, fault: Fault) -> Answer:
        if fault.kind == "429":
            return 429, {"Retry-After": str(int(fault.retry_after))}, {"ok": False, "error": "ratelimited"}
        if fault.kind == "401":
            self.token = "revoked"
            return 200, {}, {"ok": False, "error": "token_revoked"}
        return 503, {}, {"ok": False, "error": "service_unavailable"}

    def _post(self, params) -> Answer:
        if params.get("channel") != self.CHANNEL_ID:
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if not params.get("text"):
            return 200, {}, {"ok": False, "error": "no_text"}
        thread_ts = params.get("thread_ts")
        if thread_ts and not any(m["ts"] == thread_ts for m in self.messages):
            return 200, {}, {"ok": False, "error": "thread_not_found"}
        self._clock = max(self._clock + 0.000001, time.time())
        ts = f"{self._clock:.6f}"
        message = {"type": "message", "text": params["text"], "ts": ts, "user": "U0BOT00001", "bot_id": "B0BOT00001"}
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages.append(message)
        return 200, {}, {"ok": True, "channel": self.CHANNEL_ID, "ts": ts, "message": message}

    # what a member of the channel sees: Slack shows &amp; &lt; &gt; as the characters they stand for
    @staticmethod
    def shown(text: str) -> str:
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def history(self) -> List[Dict[str, Any]]:
        """The channel's messages (thread replies are inside their thread, not in the channel)."""
        return [{"ts": m["ts"], "text": self.shown(m["text"]), "replies": self.replies(m["ts"])}
                for m in self.messages if not m.get("thread_ts")]

    def replies(self, thread_ts: str) -> List[str]:
        return [self.shown(m["text"]) for m in self.messages if m.get("thread_ts") == thread_ts]


# --- Telegram -------------------------------------------------------------------------------------
class TelegramServer(ChatServer):
    """One bot and one public channel it may post to. Methods live at ``/bot<token>/<method>``."""

    BOT_ID = 7000000001
    TOKEN = "7000000001:AAopenpost-test-token"
    CHAT_ID = -1001234567890
    CHAT_USERNAME = "openpost_news"

    def __init__(self) -> None:
        super().__init__()
        self.token = self.TOKEN
        self.messages: List[Dict[str, Any]] = []

    @property
    def api_url(self) -> str:
        return self.base_url

    def _chat(self) -> Dict[str, Any]:
        return {"id": self.CHAT_ID, "title": "openpost news", "username": self.CHAT_USERNAME, "type": "channel"}

    def handle(self, method, path, query, body, headers):
        prefix, _, name = path.strip("/").partition("/")
        params = {**query, **body}
        if not prefix.startswith("bot") or prefix[3:] != self.token:
            return 401, {}, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if name == "getMe":
            self.calls.items.append(("POST", name))
            return 200, {}, {"ok": True, "result": {"id": self.BOT_ID, "is_bot": True, "first_name": "openpost",
                                                    "username": "openpost_test_bot"}}
        if name == "getChat":
            self.calls.items.append(("POST", name))
            if not self._is_chat(params.get("chat_id")):
                return 400, {}, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
            return 200, {}, {"ok": True, "result": self._chat()}
        if name == "sendMessage":
            return self.posting(name, self._fault_answer, lambda: self._send(params))
        return 404, {}, {"ok": False, "error_code": 404, "description": "Not Found"}

    def _is_chat(self, chat_id: Any) -> bool:
        return str(chat_id) in (str(self.CHAT_ID), f"@{self.CHAT_USERNAME}")

    def _fault_answer(self, fault: Fault) -> Answer:
        if fault.kind == "429":
            seconds = int(fault.retry_after)
            return 429, {}, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {seconds}",
                             "parameters": {"retry_after": seconds}}
        if fault.kind == "401":
            self.token = "revoked"
            return 401, {}, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        return 502, {}, {"ok": False, "error_code": 502, "description": "Bad Gateway"}

    def _send(self, params) -> Answer:
        if not self._is_chat(params.get("chat_id")):
            return 400, {}, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
        if not params.get("text"):
            return 400, {}, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
        reply = params.get("reply_parameters") or {}
        if isinstance(reply, str):
            reply = json.loads(reply)
        reply_to = reply.get("message_id") or params.get("reply_to_message_id")
        parent = None
        if reply_to is not None:
            parent = next((m for m in self.messages if m["message_id"] == int(reply_to)), None)
            if parent is None and not reply.get("allow_sending_without_reply"):
                return 400, {}, {"ok": False, "error_code": 400,
                                 "description": "Bad Request: message to be replied not found"}
        message = {"message_id": self.next_id(), "date": int(time.time()), "chat": self._chat(),
                   "text": params["text"]}
        if parent is not None:
            message["reply_to_message"] = {k: parent[k] for k in ("message_id", "date", "chat", "text")}
        self.messages.append(message)
        return 200, {}, {"ok": True, "result": message}

    # what a subscriber of the channel sees
    def feed(self) -> List[Dict[str, Any]]:
        return [{"id": m["message_id"], "text": m["text"],
                 "reply_to": (m.get("reply_to_message") or {}).get("message_id")} for m in self.messages]

"""Local servers that answer as Discord's webhooks, Slack's Web API and Telegram's Bot API do.

Each one runs on a free loopback port in a thread, keeps what was posted, and shows it back the way a
person in the channel would see it (in order, with its thread or reply structure, and the files each
message carries with their bytes, names, types and alt text). Only the calls our adapters and connect
routes make are served, with the answers and error bodies the platforms document, including each
platform's own way of saying "wait": Discord's ``retry_after`` (seconds, a float) in the body and
``Retry-After``; Slack's HTTP 429 ``ratelimited`` with ``Retry-After``, or (``in_body=True``) an HTTP
200 whose body says ``{"ok": false, "error": "ratelimited"}`` or ``"rate_limited"``, as Slack's method
pages list both among a method's errors; Telegram's ``parameters.retry_after``.

Files arrive as the platforms take them: ``multipart/form-data`` (Discord's ``payload_json`` and
``files[n]``, Telegram's ``attach://`` parts) or a raw body (Slack's upload URL, which is a different
host at Slack and a path of the same server here). Where a platform's exact refusal for a malformed
upload is not documented, the server still refuses it, in the platform's error shape, so a client
that gets the request wrong fails here rather than in production.

Faults are scripted with ``fail_next(kind, times, on=None)`` and apply to the calls that post a
message or upload a file (``on`` names one of them, e.g. "upload" or "sendPhoto"; by default the next
such call; ``after=n`` lets n of them through first): "5xx", "429" (with ``retry_after``), "401" (the
credentials stop working), and "slow" (the call takes effect, then the answer is held for ``delay``
seconds, so a client that gives up never learns it worked).
"""

from __future__ import annotations

import email
import email.policy
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, str], Any]
MB = 1000 * 1000
MiB = 1024 * 1024


@dataclass
class Fault:
    kind: str  # "5xx", "429", "401", "slow"
    times: int = 1
    retry_after: float = 1.0
    delay: float = 1.0
    on: str | None = None  # the call it waits for; None: the next call that posts or uploads
    after: int = 0  # matching calls let through before it applies
    in_body: bool = False  # Slack: a 200 whose body names the limit, rather than a 429
    error: str = "ratelimited"  # Slack: the error name of a limit
    retry_header: bool = True  # Slack: whether a Retry-After header comes with it


@dataclass
class Upload:
    """A file as it arrived: one part of a multipart body, or a whole raw body."""

    filename: str | None
    content_type: str
    data: bytes


@dataclass
class SentFile:
    """A file as a person in the channel gets it, for assertions."""

    filename: str
    content_type: str
    data: bytes
    description: str | None = None  # the alt text, on platforms that keep one
    title: str | None = None


@dataclass
class _Calls:
    """What the server was asked, for tests that check a call was (or was not) made."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def count(self, name: str) -> int:
        return sum(1 for _, called in self.items if called == name)


class ChatServer:
    """The shared machinery: a threaded HTTP server, a lock around the state, a fault script."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
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
                status, headers, body = server.handle(
                    method,
                    parts.path,
                    query,
                    _parse_body(self.headers, raw),
                    {key.lower(): value for key, value in self.headers.items()},
                )
                if isinstance(body, str):  # a plain-text answer (Slack's upload host)
                    payload, content_type = body.encode(), "text/plain; charset=utf-8"
                else:
                    payload, content_type = b"" if body is None else json.dumps(body).encode(), "application/json"
                self.send_response(status)
                for key, value in {"Content-Type": content_type, **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):  # noqa: N802 - http.server's naming
                self._serve("GET")

            def do_POST(self):  # noqa: N802
                self._serve("POST")

            def log_message(self, *args):  # quiet: tests read the state, not the log
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

    def _take_fault(self, name: str) -> Fault | None:
        with self.lock:
            fault = next((f for f in self.faults if f.on in (None, name)), None)
            if fault is None:
                return None
            if fault.after > 0:
                fault.after -= 1
                return None
            fault.times -= 1
            if fault.times <= 0:
                self.faults.remove(fault)
            return fault

    def _take_read_fault(self, name: str) -> Fault | None:
        """The next fault scripted for this read by name (``on=name``); reads never take the faults
        meant for the next post or upload."""
        with self.lock:
            if not any(f.on == name for f in self.faults):
                return None
        return self._take_fault(name)

    def posting(self, name: str, answer_fault, store) -> Answer:
        """A call that posts or uploads: apply the next fault, else take effect and answer."""
        self.calls.items.append(("POST", name))
        fault = self._take_fault(name)
        if fault is not None and fault.kind != "slow":
            return answer_fault(fault)
        with self.lock:
            answer = store()
        if fault is not None:  # done; the answer comes too late for the client
            time.sleep(fault.delay)
        return answer

    def handle(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any], headers: dict[str, str]
    ) -> Answer:
        raise NotImplementedError


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client that gave up before the answer (the "slow" fault) is the point, not an error.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _parse_body(headers, raw: bytes) -> dict[str, Any]:
    """JSON, a form, or multipart fields (files as ``Upload``); any other body is one raw file,
    under the key ``""``."""
    if not raw:
        return {}
    content_type = headers.get("Content-Type") or ""
    if content_type.startswith("application/json"):
        return json.loads(raw)
    if content_type.startswith("multipart/form-data"):
        return _multipart(content_type, raw)
    if content_type and not content_type.startswith("application/x-www-form-urlencoded"):
        return {"": Upload(None, content_type.split(";")[0].strip(), raw)}
    return {key: values[-1] for key, values in parse_qs(raw.decode()).items()}


def _multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    # The standard library's MIME parser reads form-data as any multipart message: each part's name
    # and file name come from its Content-Disposition, its bytes untouched.
    message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw, policy=email.policy.HTTP)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            fields[name] = Upload(part.get_filename(), part.get_content_type(), data)
        else:
            fields[name] = data.decode()
    return fields


# --- Discord --------------------------------------------------------------------------------------
DISCORD_EPOCH_MS = 1420070400000


def _field_error(path: list[str], code: str, message: str) -> dict[str, Any]:
    """Discord's "Invalid Form Body" (50035), with the error nested under the field's path."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {key: errors}
    return {"message": "Invalid Form Body", "code": 50035, "errors": errors}


class DiscordServer(ChatServer):
    """One guild with one webhook on a channel; ``forum=True`` makes that channel a forum, where every
    message opens or joins a thread."""

    API_VERSION = 10
    GUILD_ID = "1100000000000000001"
    CHANNEL_ID = "1100000000000000002"
    WEBHOOK_ID = "1100000000000000003"
    TOKEN = "webhook-token-5b1f"
    MAX_FILES = 10
    DESCRIPTION_LIMIT = 1024

    def __init__(self, forum: bool = False, upload_limit: int = 10 * MiB) -> None:
        super().__init__()
        self.forum = forum
        self.token = self.TOKEN
        self.upload_limit = upload_limit  # per file, for a server without boosts
        self.messages: list[dict[str, Any]] = []  # every message, in the order stored
        self.threads: dict[str, str] = {}  # thread id -> name
        self.files: dict[str, SentFile] = {}  # attachment id -> the file

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/api/v{self.API_VERSION}/webhooks/{self.WEBHOOK_ID}/{self.TOKEN}"

    def webhook_url_at(self, version: str = "") -> str:
        """The webhook's URL on another path: ``""`` unversioned (as Discord's client copies it), or
        ``"v9"`` and the like."""
        prefix = f"/api/{version}" if version else "/api"
        return f"{self.base_url}{prefix}/webhooks/{self.WEBHOOK_ID}/{self.TOKEN}"

    def _snowflake(self) -> str:
        return str(((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | self.next_id())

    def handle(self, method, path, query, body, headers):
        parts = path.strip("/").split("/")
        if parts[:1] == ["api"] and parts[1:2] != [f"v{self.API_VERSION}"] and "webhooks" in parts[1:3]:
            # Discord's OpenAPI document (discord/discord-api-spec, specs/openapi.json) serves
            # https://discord.com/api/v10. Discord itself routes an unversioned path to its deprecated
            # default version, and older versions are deprecated or discontinued; this server answers
            # them with Discord's refusal for a version it does not take, so a client that forgets
            # to pin v10 fails here instead of riding a deprecated version in production.
            self.calls.items.append((method, "unversioned" if parts[1] == "webhooks" else parts[1]))
            return 400, {}, {"message": "Invalid API version provided", "code": 50041}
        if parts[:3] == ["api", f"v{self.API_VERSION}", "webhooks"] and len(parts) == 7 and parts[5] == "messages":
            return self._get_message(method, parts[3], parts[4], parts[6])
        if parts[:3] != ["api", f"v{self.API_VERSION}", "webhooks"] or len(parts) != 5:
            return 404, {}, {"message": "404: Not Found", "code": 0}
        parts = parts[:1] + parts[2:]
        if parts[2] != self.WEBHOOK_ID:
            return 404, {}, {"message": "Unknown Webhook", "code": 10015}
        if parts[3] != self.token:
            return 401, {}, {"message": "Invalid Webhook Token", "code": 50027}
        if method == "GET":
            self.calls.items.append(("GET", "webhook"))
            return (
                200,
                {},
                {
                    "id": self.WEBHOOK_ID,
                    "type": 1,
                    "name": "openpost news",
                    "avatar": None,
                    "channel_id": self.CHANNEL_ID,
                    "guild_id": self.GUILD_ID,
                    "token": self.token,
                    "application_id": None,
                },
            )
        return self.posting("execute", self._fault_answer, lambda: self._execute(query, body))

    def react(self, message_id: str, emoji: str, count: int) -> None:
        """People reacted to a message: ``count`` reactions of ``emoji``."""
        with self.lock:
            message = next(m for m in self.messages if m["id"] == message_id)
            reactions = [r for r in message.get("reactions", []) if r["emoji"]["name"] != emoji]
            reactions.append(
                {
                    "count": count,
                    "count_details": {"burst": 0, "normal": count},
                    "me": False,
                    "emoji": {"id": None, "name": emoji},
                }
            )
            message["reactions"] = reactions

    def _get_message(self, method: str, webhook_id: str, token: str, message_id: str) -> Answer:
        """GET /webhooks/{id}/{token}/messages/{message.id} (Discord's "Get Webhook Message"): a
        message the webhook sent, as a message object, with its ``reactions`` (count per emoji)."""
        if method != "GET":
            return 405, {}, {"message": "405: Method Not Allowed", "code": 0}
        if webhook_id != self.WEBHOOK_ID:
            return 404, {}, {"message": "Unknown Webhook", "code": 10015}
        if token != self.token:
            return 401, {}, {"message": "Invalid Webhook Token", "code": 50027}
        self.calls.items.append(("GET", "message"))
        fault = self._take_read_fault("message")
        if fault is not None:
            return self._fault_answer(fault)
        with self.lock:
            found = next((m for m in self.messages if m["id"] == message_id), None)
        if found is None:
            return 404, {}, {"message": "Unknown Message", "code": 10008}
        return 200, {}, found

    def _fault_answer(self, fault: Fault) -> Answer:
        if fault.kind == "429":
            return (
                429,
                {
                    "Retry-After": str(int(-(-fault.retry_after // 1))),
                    "X-RateLimit-Reset-After": str(fault.retry_after),
                    "X-RateLimit-Scope": "user",
                },
                {"message": "You are being rate limited.", "retry_after": fault.retry_after, "global": False},
            )
        if fault.kind == "401":
            self.token = "revoked"
            return 401, {}, {"message": "Invalid Webhook Token", "code": 50027}
        return 503, {}, {"message": "Service Unavailable", "code": 0}

    def _execute(self, query, body) -> Answer:
        # A multipart body carries the JSON params in payload_json and the files in files[n].
        files = {name: value for name, value in body.items() if isinstance(value, Upload)}
        if "payload_json" in body:
            try:
                body = json.loads(body["payload_json"])
            except ValueError:
                return 400, {}, {"message": "The request body contains invalid JSON.", "code": 50109}
        refused = self._check_files(files, body.get("attachments") or [])
        if refused is not None:
            return refused
        content = body.get("content") or ""
        if not content and not files:
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
            channel_id = message_id  # a forum post's thread takes its first message's id
            self.threads[channel_id] = thread_name
        elif self.forum:
            return (
                400,
                {},
                {"message": "Webhooks posted to forum channels must have a thread_name or thread_id", "code": 220001},
            )
        else:
            channel_id = self.CHANNEL_ID
        message = {
            "id": message_id,
            "type": 0,
            "content": content,
            "channel_id": channel_id,
            "webhook_id": self.WEBHOOK_ID,
            "author": {"id": self.WEBHOOK_ID, "username": "openpost news", "bot": True},
            "attachments": self._store_files(files, body.get("attachments") or [], channel_id),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        }
        self.messages.append(message)
        return (200, {}, message) if query.get("wait") == "true" else (204, {}, None)

    def _check_files(self, files: dict[str, Upload], attachments: list[dict[str, Any]]) -> Answer | None:
        if len(files) > self.MAX_FILES or len(attachments) > self.MAX_FILES:
            return (
                400,
                {},
                _field_error(["attachments"], "BASE_TYPE_MAX_LENGTH", f"Must be {self.MAX_FILES} or fewer in length."),
            )
        if any(len(upload.data) > self.upload_limit for upload in files.values()):
            return 413, {}, {"message": "Request entity too large", "code": 40005}
        for index, item in enumerate(attachments):
            # A new file's attachment id is the n of its files[n] part.
            if f"files[{item.get('id')}]" not in files:
                return (
                    400,
                    {},
                    _field_error(["attachments", str(index), "id"], "ATTACHMENT_NOT_FOUND", "Unknown attachment."),
                )
            if len(item.get("description") or "") > self.DESCRIPTION_LIMIT:
                return (
                    400,
                    {},
                    _field_error(
                        ["attachments", str(index), "description"],
                        "BASE_TYPE_MAX_LENGTH",
                        f"Must be {self.DESCRIPTION_LIMIT} or fewer in length.",
                    ),
                )
        return None

    def _store_files(
        self, files: dict[str, Upload], attachments: list[dict[str, Any]], channel_id: str
    ) -> list[dict[str, Any]]:
        described = {f"files[{item.get('id')}]": item for item in attachments}
        stored = []
        for name in sorted(files, key=lambda key: int(key[6:-1]) if key[6:-1].isdigit() else 0):
            upload, item = files[name], described.get(name, {})
            attachment_id, filename = self._snowflake(), item.get("filename") or upload.filename or "unknown"
            url = f"https://cdn.discordapp.com/attachments/{channel_id}/{attachment_id}/{filename}"
            shown = {
                "id": attachment_id,
                "filename": filename,
                "size": len(upload.data),
                "url": url,
                "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
                "content_type": upload.content_type,
            }
            if item.get("description"):
                shown["description"] = item["description"]
            stored.append(shown)
            self.files[attachment_id] = SentFile(filename, upload.content_type, upload.data, item.get("description"))
        return stored

    # what a member of the server sees
    def channel(self) -> list[str]:
        """The channel's own messages, in order (in a forum: the posts, by title)."""
        if self.forum:
            return list(self.threads.values())
        return [m["content"] for m in self.messages if m["channel_id"] == self.CHANNEL_ID]

    def thread(self, thread_id: str) -> list[str]:
        return [m["content"] for m in self.messages if m["channel_id"] == thread_id]

    def attachments(self, message: dict[str, Any]) -> list[SentFile]:
        """The files of a message, in the order shown."""
        return [self.files[item["id"]] for item in message["attachments"]]


# --- Slack ----------------------------------------------------------------------------------------
class SlackServer(ChatServer):
    """One workspace with one channel a bot may post to. The API lives under ``/api``; the upload
    URLs that ``files.getUploadURLExternal`` hands out live under ``/upload`` (files.slack.com at
    Slack), take the bytes without the token, and share nothing until ``files.completeUploadExternal``."""

    TEAM_ID = "T0OPENPOST"
    TEAM_URL = "https://openpost-test.slack.com/"
    CHANNEL_ID = "C0NEWS0001"
    TOKEN = "xoxb-1-openpost-test"
    ALT_TEXT_LIMIT = 1000

    def __init__(self) -> None:
        super().__init__()
        self.token = self.TOKEN
        self.bot_in_channel = True  # False: the app was never invited to the channel
        self.reactions_read = True  # False: the bot token was granted without reactions:read
        self.messages: list[dict[str, Any]] = []
        self.uploads: dict[str, dict[str, Any]] = {}  # file id -> the upload, shared or not
        self._upload_keys: dict[str, str] = {}  # the secret in an upload URL -> file id
        self._clock = time.time()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    def handle(self, method, path, query, body, headers):
        if path.startswith("/upload/v1/"):
            key = path.removeprefix("/upload/v1/")
            return self.posting("upload", self._upload_fault_answer, lambda: self._receive(key, body, headers))
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
            return (
                200,
                {},
                {
                    "ok": True,
                    "url": self.TEAM_URL,
                    "team": "openpost test",
                    "user": "openpost",
                    "team_id": self.TEAM_ID,
                    "user_id": "U0BOT00001",
                    "bot_id": "B0BOT00001",
                },
            )
        if name == "conversations.info":
            self.calls.items.append(("POST", name))
            if params.get("channel") != self.CHANNEL_ID:
                return 200, {}, {"ok": False, "error": "channel_not_found"}
            # conversations.info's is_member is the calling bot's membership of the channel.
            return (
                200,
                {},
                {
                    "ok": True,
                    "channel": {
                        "id": self.CHANNEL_ID,
                        "name": "news",
                        "is_channel": True,
                        "is_private": False,
                        "is_member": self.bot_in_channel,
                    },
                },
            )
        if name == "chat.getPermalink":
            ts = params.get("message_ts")
            found = next((m for m in self.messages if m["ts"] == ts), None)
            if found is None:
                return 200, {}, {"ok": False, "error": "message_not_found"}
            url = f"{self.TEAM_URL}archives/{self.CHANNEL_ID}/p{ts.replace('.', '')}"
            if found.get("thread_ts"):
                url += f"?thread_ts={found['thread_ts']}&cid={self.CHANNEL_ID}"
            return 200, {}, {"ok": True, "channel": self.CHANNEL_ID, "permalink": url}
        if name == "reactions.get":
            self.calls.items.append(("POST", name))
            if not self.reactions_read:
                return (
                    200,
                    {},
                    {"ok": False, "error": "missing_scope", "needed": "reactions:read", "provided": "chat:write"},
                )
            fault = self._take_read_fault(name)
            if fault is not None:
                return self._fault_answer(fault)
            return self._reactions(params)
        if name == "chat.postMessage":
            return self.posting(name, self._fault_answer, lambda: self._post(params))
        if name == "files.getUploadURLExternal":
            return self.posting(name, self._fault_answer, lambda: self._reserve(params))
        if name == "files.completeUploadExternal":
            return self.posting(name, self._fault_answer, lambda: self._complete(params))
        return 200, {}, {"ok": False, "error": "unknown_method"}

    def _fault_answer(self, fault: Fault) -> Answer:
        if fault.kind == "429":
            headers = {"Retry-After": str(int(fault.retry_after))} if fault.retry_header else {}
            # chat.postMessage's page lists "ratelimited" (see Retry-After) and "rate_limited" (the app
            # posted too many messages) among its errors, which Slack answers with HTTP 200 and ok: false.
            return (200 if fault.in_body else 429), headers, {"ok": False, "error": fault.error}
        if fault.kind == "401":
            self.token = "revoked"
            return 200, {}, {"ok": False, "error": "token_revoked"}
        return 503, {}, {"ok": False, "error": "service_unavailable"}

    @staticmethod
    def _upload_fault_answer(fault: Fault) -> Answer:
        # The upload host answers in plain text: only its status says how it went.
        if fault.kind == "429":
            return 429, {"Retry-After": str(int(fault.retry_after))}, "Too Many Requests"
        return 500, {}, "Internal Server Error"

    def _new_ts(self) -> str:
        self._clock = max(self._clock + 0.000001, time.time())
        return f"{self._clock:.6f}"

    def _post(self, params) -> Answer:
        if params.get("channel") != self.CHANNEL_ID:
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if not self.bot_in_channel:
            return 200, {}, {"ok": False, "error": "not_in_channel"}
        if not params.get("text"):
            return 200, {}, {"ok": False, "error": "no_text"}
        thread_ts = params.get("thread_ts")
        if thread_ts and not any(m["ts"] == thread_ts for m in self.messages):
            return 200, {}, {"ok": False, "error": "thread_not_found"}
        ts = self._new_ts()
        message = {"type": "message", "text": params["text"], "ts": ts, "user": "U0BOT00001", "bot_id": "B0BOT00001"}
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages.append(message)
        return 200, {}, {"ok": True, "channel": self.CHANNEL_ID, "ts": ts, "message": message}

    def react(self, ts: str, name: str, count: int) -> None:
        with self.lock:
            message = next(m for m in self.messages if m["ts"] == ts)
            reactions = [r for r in message.get("reactions", []) if r["name"] != name]
            reactions.append({"name": name, "count": count, "users": [f"U{index:09d}" for index in range(count)]})
            message["reactions"] = reactions

    def _reactions(self, params) -> Answer:
        """reactions.get (channel, timestamp): the message with its ``reactions`` and, for a thread's
        parent, ``reply_count``; needs the reactions:read scope."""
        if params.get("channel") != self.CHANNEL_ID:
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        with self.lock:
            found = next((m for m in self.messages if m["ts"] == params.get("timestamp")), None)
            if found is None:
                return 200, {}, {"ok": False, "error": "message_not_found"}
            message = dict(found)
            replies = [m for m in self.messages if m.get("thread_ts") == found["ts"]]
            if replies:
                message["reply_count"] = len(replies)
        return 200, {}, {"ok": True, "type": "message", "channel": self.CHANNEL_ID, "message": message}

    def _reserve(self, params) -> Answer:
        """files.getUploadURLExternal: a file id and a one-off URL for its bytes; nothing is shown."""
        try:
            length = int(params.get("length") or 0)
        except (TypeError, ValueError):
            return 200, {}, {"ok": False, "error": "invalid_arguments"}
        if not params.get("filename") or length <= 0:
            return 200, {}, {"ok": False, "error": "missing_argument" if length <= 0 else "invalid_arguments"}
        alt_txt = params.get("alt_txt")
        if alt_txt is not None and len(alt_txt) > self.ALT_TEXT_LIMIT:
            return 200, {}, {"ok": False, "error": "alt_txt_too_large"}
        file_id, key = f"F0{self.next_id():08d}", secrets.token_urlsafe(12)
        self._upload_keys[key] = file_id
        self.uploads[file_id] = {
            "id": file_id,
            "filename": params["filename"],
            "length": length,
            "alt_txt": alt_txt,
            "data": None,
            "content_type": None,
            "shared": False,
        }
        return 200, {}, {"ok": True, "upload_url": f"{self.base_url}/upload/v1/{key}", "file_id": file_id}

    def _receive(self, key: str, body: dict[str, Any], headers: dict[str, str]) -> Answer:
        """The upload URL: the bytes, raw or as a multipart part (Slack takes both)."""
        file_id = self._upload_keys.get(key)
        if file_id is None:
            return 404, {}, "Not Found"
        upload = next((value for value in body.values() if isinstance(value, Upload)), None)
        if upload is None:
            return 400, {}, "No file"
        pending = self.uploads[file_id]
        if len(upload.data) != pending["length"]:
            # Slack does not document this refusal; the length given up front must be the file's.
            return 400, {}, "Length does not match"
        pending["data"], pending["content_type"] = upload.data, upload.content_type
        return 200, {}, f"OK - {len(upload.data)}"

    def _complete(self, params) -> Answer:
        """files.completeUploadExternal: shares the files in one message, with the initial comment as
        its text. Slack shares asynchronously: its answer names the files, not the message."""
        try:
            listed = params.get("files")
            listed = json.loads(listed) if isinstance(listed, str) else listed
        except ValueError:
            listed = None
        if not isinstance(listed, list) or not listed:
            return 200, {}, {"ok": False, "error": "invalid_arguments"}
        found = [self.uploads.get(str(item.get("id"))) for item in listed]
        if any(upload is None or upload["data"] is None or upload["shared"] for upload in found):
            return 200, {}, {"ok": False, "error": "file_not_found"}
        channel, thread_ts = params.get("channel_id"), params.get("thread_ts")
        if channel != self.CHANNEL_ID:
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if thread_ts and not any(m["ts"] == thread_ts and not m.get("thread_ts") for m in self.messages):
            return 200, {}, {"ok": False, "error": "thread_not_found"}
        for upload, item in zip(found, listed, strict=False):
            upload["shared"], upload["title"] = True, item.get("title") or upload["filename"]
        message = {
            "type": "message",
            "subtype": "file_share",
            "text": params.get("initial_comment") or "",
            "ts": self._new_ts(),
            "files": [upload["id"] for upload in found],
            "user": "U0BOT00001",
            "bot_id": "B0BOT00001",
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages.append(message)
        return 200, {}, {"ok": True, "files": [{"id": upload["id"], "title": upload["title"]} for upload in found]}

    # what a member of the channel sees: Slack shows &amp; &lt; &gt; as the characters they stand for
    @staticmethod
    def shown(text: str) -> str:
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def _files_of(self, message: dict[str, Any]) -> list[SentFile]:
        return [
            SentFile(u["filename"], u["content_type"], u["data"], u["alt_txt"], u["title"])
            for u in (self.uploads[file_id] for file_id in message.get("files") or [])
        ]

    def history(self) -> list[dict[str, Any]]:
        """The channel's messages (thread replies are inside their thread, not in the channel)."""
        return [
            {"ts": m["ts"], "text": self.shown(m["text"]), "files": self._files_of(m), "replies": self.replies(m["ts"])}
            for m in self.messages
            if not m.get("thread_ts")
        ]

    def replies(self, thread_ts: str) -> list[str]:
        return [self.shown(m["text"]) for m in self.messages if m.get("thread_ts") == thread_ts]

    def thread(self, thread_ts: str) -> list[dict[str, Any]]:
        """A thread's replies with their files, in order."""
        return [
            {"ts": m["ts"], "text": self.shown(m["text"]), "files": self._files_of(m)}
            for m in self.messages
            if m.get("thread_ts") == thread_ts
        ]


# --- Telegram -------------------------------------------------------------------------------------
class TelegramServer(ChatServer):
    """One bot and one public channel it may post to. Methods live at ``/bot<token>/<method>``.

    Media methods take multipart bodies: the file in its own field (``photo``, ``video``,
    ``animation``) or, in ``sendMediaGroup``'s ``media`` JSON, as ``attach://<field>``. Objects such as
    ``reply_parameters`` arrive JSON-serialized in a multipart body, as the Bot API asks."""

    BOT_ID = 7000000001
    TOKEN = "7000000001:AAopenpost-test-token"
    CHAT_ID = -1001234567890
    CHAT_USERNAME = "openpost_news"
    CAPTION_LIMIT = 1024
    # Uploads through the Bot API: photos up to 10 MB, other files up to 50 MB.
    LIMITS = {"photo": 10 * MB, "video": 50 * MB, "animation": 50 * MB}
    MEDIA_METHODS = {"sendPhoto": "photo", "sendVideo": "video", "sendAnimation": "animation"}

    def __init__(self) -> None:
        super().__init__()
        self.token = self.TOKEN
        self.chat_type = "channel"
        # The bot's ChatMember in the chat, as getChatMember answers it (without its user): in a
        # channel a bot posts as an administrator with can_post_messages.
        self.bot_member: dict[str, Any] = {
            "status": "administrator",
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_post_messages": True,
        }
        self.messages: list[dict[str, Any]] = []
        self.files: dict[str, SentFile] = {}  # file_id -> the file

    @property
    def api_url(self) -> str:
        return self.base_url

    def _chat(self) -> dict[str, Any]:
        return {"id": self.CHAT_ID, "title": "openpost news", "username": self.CHAT_USERNAME, "type": self.chat_type}

    def handle(self, method, path, query, body, headers):
        prefix, _, name = path.strip("/").partition("/")
        params = {**query, **body}
        if not prefix.startswith("bot") or prefix[3:] != self.token:
            return 401, {}, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if name == "getMe":
            self.calls.items.append(("POST", name))
            return (
                200,
                {},
                {
                    "ok": True,
                    "result": {
                        "id": self.BOT_ID,
                        "is_bot": True,
                        "first_name": "openpost",
                        "username": "openpost_test_bot",
                    },
                },
            )
        if name == "getChat":
            self.calls.items.append(("POST", name))
            if not self._is_chat(params.get("chat_id")):
                return 400, {}, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
            return 200, {}, {"ok": True, "result": self._chat()}
        if name == "getChatMember":
            self.calls.items.append(("POST", name))
            if not self._is_chat(params.get("chat_id")):
                return self._bad("chat not found")
            if str(params.get("user_id")) != str(self.BOT_ID):
                return self._bad("user not found")  # only the bot's own membership is modelled
            member = {
                "user": {"id": self.BOT_ID, "is_bot": True, "first_name": "openpost", "username": "openpost_test_bot"},
                **self.bot_member,
            }
            return 200, {}, {"ok": True, "result": member}
        if name in ("sendMessage", "sendMediaGroup", *self.MEDIA_METHODS):
            refused = self._cannot_post()
            if refused is not None:
                self.calls.items.append(("POST", name))
                return refused
        if name == "sendMessage":
            return self.posting(name, self._fault_answer, lambda: self._send(params))
        if name in self.MEDIA_METHODS:
            return self.posting(name, self._fault_answer, lambda: self._send_media(self.MEDIA_METHODS[name], params))
        if name == "sendMediaGroup":
            return self.posting(name, self._fault_answer, lambda: self._send_album(params))
        return 404, {}, {"ok": False, "error_code": 404, "description": "Not Found"}

    def _is_chat(self, chat_id: Any) -> bool:
        return str(chat_id) in (str(self.CHAT_ID), f"@{self.CHAT_USERNAME}")

    def _fault_answer(self, fault: Fault) -> Answer:
        if fault.kind == "429":
            seconds = int(fault.retry_after)
            return (
                429,
                {},
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {seconds}",
                    "parameters": {"retry_after": seconds},
                },
            )
        if fault.kind == "401":
            self.token = "revoked"
            return 401, {}, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        return 502, {}, {"ok": False, "error_code": 502, "description": "Bad Gateway"}

    def _cannot_post(self) -> Answer | None:
        """Telegram's refusal when the bot's membership does not let it post here."""
        status, where = self.bot_member.get("status"), f"the {self.chat_type} chat"
        if status == "kicked":
            return 403, {}, {"ok": False, "error_code": 403, "description": f"Forbidden: bot was kicked from {where}"}
        if status == "left" or (status == "restricted" and not self.bot_member.get("is_member", True)):
            return (
                403,
                {},
                {"ok": False, "error_code": 403, "description": f"Forbidden: bot is not a member of {where}"},
            )
        if self.chat_type == "channel" and not (status == "creator" or self.bot_member.get("can_post_messages")):
            return self._bad(f"need administrator rights in {where}")
        if status == "restricted" and not self.bot_member.get("can_send_messages"):
            return self._bad("not enough rights to send text messages to the chat")
        return None

    @staticmethod
    def _bad(description: str) -> Answer:
        return 400, {}, {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}

    def _parent(self, params) -> tuple[dict[str, Any] | None, Answer | None]:
        """The message a new one replies to, or the refusal when it is gone."""
        reply = params.get("reply_parameters") or {}
        if isinstance(reply, str):
            reply = json.loads(reply)
        reply_to = reply.get("message_id") or params.get("reply_to_message_id")
        if reply_to is None:
            return None, None
        parent = next((m for m in self.messages if m["message_id"] == int(reply_to)), None)
        if parent is None and not reply.get("allow_sending_without_reply"):
            return None, self._bad("message to be replied not found")
        return parent, None

    def _new_message(self, parent: dict[str, Any] | None, **content: Any) -> dict[str, Any]:
        message = {"message_id": self.next_id(), "date": int(time.time()), "chat": self._chat(), **content}
        if parent is not None:
            message["reply_to_message"] = {
                k: parent[k] for k in ("message_id", "date", "chat", "text", "caption") if k in parent
            }
        return message

    def _send(self, params) -> Answer:
        if not self._is_chat(params.get("chat_id")):
            return self._bad("chat not found")
        if not params.get("text"):
            return self._bad("message text is empty")
        parent, refused = self._parent(params)
        if refused:
            return refused
        message = self._new_message(parent, text=params["text"])
        self.messages.append(message)
        return 200, {}, {"ok": True, "result": message}

    def _input_file(self, value: Any, params) -> Upload | None:
        """A file given in the request: uploaded in the field itself, or by ``attach://<field>``."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        return value if isinstance(value, Upload) else None

    def _media_refusal(self, kind: str, upload: Upload | None, caption: str) -> Answer | None:
        if upload is None:
            return self._bad(f"there is no {kind} in the request")
        expected = {"photo": "image/", "video": "video/", "animation": ("image/gif", "video/")}[kind]
        if not upload.content_type.startswith(expected):
            return self._bad("IMAGE_PROCESS_FAILED" if kind == "photo" else "wrong file type")
        if len(upload.data) > self.LIMITS[kind]:
            return 413, {}, {"ok": False, "error_code": 413, "description": "Request Entity Too Large"}
        if len(caption) > self.CAPTION_LIMIT:
            return self._bad("message caption is too long")
        return None

    def _store(self, kind: str, upload: Upload, params: dict[str, Any]) -> Any:
        file_id = f"{kind}-{self.next_id()}"
        self.files[file_id] = SentFile(upload.filename or "", upload.content_type, upload.data)
        shown = {"file_id": file_id, "file_unique_id": file_id, "file_size": len(upload.data)}
        for key in ("width", "height"):
            if params.get(key) is not None:
                shown[key] = int(params[key])
        return [shown] if kind == "photo" else shown  # a photo comes back in its sizes

    def _send_media(self, kind: str, params) -> Answer:
        if not self._is_chat(params.get("chat_id")):
            return self._bad("chat not found")
        upload, caption = self._input_file(params.get(kind), params), params.get("caption") or ""
        refused = self._media_refusal(kind, upload, caption)
        if refused:
            return refused
        parent, refused = self._parent(params)
        if refused:
            return refused
        content = {kind: self._store(kind, upload, params)}
        if caption:
            content["caption"] = caption
        message = self._new_message(parent, **content)
        self.messages.append(message)
        return 200, {}, {"ok": True, "result": message}

    def _send_album(self, params) -> Answer:
        if not self._is_chat(params.get("chat_id")):
            return self._bad("chat not found")
        try:
            media = json.loads(params.get("media") or "null")
        except ValueError:
            return self._bad("can't parse media JSON object")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            return self._bad("media must include 2-10 items")
        items = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "video"):
                return self._bad("unsupported media type in a media group")
            upload, caption = self._input_file(item.get("media"), params), item.get("caption") or ""
            refused = self._media_refusal(kind, upload, caption)
            if refused:
                return refused
            items.append((kind, upload, item, caption))
        parent, refused = self._parent(params)
        if refused:
            return refused
        group = str(self.next_id())
        sent = []
        for kind, upload, item, caption in items:
            content = {kind: self._store(kind, upload, item), "media_group_id": group}
            if caption:
                content["caption"] = caption
            sent.append(self._new_message(parent, **content))
        self.messages.extend(sent)
        return 200, {}, {"ok": True, "result": sent}

    # what a subscriber of the channel sees
    def feed(self) -> list[dict[str, Any]]:
        return [
            {
                "id": m["message_id"],
                "text": m.get("text") or m.get("caption") or "",
                "reply_to": (m.get("reply_to_message") or {}).get("message_id"),
                "media": self._media_of(m),
                "album": m.get("media_group_id"),
            }
            for m in self.messages
        ]

    def _media_of(self, message: dict[str, Any]) -> list[tuple[str, SentFile]]:
        """The message's file as (kind, file): a photo is shown once, whatever its sizes."""
        for kind in ("photo", "video", "animation"):
            if kind in message:
                shown = message[kind][-1] if kind == "photo" else message[kind]
                return [(kind, self.files[shown["file_id"]])]
        return []

"""A webhook receiver on loopback that checks every delivery with the reference Standard Webhooks
verifier from PyPI (``standardwebhooks``), never with our own signing code.

Each path is an endpoint with a script of answers (status, headers, seconds to hang), used in order;
after the script, it answers 200. Every request is kept with what verified it.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from dataclasses import dataclass, field

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    arrived: float  # time.time()
    verified_by: list[str] = field(default_factory=list)  # the secrets whose verification passed
    payload: dict | None = None

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    @property
    def type(self) -> str | None:
        return (self.payload or {}).get("type")


@dataclass
class Script:
    answers: list[tuple[int, dict[str, str], float]] = field(default_factory=list)
    always: tuple[int, dict[str, str], float] | None = None  # every answer, after the scripted ones


class WebhookReceiver:
    def __init__(self):
        self.received: list[Received] = []
        self.secrets: dict[str, list[str]] = {}
        self.scripts: dict[str, Script] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver._keep(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                status, headers, hang = receiver._answer(self.path)
                if hang:
                    receiver._stopping.wait(hang)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender gave up waiting

            def do_HEAD(self):  # noqa: N802
                # The check made at registration: answered as the path always answers, not recorded.
                script = receiver.scripts.get(self.path)
                status, headers, _ = (script.always if script and script.always else None) or (200, {}, 0.0)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def trust(self, path: str, *secrets: str) -> None:
        """The secrets this endpoint verifies with (each is tried on its own)."""
        self.secrets.setdefault(path, []).extend(secrets)

    def script(self, path: str, *answers, always=None) -> None:
        """Answers for the next requests: (status, headers, hang seconds) tuples or bare statuses."""
        normal = [(a, {}, 0.0) if isinstance(a, int) else a for a in answers]
        if isinstance(always, int):
            always = (always, {}, 0.0)
        self.scripts[path] = Script(normal, always)

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [item for item in self.received if item.path == path]

    def _keep(self, path: str, headers: dict[str, str], body: bytes) -> None:
        item = Received(path, headers, body, time.time())
        for secret in self.secrets.get(path, []):
            try:
                item.payload = Webhook(secret).verify(body, headers)
                item.verified_by.append(secret)
            except WebhookVerificationError:
                pass
        if item.payload is None:
            try:
                item.payload = json.loads(body)
            except ValueError:
                pass
        with self._lock:
            self.received.append(item)

    def _answer(self, path: str) -> tuple[int, dict[str, str], float]:
        with self._lock:
            script = self.scripts.get(path)
            if script is None:
                return 200, {}, 0.0
            if script.answers:
                return script.answers.pop(0)
            return script.always or (200, {}, 0.0)

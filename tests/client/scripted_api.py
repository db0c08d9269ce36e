"""An HTTP server on loopback that answers from a script: each request takes the next scripted
answer (status, headers, body), or ``DROP`` to close the connection without a word, or ``SILENT`` to
say nothing until the client has timed out. Every request is kept, so a test can read the headers
the client sent on each attempt."""

from __future__ import annotations

import http.server
import json
import threading
import time
from dataclasses import dataclass

DROP = "drop"
SILENT = "silent"  # read the request, then say nothing for a second (longer than the tests' timeout)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedApi:
    def __init__(self, answers):
        self.answers = list(answers)
        self.seen: list[Seen] = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                api.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                answer = api.answers.pop(0) if api.answers else (200, {}, {"data": {}})
                if answer == SILENT:
                    time.sleep(1.0)
                    self.close_connection = True
                    return
                if answer == DROP:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, headers, payload = answer
                raw = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                kind = "application/problem+json" if status >= 400 else "application/json"
                for name, value in {"Content-Type": kind, **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def problem(status, code, detail="", **extra):
    return {"type": "about:blank", "title": code, "status": status, "detail": detail, "code": code, **extra}

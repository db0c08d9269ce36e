"""A Mastodon instance that processes media in the background, as real instances do for videos and
large images (Mastodon's documentation of ``POST /api/v2/media`` and ``GET /api/v1/media/:id``):

- ``POST /api/v2/media`` stores the file and answers 202 with the attachment, its ``url`` null;
- ``GET /api/v1/media/:id`` answers 206 (no body) while the file is processing, then 200 with the
  attachment, or 422 when processing failed;
- ``POST /api/v1/statuses`` refuses (422) a status naming a file still processing.

It also answers the metrics reads (Mastodon's documentation of ``GET /api/v1/statuses`` and
``GET /api/v2/instance``): ``GET /api/v1/statuses?id[]=`` from version 4.3.0 (at most 20 ids, 422
beyond; ids not found are left out) and 404 on older versions, which have only
``GET /api/v1/statuses/:id``; ``/api/v2/instance`` says the ``version`` given. Statuses carry
``favourites_count``, ``reblogs_count`` and ``replies_count`` (``set_counts``); ``seed_status``
adds one without the API; ``rate_limit_next`` answers the next read 429 with ``X-RateLimit-*``
headers; ``calls`` counts "statuses" (a batch read), "status_read" and "instance".

mastodon-mock processes every upload at once, so only this server shows those paths. It runs on a free
loopback port in a thread and keeps what it was sent. ``ready_after`` says on which check a file is
ready (0: at once, 200 to the upload; None: never); ``processing_error`` makes processing fail;
``fail_uploads`` scripts answers to the next uploads. An upload without a file name is no file, as
the instance's multipart parser sees it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

TOKEN = "media-token-7d1a"
NOT_READY = "Cannot attach files that have not finished processing. Try again in a moment!"

Answer = tuple[int, dict[str, str], Any]


class MediaProcessingServer:
    def __init__(
        self, ready_after: int | None = 2, processing_error: str | None = None, version: str = "4.3.0"
    ) -> None:
        self.version = version
        self.counts: dict[str, dict[str, int]] = {}
        self._rate_limited: list[int] = []  # seconds to the reset, for the next reads
        self.ready_after = ready_after
        self.processing_error = processing_error
        self.uploads: list[dict[str, Any]] = []  # every file received, in order
        self.statuses: list[dict[str, Any]] = []
        self.calls: list[str] = []  # "upload", "check", "status", in order
        self._upload_faults: list[Answer] = []
        self._ids = itertools.count(110_000_000_000_000_001)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self, method: str) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server._lock:
                    status, headers, body = server.handle(method, self.path, dict(self.headers.items()), raw)
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

            def log_message(self, *args):
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> MediaProcessingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._http.shutdown()
        self._http.server_close()

    def fail_uploads(
        self, status: int, body: Any = None, headers: dict[str, str] | None = None, times: int = 1
    ) -> None:
        self._upload_faults.extend([(status, headers or {}, body)] * times)

    # --- the API -----------------------------------------------------------------------------------
    def seed_status(self, text: str = "") -> str:
        with self._lock:
            status_id = str(next(self._ids))
            self.statuses.append(
                {
                    "id": status_id,
                    "content": f"<p>{text}</p>",
                    "url": f"{self.base_url}/@openpost/{status_id}",
                    "media_attachments": [],
                }
            )
            return status_id

    def set_counts(self, status_id: str, **counts: int) -> None:
        self.counts[status_id] = {**self.counts.get(status_id, {}), **counts}

    def rate_limit_next(self, reset_in: int = 120) -> None:
        self._rate_limited.append(reset_in)

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Answer:
        path, _, query = target.partition("?")
        if method == "GET" and path == "/api/v2/instance":
            self.calls.append("instance")
            return 200, {}, {"domain": "127.0.0.1", "version": self.version, "title": "openpost test"}
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {}, {"error": "The access token is invalid"}
        if method == "POST" and path == "/api/v2/media":
            self.calls.append("upload")
            return self._upload(headers.get("Content-Type", ""), raw)
        found = re.fullmatch(r"/api/v1/media/(\d+)", path)
        if method == "GET" and found:
            self.calls.append("check")
            return self._check(found.group(1))
        if method == "POST" and path == "/api/v1/statuses":
            self.calls.append("status")
            return self._status(json.loads(raw or b"{}"))
        if method == "GET" and (path == "/api/v1/statuses" or re.fullmatch(r"/api/v1/statuses/\d+", path)):
            return self._read(path, query)
        return 404, {}, {"error": "Record not found"}

    # --- metrics reads ---------------------------------------------------------------------------------
    def _read(self, path: str, query: str) -> Answer:
        many = path == "/api/v1/statuses"
        self.calls.append("statuses" if many else "status_read")
        if many and tuple(int(part) for part in self.version.split(".")[:2]) < (4, 3):
            return 404, {}, {"error": "Record not found"}  # the route came with 4.3.0
        if self._rate_limited:
            reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self._rate_limited.pop(0))
            limits = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset.isoformat()}
            return 429, limits, {"error": "Too many requests"}
        if many:
            ids = [value for name, value in parse_qsl(query) if name == "id[]"]
            if len(ids) > 20:
                return 422, {}, {"error": "Too many ids: at most 20"}
            return 200, {}, [self._with_counts(status) for status in self.statuses if status["id"] in ids]
        status = next((item for item in self.statuses if item["id"] == path.rsplit("/", 1)[1]), None)
        if status is None:
            return 404, {}, {"error": "Record not found"}
        return 200, {}, self._with_counts(status)

    def _with_counts(self, status: dict[str, Any]) -> dict[str, Any]:
        counts = self.counts.get(status["id"], {})
        return {
            **status,
            "favourites_count": counts.get("favourites_count", 0),
            "reblogs_count": counts.get("reblogs_count", 0),
            "replies_count": counts.get("replies_count", 0),
        }

    def _upload(self, content_type: str, raw: bytes) -> Answer:
        if self._upload_faults:
            return self._upload_faults.pop(0)
        fields = multipart_fields(content_type, raw)
        filename, file_type, data = fields.get("file", (None, None, b""))
        if not filename:
            return 422, {}, {"error": "Validation failed: File can't be blank"}
        media = {
            "id": str(next(self._ids)),
            "filename": filename,
            "content_type": file_type,
            "data": data,
            "description": (fields.get("description") or (None, None, b""))[2].decode() or None,
            "checks": 0,
        }
        self.uploads.append(media)
        if self.ready_after == 0:
            return 200, {}, self._attachment(media)
        return 202, {}, self._attachment(media)

    def _check(self, media_id: str) -> Answer:
        media = next((item for item in self.uploads if item["id"] == media_id), None)
        if media is None:
            return 404, {}, {"error": "Record not found"}
        media["checks"] += 1
        if not self._ready(media):
            return 206, {}, None
        if self.processing_error:
            return 422, {}, {"error": self.processing_error}
        return 200, {}, self._attachment(media)

    def _status(self, body: dict[str, Any]) -> Answer:
        media = [item for media_id in body.get("media_ids") or [] for item in self.uploads if item["id"] == media_id]
        if len(media) != len(body.get("media_ids") or []):
            return 422, {}, {"error": "Validation failed: Media attachments are invalid"}
        if not all(self._ready(item) for item in media):
            return 422, {}, {"error": NOT_READY}
        status = {
            "id": str(next(self._ids)),
            "content": f"<p>{body.get('status', '')}</p>",
            "url": None,
            "media_attachments": [self._attachment(item) for item in media],
        }
        status["url"] = f"{self.base_url}/@openpost/{status['id']}"
        self.statuses.append(status)
        return 200, {}, status

    def _ready(self, media: dict[str, Any]) -> bool:
        return self.ready_after is not None and media["checks"] >= self.ready_after

    def _attachment(self, media: dict[str, Any]) -> dict[str, Any]:
        kind = (media["content_type"] or "").split("/")[0]
        url = f"{self.base_url}/system/media/{media['id']}/original/{media['filename']}"
        return {
            "id": media["id"],
            "type": kind if kind in ("image", "video") else "unknown",
            "url": url if self._ready(media) else None,
            "preview_url": f"{url}?small",
            "description": media["description"],
        }


def multipart_fields(content_type: str, raw: bytes) -> dict[str, tuple[str | None, str | None, bytes]]:
    """A multipart/form-data body's fields: name -> (file name, content type, bytes)."""
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if not found:
        return {}
    fields = {}
    for chunk in raw.split(b"--" + found.group(1).encode())[1:-1]:
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        lines = head.decode("utf-8").split("\r\n")
        disposition = next((line for line in lines if line.lower().startswith("content-disposition:")), "")
        part_type = next(
            (line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("content-type:")), None
        )
        name = re.search(r';\s*name="([^"]*)"', disposition)
        filename = re.search(r';\s*filename="([^"]*)"', disposition)
        if name:
            fields[name.group(1)] = (filename.group(1) if filename else None, part_type, data.removesuffix(b"\r\n"))
        # A part with no name is ignored, as a form parser would.
    return fields

"""An AppView-shaped server for ``app.bsky.feed.getPosts``, the one Bluesky read analytics makes.

getPosts is an AppView method: a bare PDS (tests/pds) cannot answer it (it proxies AppView methods
to an AppView it is configured with), so analytics tests read counters from this server instead,
shaped as the lexicon says: ``GET /xrpc/app.bsky.feed.getPosts?uris=...&uris=...`` with 1 to 25
AT-URIs (400 ``InvalidRequest`` otherwise), answering ``{"posts": [PostView]}`` with ``uri``,
``cid``, ``author``, ``record``, ``indexedAt``, ``likeCount``, ``repostCount``, ``replyCount``,
``quoteCount``; URIs it does not know are left out, as the AppView does. No session is needed
(the public AppView answers anonymous reads). Rate-limit headers are Bluesky's ``RateLimit-Limit``,
``RateLimit-Remaining``, ``RateLimit-Reset`` (epoch seconds); ``rate_limit_next`` makes the next
call a 429. ``calls`` holds the URIs of every getPosts call, in order.

Given ``records`` (a function from an AT-URI to the record the PDS holds, or None), it also indexes
posts as a real AppView does from the network: a URI it has not seen is looked up on the PDS, and a
post that exists there is served with the counts ``set_counts`` gave it (0 otherwise).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.platform_servers.loopback import LoopbackServer

MAX_URIS = 25


class AppViewServer(LoopbackServer):
    thread_name = "bluesky-appview"

    def __init__(self, records=None) -> None:
        super().__init__()
        self._records = records
        self._counts: dict[str, dict[str, int]] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.calls: list[list[str]] = []
        self._limited: list[int] = []
        self._lock = threading.Lock()

    def add_post(self, uri: str, **counts: int) -> None:
        did = uri.split("/")[2]
        with self._lock:
            self.posts[uri] = {
                "uri": uri,
                "cid": "bafyrei" + str(abs(hash(uri)))[:20].ljust(20, "a"),
                "author": {"did": did, "handle": "openpost.test"},
                "record": {"$type": "app.bsky.feed.post", "text": "post", "createdAt": "2026-05-01T12:00:00.000Z"},
                "indexedAt": "2026-05-01T12:00:00.000Z",
                "likeCount": 0,
                "repostCount": 0,
                "replyCount": 0,
                "quoteCount": 0,
                **counts,
            }

    def set_counts(self, uri: str, **counts: int) -> None:
        with self._lock:
            self._counts[uri] = counts
            if uri in self.posts:
                self.posts[uri].update(counts)

    def _index(self, uri: str) -> None:
        """A post the PDS holds, as the AppView would have indexed it from the firehose."""
        found = self._records(uri) if self._records is not None else None
        if found is not None:
            self.add_post(uri, **self._counts.get(uri, {}))
            with self._lock:
                self.posts[uri].update({"cid": found.get("cid"), "record": found.get("value")})

    def rate_limit_next(self, reset_in: int = 60) -> None:
        self._limited.append(reset_in)

    def get_posts(self, query: str) -> tuple[int, dict[str, str], dict[str, Any]]:
        uris = [value for name, value in parse_qsl(query) if name == "uris"]
        for uri in uris:
            if uri.startswith("at://") and uri not in self.posts:
                self._index(uri)
        with self._lock:
            self.calls.append(uris)
            headers = {
                "RateLimit-Limit": "3000",
                "RateLimit-Remaining": "2999",
                "RateLimit-Reset": str(int(time.time()) + 300),
            }
            if self._limited:
                reset = int(time.time()) + self._limited.pop(0)
                headers = {"RateLimit-Limit": "3000", "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}
                return 429, headers, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
            if not 1 <= len(uris) <= MAX_URIS or not all(uri.startswith("at://") for uri in uris):
                return 400, headers, {"error": "InvalidRequest", "message": f"uris must hold 1 to {MAX_URIS} AT-URIs"}
            return 200, headers, {"posts": [self.posts[uri] for uri in uris if uri in self.posts]}

    def _serve(self) -> ThreadingHTTPServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                if parts.path == "/xrpc/app.bsky.feed.getPosts":
                    status, headers, body = server.get_posts(parts.query)
                else:
                    status, headers, body = (
                        501,
                        {},
                        {"error": "MethodNotImplemented", "message": "Method Not Implemented"},
                    )
                raw = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return ThreadingHTTPServer(("127.0.0.1", 0), Handler)

"""The Python client against the local stack over HTTP: the guide's seven steps as a script, the async
client, and a create whose first answer is lost on the way back (exactly one post exists after)."""

from __future__ import annotations

import asyncio
import http.client
import http.server
import os
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import openpost
import pytest

from tests import media_samples

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def client_environment(stack) -> dict[str, str]:
    return {
        **os.environ,
        "OPENPOST_API_KEY": stack.state["test_key"],
        "OPENPOST_BASE_URL": stack.base_url,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def test_the_guides_seven_steps_with_the_python_client(stack):
    done = subprocess.run(
        [sys.executable, str(REPO / "client" / "examples" / "publish_programmatically.py")],
        env=client_environment(stack),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    steps = {line.split(" ", 1)[0]: line for line in done.stdout.splitlines()}
    assert sorted(steps) == ["1", "2", "3", "4", "5", "6", "7"], done.stdout
    assert steps["3"].endswith(" ready") and " scheduled at " in steps["4"]
    assert steps["5"].endswith("same post")
    published = steps["6"].split()[3].rstrip(":")
    assert steps["7"] == f"7 webhook post.published for {published} (verified)"
    with openpost.Openpost(stack.state["test_key"], stack.base_url) as client:
        post = client.posts.get(steps["4"].split()[2])
        assert post.status == "scheduled" and post.media_ids == [steps["3"].split()[2]]


def test_the_async_client(stack, tmp_path):
    image = tmp_path / "photo.png"
    image.write_bytes(media_samples.image("image/png", 320, 200))

    async def run():
        async with openpost.AsyncOpenpost(stack.state["test_key"], stack.base_url) as client:
            progress = []
            media = await client.media.upload(image, alt_text="A photo", on_progress=lambda *p: progress.append(p))
            assert (media.status, media.width, media.alt_text) == ("ready", 320, "A photo")
            assert progress[-1] == (image.stat().st_size, image.stat().st_size)
            tag = uuid.uuid4().hex[:12]
            created = await asyncio.gather(
                *(client.posts.create(content=f"async {n}", platforms=["bluesky"], tags=[tag]) for n in range(3))
            )
            listed = [post.id async for post in client.posts.list(limit=1, status="draft") if tag in post.tags]
            assert sorted(listed) == sorted(post.id for post in created)  # three pages of one, followed lazily
            with pytest.raises(openpost.NotFoundError) as caught:
                await client.posts.get("01a00000-0000-7000-8000-000000000000")
            assert caught.value.code == "post_not_found" and caught.value.status == 404

    asyncio.run(run())


class LosingProxy:
    """Forwards to the stack; the first POST /v1/posts reaches it, but its answer is dropped on the
    way back (the connection is cut), as a network failure after the server acted would."""

    def __init__(self, upstream_port: int):
        self.requests: list[tuple[str, str, str | None]] = []
        self.dropped = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.requests.append((self.command, self.path, self.headers.get("Idempotency-Key")))
                upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                answer = upstream.getresponse()
                payload = answer.read()
                upstream.close()
                if self.command == "POST" and self.path == "/v1/posts" and proxy.dropped == 0:
                    proxy.dropped += 1
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

            def log_message(self, *arguments):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_create_whose_answer_is_lost_creates_exactly_one_post(stack):
    proxy = LosingProxy(stack.port)
    tag = uuid.uuid4().hex[:12]
    try:
        with openpost.Openpost(stack.state["test_key"], proxy.base_url) as client:
            post = client.posts.create(content="Lost answer", platforms=["bluesky"], tags=[tag])
            assert client.posts.get(post.id).id == post.id
            same = [p.id for p in client.posts.list(status="draft", limit=100) if tag in p.tags]
    finally:
        proxy.close()
    creates = [request for request in proxy.requests if request[:2] == ("POST", "/v1/posts")]
    assert proxy.dropped == 1 and len(creates) == 2  # the first answer was lost; the retry got one
    assert creates[0][2] and creates[0][2] == creates[1][2]  # with the same Idempotency-Key
    assert same == [post.id]  # exactly one post

"""The guide "Publish programmatically", its seven steps with the Python client.

Run it against the local stack (``make run`` in another terminal): ``python publish_programmatically.py``.
The key and URL come from OPENPOST_API_KEY / OPENPOST_BASE_URL, or from .openpost/local.json.
Each step prints one line starting with its number, so a script (or a test) can follow along.
"""

from __future__ import annotations

import datetime as dt
import http.server
import queue
import sys
import tempfile
import threading
from pathlib import Path

import openpost

# A tiny JPEG (1x1), so the example needs no file of its own.
PIXEL_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d"
    "1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100ffc4001f000001050101"
    "0101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d010203000411051221314106"
    "13516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455"
    "565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9ba"
    "c2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9"
)


def start_receiver(secret_box: list[str], events: queue.Queue) -> http.server.HTTPServer:
    """Step 7's endpoint: verifies each delivery with openpost.webhooks.verify, then queues the event."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                event = openpost.webhooks.verify(body, dict(self.headers), secret_box[0])
            except (openpost.WebhookVerificationError, IndexError):
                self.send_response(400)
            else:
                events.put(event)
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    # 1. An API key: the local stack's test key (or OPENPOST_API_KEY).
    client = openpost.Openpost()
    print(f"1 key {client.api_key[:11]}... at {client.base_url}")

    # 2. The connected channels (test mode comes with sandbox integrations).
    integrations = list(client.integrations.list())
    channel = next(i for i in integrations if i.platform == "bluesky")
    print(f"2 integrations {len(integrations)}; using {channel.platform} {channel.id}")

    # 3. Media: one call does both steps (presigned URL, then the PUT) and waits until it is ready.
    with tempfile.TemporaryDirectory() as folder:
        image = Path(folder) / "launch.jpg"
        image.write_bytes(PIXEL_JPEG)
        media = client.media.upload(image, alt_text="Our launch")
    print(f"3 media {media.id} {media.status}")

    # 4 and 5. A scheduled post. The Idempotency-Key makes the guide's safeCreate one call: the client
    # retries network errors and 5xx with the same key, so the post exists once.
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(microsecond=0)
    key = f"demo-launch-{when:%Y%m%d%H%M%S}"
    post = client.posts.create(
        content="Big launch today 🚀",
        integrations=[channel.id],
        media=[media.id],
        schedule_at=when,
        idempotency_key=key,
    )
    again = client.posts.create(
        content="Big launch today 🚀",
        integrations=[channel.id],
        media=[media.id],
        schedule_at=when,
        idempotency_key=key,
    )
    print(f"4 post {post.id} {post.status} at {post.scheduled_at:%Y-%m-%dT%H:%M:%SZ}")
    print(f"5 retried with the same key: {'same post' if again.id == post.id else 'A SECOND POST'}")

    # 7 (before 6, so the endpoint hears the publication): subscribe to post.published.
    secret_box: list[str] = []
    events: queue.Queue = queue.Queue()
    receiver = start_receiver(secret_box, events)
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    webhook = client.webhooks.create(url=url, events=["post.published", "post.failed", "integration.disconnected"])
    secret_box.append(webhook.secret)
    now = client.posts.create(content="Live now", integrations=[channel.id])
    client.posts.publish(now.id)

    try:
        event = events.get(timeout=30)
    except queue.Empty:
        print("7 no webhook event in 30 s")
        return 1
    finally:
        client.webhooks.delete(webhook.id)
        receiver.shutdown()

    # 6. The metrics of the published post (snapshots arrive as the platforms report them).
    metrics = client.analytics.post(now.id)
    states = ", ".join(f"{target.platform} {target.analytics_status}" for target in metrics.targets)
    print(f"6 analytics for {metrics.post_id}: impressions {metrics.totals.impressions}; {states}")
    print(f"7 webhook {event['type']} for {event['data'].get('post_id')} (verified)")
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

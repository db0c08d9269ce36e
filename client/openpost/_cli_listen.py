"""``openpost webhooks listen``, like ``stripe listen``: a receiver on loopback, registered as a
temporary webhook endpoint of the (local) API, printing each event once its signature verifies. The
endpoint is deleted again on Ctrl-C."""

from __future__ import annotations

import http.server
import json
import queue
import sys
import threading
import urllib.request
from typing import Any

import openpost


def listen(client: openpost.Openpost, args: Any, emit: Any) -> int:
    secret: list[str] = []
    received: queue.Queue = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                event = openpost.webhooks.verify(body, dict(self.headers), secret)
            except openpost.WebhookVerificationError as error:
                self.send_response(400)
                self.end_headers()
                print(f"refused a delivery: {error}", file=sys.stderr)
                return
            self.send_response(204)
            self.end_headers()
            received.put((event, body, self.headers.get("webhook-id")))

        def log_message(self, *arguments):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/openpost-listen"
    events = [name.strip() for name in args.events.split(",") if name.strip()]
    webhook = client.webhooks.create(url=url, events=events, description="openpost webhooks listen (temporary)")
    secret.append(webhook.secret)
    print(f"Listening on {url} for {', '.join(events)} (endpoint {webhook.id}); Ctrl-C to stop.", file=sys.stderr)
    seen = 0
    try:
        while args.count is None or seen < args.count:
            try:
                event, body, delivery = received.get(timeout=0.5)
            except queue.Empty:
                continue
            seen += 1
            if args.json:
                print(json.dumps(event), flush=True)
            else:
                data = event.get("data") or {}
                subject = next((data[k] for k in ("post_id", "media_id", "integration_id", "id") if k in data), "")
                line = f"{event.get('created_at', '')}  {event.get('type', '?'):<16} {subject}  ({delivery})"
                print(line, flush=True)
            if args.forward_to:
                forward = urllib.request.Request(
                    args.forward_to, data=body, headers={"Content-Type": "application/json"}
                )
                try:
                    urllib.request.urlopen(forward, timeout=10).close()
                except OSError as error:
                    print(f"forwarding to {args.forward_to} failed: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        client.webhooks.delete(webhook.id)
        server.shutdown()
        print(f"Removed the temporary endpoint {webhook.id}.", file=sys.stderr)
    return 0

"""The HTTP API on loopback, through Chalice's local server (the one behind ``chalice local``).

Chalice's server runs each connection on a thread of its own; every call into the app takes the local
stack's invocation lock, as one Lambda container serves one request at a time. Two gaps of
chalice.local are filled on the way: its API Gateway events lack the request id (which the app logs)
and the stage, and its Lambda context has no ARN or log group; the local stack's context is used.
"""

from __future__ import annotations

import functools
import json
import threading
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.local import ChaliceRequestHandler, ForbiddenError, LocalDevServer, LocalGateway, ThreadedHTTPServer

from chalicelib.api.edges import local_gateway_answer
from chalicelib.api.problems import PROBLEM_CONTENT_TYPE, problem_body
from infrastructure import catalog
from tools.devstack_events import ACCOUNT_ID

# How often the serving loop checks for shutdown; it bounds how long stopping takes.
SHUTDOWN_POLL_SECONDS = 0.2
# API Gateway's own limit on a request's size; larger ones get its REQUEST_TOO_LARGE answer.
GATEWAY_MAX_REQUEST_BYTES = 10 * 1024 * 1024


class _Server(ThreadedHTTPServer):
    # The socket's listen backlog: socketserver's default of 5 reset connections under a burst
    # of a few dozen clients at once, where API Gateway would have queued them.
    request_queue_size = 256


class _SerialGateway(LocalGateway):
    """Chalice's API Gateway stand-in, with each request handled under the invocation lock."""

    def __init__(self, app: Chalice, lock: threading.Lock, new_context: Callable[[], Any]):
        super().__init__(app, Config(chalice_stage="local"))
        self._lock = lock
        self._new_context = new_context

    def handle_request(self, method, path, headers, body):
        # Where API Gateway answers itself (through the stack's gateway responses), so does this.
        if body and len(body) > GATEWAY_MAX_REQUEST_BYTES:
            return local_gateway_answer("REQUEST_TOO_LARGE")
        with self._lock:
            try:
                return super().handle_request(method, path, headers, body)
            except ForbiddenError:  # chalice.local's "Missing Authentication Token": no such route
                return local_gateway_answer("MISSING_AUTHENTICATION_TOKEN")

    def _generate_lambda_context(self):
        return self._new_context()

    def _generate_lambda_event(self, method, path, headers, body):
        event = super()._generate_lambda_event(method, path, headers, body)
        event["requestContext"].update(
            {
                "requestId": str(uuid.uuid4()),
                "stage": catalog.API_STAGE,
                "requestTimeEpoch": int(time.time() * 1000),
                "accountId": ACCOUNT_ID,
                "apiId": "local",
                "protocol": "HTTP/1.1",
            }
        )
        return event


class _SerialRequestHandler(ChaliceRequestHandler):
    def __init__(
        self,
        request,
        client_address,
        server,
        app_object: Chalice,
        config: Config,
        lock: threading.Lock,
        new_context: Callable[[], Any],
    ):
        # ChaliceRequestHandler.__init__ builds a plain LocalGateway and handles the request at once,
        # so the gateway is set here and the base HTTP handler's __init__ is called directly.
        self.local_gateway = _SerialGateway(app_object, lock, new_context)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def __getattr__(self, name: str):
        # Any other method (TRACE, PROPFIND, ...) goes to the app too, which answers 405 or 404:
        # the base handler's answer would be an HTML page saying 501.
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    def send_error(self, code, message=None, explain=None):
        """What the base handler sends for a request it cannot read (a bad request line, a header
        too long), as problem+json rather than its HTML page."""
        body = json.dumps(
            problem_body(
                code,
                "bad_request" if code < 500 else "internal_error",
                HTTPStatus(code).phrase,
                message or HTTPStatus(code).description,
            )
        ).encode()
        self.send_response(code, message)
        self.send_header("Content-Type", PROBLEM_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)


class LocalHttpApi:
    """Binds at construction (so a taken port fails before anything else starts); serves on ``start``."""

    def __init__(self, app: Chalice, host: str, port: int, lock: threading.Lock, new_context: Callable[[], Any]):
        handler = functools.partial(_SerialRequestHandler, lock=lock, new_context=new_context)
        self._server = LocalDevServer(
            app, Config(chalice_stage="local"), host, port, handler_cls=handler, server_cls=_Server
        )
        self.port = self._server.server.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.server.serve_forever,
            name="http-api",
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        # Connections a client keeps alive live on daemon threads: they end with the process.
        self._server.server.server_close()

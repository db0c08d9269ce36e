"""The life of a platform server on loopback: started on a free port, stopped, used in a ``with``."""

from __future__ import annotations

import socket
import threading
from http.server import ThreadingHTTPServer


class LoopbackServer:
    """Base of the platform servers. A subclass says how its HTTP server is built (``_serve``);
    ``_stopping`` is set on stop, so an answer held back on purpose is let go."""

    thread_name = "platform-server"
    poll_interval = 0.5

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()

    def _serve(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    def start(self):
        self._httpd = self._serve()
        self._httpd.daemon_threads = True
        accept = self._httpd.get_request

        def tracked():
            connection, address = accept()
            self._connections.add(connection)
            return connection, address

        self._httpd.get_request = tracked
        threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": self.poll_interval},
            name=self.thread_name,
            daemon=True,
        ).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        # A stopped server drops the connections clients keep alive too, as a real one going away
        # does: a pooled connection must not reach a server that is gone.
        for connection in list(self._connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

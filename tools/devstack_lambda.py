"""What Lambda does around a handler call, for the local stack: the context object and the call itself.

Every function runs in this one process. A ``LocalFunction`` is one container: one invocation at a
time (its lock), and, when given ``serving``, its own container state (the app's ``Services``: its
clients and caches), so a function's several containers side by side do not share what Lambda's
would not. The HTTP API shares one lock with nothing else running in it, as the app keeps
per-request state in globals (Chalice's ``current_request``, the logger's keys).
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from tools.devstack_events import ACCOUNT_ID

log = logging.getLogger("devstack")

Handler = Callable[[Any, Any], Any]


class LocalLambdaContext:
    """The context object Lambda's Python runtime passes to a handler: same attribute names and types."""

    def __init__(self, function_name: str, memory_mb: int, timeout_seconds: int, region: str, log_stream: str):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"
        # The runtime reads it from an environment variable and hands it over as a string.
        self.memory_limit_in_mb = str(memory_mb)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = log_stream
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    result: Any = None
    failed: bool = False  # raised, or ran past its timeout (Lambda would have stopped it)


class LocalFunction:
    """One of the app's Lambda functions as a warm container runs it: its handler, its limits."""

    def __init__(
        self,
        name: str,
        handler: Handler,
        *,
        deployed_name: str,
        timeout_seconds: int,
        memory_mb: int,
        region: str,
        lock: threading.Lock,
        serving: Callable[[], AbstractContextManager] | None = None,
    ):
        self.name = name
        self.deployed_name = deployed_name
        self.timeout_seconds = timeout_seconds
        self._handler = handler
        self._memory_mb = memory_mb
        self._region = region
        self._lock = lock
        self._serving = serving or nullcontext
        # Lambda names a log stream after its container; this process is the one container.
        self._log_stream = f"{dt.date.today():%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"

    def new_context(self) -> LocalLambdaContext:
        return LocalLambdaContext(
            self.deployed_name, self._memory_mb, self.timeout_seconds, self._region, self._log_stream
        )

    def invoke(self, event: Any, cause: str) -> Invocation:
        """Call the handler as Lambda would; an exception is logged and reported, never raised."""
        context = self.new_context()
        with self._lock, self._serving():
            started = time.monotonic()
            try:
                result = self._handler(event, context)
            except Exception:  # noqa: BLE001 - a failing handler must not stop the loop delivering to it
                log.exception("%s failed (%s, request %s)", self.name, cause, context.aws_request_id)
                return Invocation(failed=True)
            elapsed = time.monotonic() - started
        if elapsed > self.timeout_seconds:
            log.warning(
                "%s ran %.1f s, past its %d s timeout (%s): Lambda would have stopped it",
                self.name,
                elapsed,
                self.timeout_seconds,
                cause,
            )
            return Invocation(result=result, failed=True)
        return Invocation(result=result)


def find_handler(app: Any, name: str) -> Handler:
    """The handler Lambda runs for ``@app.lambda_function(name=...)``, found by its handler string."""
    for function in app.pure_lambda_functions:
        if function.name == name:
            module_name, attribute = function.handler_string.rsplit(".", 1)
            return getattr(importlib.import_module(module_name), attribute)
    raise LookupError(f"the catalog names a function {name!r} that app.py does not declare")

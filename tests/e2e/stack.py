"""Start and stop the local stack exactly as `make run` does: ``python -m tools.devstack`` in a process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30  # seconds; the stack starts in about three
STOP_TIMEOUT = 5
WAIT_TIMEOUT = 15  # for anything a test waits on


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RunningStack:
    """One `python -m tools.devstack` process; its stdout and stderr go to ``output_file``."""

    def __init__(self, folder: Path, port: int | None = None, extra_args: tuple[str, ...] = ()):
        folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.state_file = folder / "local.json"
        self.output_file = folder / "stack.log"
        self.state: dict[str, Any] = {}
        environment = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            # tests/conftest.py quietens Powertools for in-process tests; these tests read its lines.
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        environment.pop("OPENPOST_PUBLIC_BASE_URL", None)
        with open(self.output_file, "wb") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tools.devstack",
                    "--port",
                    str(self.port),
                    "--state-file",
                    str(self.state_file),
                    *extra_args,
                ],
                cwd=REPO_ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=environment,
            )

    def wait_until_ready(self) -> RunningStack:
        self.wait_for(lambda: self.state_file.exists(), START_TIMEOUT, "the state file")
        self.state = json.loads(self.state_file.read_text())
        self.wait_for(self._port_open, START_TIMEOUT, f"port {self.port}")
        return self

    def stop(self) -> int:
        """SIGINT, as Ctrl-C sends; returns the exit code, or fails if the process outlives STOP_TIMEOUT."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired as exc:
                self.process.kill()
                self.process.wait()
                raise AssertionError(
                    f"the stack did not stop within {STOP_TIMEOUT} s of SIGINT:\n{self.output()}"
                ) from exc
        return self.process.returncode

    @property
    def base_url(self) -> str:
        return self.state["base_url"]

    def output(self) -> str:
        return self.output_file.read_text(errors="replace")

    def log_records(self) -> list[dict[str, Any]]:
        """The handlers' structured log lines (Powertools writes one JSON object per line)."""
        records = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    pass
        return records

    def wait_for_log(self, message: str, **fields: Any) -> dict[str, Any]:
        def found():
            return next(
                (
                    record
                    for record in self.log_records()
                    if record.get("message") == message
                    and all(record.get(key) == value for key, value in fields.items())
                ),
                None,
            )

        return self.wait_for(found, WAIT_TIMEOUT, f"log line {message!r} with {fields}")

    def wait_for(self, condition: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = condition()
            if result:
                return result
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the stack exited ({self.process.returncode}) while waiting for {what}:\n{self.output()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} after {timeout} s; the stack said:\n{self.output()}")
            time.sleep(0.1)

    def _port_open(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

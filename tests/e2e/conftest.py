"""One local stack for the whole e2e session, started and stopped as `make run` is."""

from __future__ import annotations

import pytest

from tests.e2e.stack import RunningStack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    running = RunningStack(tmp_path_factory.mktemp("stack"))
    try:
        running.wait_until_ready()
        yield running
    finally:
        exit_code = running.stop()
    assert exit_code == 0, f"the stack exited with {exit_code} after SIGINT:\n{running.output()}"

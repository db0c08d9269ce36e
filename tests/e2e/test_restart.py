"""Stopping is clean: the port is free again at once, and a taken port is a clear error, not a hang."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.e2e


def test_second_start_after_a_clean_stop_works(tmp_path):
    first = RunningStack(tmp_path / "first").wait_until_ready()
    assert requests.get(f"{first.base_url}/v1/openapi.json", timeout=10).status_code == 200
    assert first.stop() == 0
    assert not first.state_file.exists()  # its keys died with the stack

    second = RunningStack(tmp_path / "second", port=first.port)
    try:
        second.wait_until_ready()
        answer = requests.get(
            f"{second.base_url}/v1/integrations",
            timeout=10,
            headers={"Authorization": f"Bearer {second.state['test_key']}"},
        )
        assert answer.status_code == 200
    finally:
        assert second.stop() == 0, second.output()


def test_taken_port_fails_fast_with_a_message(stack, tmp_path):
    clash = RunningStack(tmp_path, port=stack.port)
    assert clash.process.wait(timeout=30) == 1
    assert f"cannot serve on 127.0.0.1:{stack.port}" in clash.output()
    assert not clash.state_file.exists()

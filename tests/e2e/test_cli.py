"""The guide's seven steps with the openpost CLI, as a shell script (tests/e2e/cli_seven_steps.sh)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_client import client_environment

pytestmark = pytest.mark.e2e
SCRIPT = Path(__file__).with_name("cli_seven_steps.sh")


def test_the_guides_seven_steps_with_the_cli(stack):
    environment = client_environment(stack)
    assert shutil.which("openpost", path=environment["PATH"]), "pip install -e ./client installs the command"
    assert shutil.which("bash") and shutil.which("curl")
    done = subprocess.run(["bash", str(SCRIPT)], env=environment, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    steps = [line.split(" ", 1)[0] for line in done.stdout.splitlines()]
    assert steps == ["1", "2", "3", "4", "5", "6", "7", "done"], done.stdout

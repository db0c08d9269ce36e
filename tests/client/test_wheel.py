"""The client builds as a wheel (``pip wheel ./client``) holding the package, its generated models
and the ``openpost`` command."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_client_builds_as_a_wheel(tmp_path):
    # No build isolation: the virtualenv's setuptools builds it, so the test needs no network.
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO / "client"), "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), "--quiet"],
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = tmp_path.glob("openpost-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("__init__", "models", "resources", "webhooks", "cli", "_client"):
        assert f"openpost/{module}.py" in names, names
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "openpost = openpost.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()

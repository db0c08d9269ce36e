"""Every adapter the registry can hand out keeps the contract the publishing engine relies on
(chalicelib/platforms/base.py): it says what it is in declarative attributes, and implements one
``publish``. The list is read from the registry, so an adapter added there is checked here too.

Each module is imported in a fresh interpreter, to prove it does not pull in atproto (about 1.5 s
of cold start) unless it is the Bluesky adapter, which needs it.
"""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from chalicelib.platforms.base import Platform
from chalicelib.platforms.registry import LIVE_ADAPTERS, SANDBOX_ADAPTER

ADAPTERS = sorted(LIVE_ADAPTERS.items()) + [("sandbox", SANDBOX_ADAPTER)]


def _load(path: str):
    module_name, _, class_name = path.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


@pytest.mark.parametrize("platform, path", ADAPTERS, ids=[name for name, _ in ADAPTERS])
def test_the_adapter_declares_what_it_is(platform, path):
    adapter = _load(path)
    assert issubclass(adapter, Platform)
    assert adapter.publish is not Platform.publish, "publish must be implemented"
    if platform == "sandbox":
        return   # the sandbox takes its name and habits from the platform it imitates, per integration
    assert adapter.name == platform
    assert adapter.thread_style in {"reply", "numbered"}
    assert isinstance(adapter.idempotent, bool)
    assert isinstance(adapter.max_images, int) and not isinstance(adapter.max_images, bool)
    assert adapter.max_images >= 1
    assert adapter.live is True


@pytest.mark.parametrize("platform, path", ADAPTERS, ids=[name for name, _ in ADAPTERS])
def test_the_adapter_imports_atproto_only_for_bluesky(platform, path):
    module_name = path.partition(":")[0]
    probe = f"import sys, {module_name}; print('atproto' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == ("True" if platform == "bluesky" else "False")


def test_every_platform_the_api_names_is_live_or_left_to_the_sandbox():
    from chalicelib.domain.platforms import PLATFORMS, THREAD_STYLE

    assert set(LIVE_ADAPTERS) <= set(PLATFORMS)
    for platform, path in LIVE_ADAPTERS.items():
        # The sandbox rehearses a platform as the live adapter will publish it.
        assert _load(path).thread_style == THREAD_STYLE[platform], platform


@pytest.mark.parametrize("platform", sorted(LIVE_ADAPTERS))
def test_the_sandbox_rehearses_the_same_idempotency(platform):
    from chalicelib.platforms.sandbox import IDEMPOTENT

    assert _load(LIVE_ADAPTERS[platform]).idempotent == (platform in IDEMPOTENT)


def test_the_api_imports_the_secrets_reader_only_when_an_app_secret_is_needed():
    """Lambda's init (app.py), an authenticated request's modules, the X connect routes and the X
    adapter leave Powertools' parameters utility (and the app secret reader) unimported: only the
    first read of a platform app's secret pays for them, and then they load."""
    probe = "\n".join([
        "import os, sys",
        "os.environ.setdefault('AWS_DEFAULT_REGION', 'us-east-1')",
        "import app, chalicelib.container, chalicelib.data.api_keys, chalicelib.domain.api_keys",
        "import chalicelib.api.connect_x, chalicelib.platforms.twitter",
        "lazy = ('aws_lambda_powertools.utilities.parameters', 'chalicelib.data.app_secrets')",
        "print(any(name in sys.modules for name in lazy))",
        "from chalicelib.container import Services",
        "from chalicelib.settings import Settings",
        "Services(Settings()).app_secrets",
        "print(all(name in sys.modules for name in lazy))",
    ])
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == ["False", "True"]

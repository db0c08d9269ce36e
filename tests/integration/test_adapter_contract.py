"""Every platform the registry finds keeps the contract the rest of openpost relies on: its
descriptor (chalicelib/platforms/descriptor.py) is complete and consistent, its live adapter (if it
has one) implements ``publish`` and agrees with the descriptor, and its module stays cheap to import.
The list is read from the registry, so a platform added as a package is checked here with no edit.

Each module is imported in a fresh interpreter, to prove it does not pull in atproto (about 1.5 s
of cold start) unless it is the Bluesky adapter, which needs it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import BaseModel

from chalicelib.clock import SystemClock
from chalicelib.platforms import registry
from chalicelib.platforms.base import Platform

NAMES = registry.names()
LIVE = [item.name for item in registry.descriptors() if item.adapter]
ADAPTERS = [(item.name, item.adapter) for item in registry.descriptors() if item.adapter] + [
    ("sandbox", registry.SANDBOX_ADAPTER)
]


def test_the_registry_finds_the_platforms():
    # The live adapters of today, and the platforms described ahead of their adapters.
    assert {"twitter", "bluesky", "mastodon", "discord", "slack", "telegram"} <= set(LIVE)
    assert {"linkedin", "threads", "instagram", "facebook", "tiktok", "youtube"} <= set(NAMES)


@pytest.mark.parametrize("platform", NAMES)
def test_the_platform_declares_what_it_is(platform):
    declared = registry.get(platform)
    assert declared.name == platform and declared.title
    assert declared.thread_style in {"reply", "numbered"}
    assert isinstance(declared.idempotent, bool)
    assert issubclass(declared.settings, BaseModel)
    assert declared.settings.model_validate({}) is not None  # every setting is optional
    assert declared.media.platform == platform and declared.media.name == declared.title
    assert declared.text.text and all(limit.maximum >= 1 for limit in declared.text.text)
    for alias in declared.aliases:
        assert registry.get(alias) is declared
    # The sandbox stands in with ids and URLs of the platform's shape.
    identity = declared.sandbox
    assert identity.username and identity.display_name
    clock = SystemClock()
    first, second = identity.post_id("integration-1", clock), identity.post_id("integration-1", clock)
    assert first and first != second
    url = identity.url.format(
        base="https://sandbox.example", platform=platform, handle="someone", id=first, rkey=first.rsplit("/", 1)[-1]
    )
    assert url.startswith("https://sandbox.example/")


@pytest.mark.parametrize("platform", NAMES)
def test_what_the_platform_declares_reaches_the_api(platform):
    from chalicelib.api.post_schemas import PlatformSettings
    from chalicelib.domain.integrations import SANDBOX_ACCOUNTS
    from chalicelib.domain.platforms import PLATFORMS, THREAD_STYLE
    from chalicelib.media.rules import RULES
    from chalicelib.text import PLATFORM_RULES

    declared = registry.get(platform)
    assert platform in PLATFORMS and THREAD_STYLE[platform] == declared.thread_style
    assert platform in PlatformSettings.model_fields
    assert RULES[platform] is declared.media
    assert [limit.maximum for limit in PLATFORM_RULES[platform].text] == [item.maximum for item in declared.text.text]
    assert (platform, declared.sandbox.username, declared.sandbox.display_name) in SANDBOX_ACCOUNTS


@pytest.mark.parametrize("platform, path", ADAPTERS, ids=[name for name, _ in ADAPTERS])
def test_the_adapter_declares_what_it_is(platform, path):
    adapter = registry.load(path)
    assert issubclass(adapter, Platform)
    assert adapter.publish is not Platform.publish, "publish must be implemented"
    if platform == "sandbox":
        return  # the sandbox takes its name and habits from the platform it imitates, per integration
    declared = registry.get(platform)
    assert adapter.descriptor is declared
    assert adapter.name == platform
    # The sandbox rehearses a platform as the live adapter will publish it: same threads, same
    # idempotency, both read from the one declaration.
    assert adapter.thread_style == declared.thread_style
    assert adapter.idempotent is declared.idempotent
    assert isinstance(adapter.max_images, int) and not isinstance(adapter.max_images, bool)
    assert adapter.max_images >= 1


@pytest.mark.parametrize("platform", NAMES)
def test_the_platform_module_is_cheap_to_import(platform):
    """A descriptor is read when the API starts: it loads no HTTP client and no platform SDK."""
    probe = (
        f"import sys, chalicelib.platforms.{platform}; "
        "print(sorted(name for name in ('requests', 'atproto', 'httpx') if name in sys.modules))"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "[]"


@pytest.mark.parametrize("platform, path", ADAPTERS, ids=[name for name, _ in ADAPTERS])
def test_the_adapter_imports_atproto_only_for_bluesky(platform, path):
    module_name = path.partition(":")[0]
    probe = f"import sys, {module_name}; print('atproto' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == ("True" if platform == "bluesky" else "False")


def test_the_api_imports_no_platform_code_at_start():
    """Lambda's init (app.py) reads every platform's descriptor, and loads none of their adapters,
    no HTTP client and no platform SDK."""
    probe = "\n".join(
        [
            "import os, sys",
            "os.environ.setdefault('AWS_DEFAULT_REGION', 'us-east-1')",
            "import app",
            "heavy = ('requests', 'atproto', 'httpx')",
            "print(sorted(name for name in sys.modules if name in heavy or name.endswith('.adapter')))",
            "from chalicelib.platforms import registry",
            "print(len(registry.names()) >= 12)",
        ]
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    assert found.stdout.split("\n")[:2] == ["[]", "True"]


def test_the_api_imports_the_secrets_reader_only_when_an_app_secret_is_needed():
    """Lambda's init (app.py), an authenticated request's modules, the X connect routes and the X
    adapter leave Powertools' parameters utility (and the app secret reader) unimported: only the
    first read of a platform app's secret pays for them, and then they load."""
    probe = "\n".join(
        [
            "import os, sys",
            "os.environ.setdefault('AWS_DEFAULT_REGION', 'us-east-1')",
            "import app, chalicelib.container, chalicelib.data.api_keys, chalicelib.domain.api_keys",
            "import chalicelib.api.connect, chalicelib.platforms.twitter.connect, chalicelib.platforms.twitter.adapter",
            "lazy = ('aws_lambda_powertools.utilities.parameters', 'chalicelib.data.app_secrets')",
            "print(any(name in sys.modules for name in lazy))",
            "from chalicelib.container import Services",
            "from chalicelib.settings import Settings",
            "Services(Settings()).app_secrets",
            "print(all(name in sys.modules for name in lazy))",
        ]
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == ["False", "True"]


READERS = [(item.name, item.metrics) for item in registry.descriptors() if item.metrics is not None]


def test_the_platforms_with_metrics_and_those_without():
    assert {"twitter", "bluesky", "mastodon", "threads", "discord", "slack"} <= {name for name, _ in READERS}
    assert registry.get("telegram").metrics is None


@pytest.mark.parametrize("platform, metrics", READERS, ids=[name for name, _ in READERS])
def test_the_metrics_reader_keeps_the_contract(platform, metrics):
    from chalicelib.platforms.metrics import METRIC_NAMES, MetricsReader

    reader = registry.load(metrics.reader)
    assert issubclass(reader, MetricsReader) and reader.read is not MetricsReader.read
    assert metrics.batch >= 1 and metrics.exposes and metrics.exposes <= set(METRIC_NAMES)
    # The sandbox's generic counts, in the platform's own shape and back: what the platform counts
    # comes through, and the rest is null.
    generic = {"impressions": 900, "likes": 40, "replies": 5, "reposts": 3, "quotes": 2, "bookmarks": 1}
    reading = reader.counts(reader.sample(generic))
    for name in METRIC_NAMES:
        value = getattr(reading, name)
        assert (value is not None) == (name in metrics.exposes), name
    assert reading.likes == 40 and reading.platform_data
    if "comments" in metrics.exposes:
        assert reading.comments == 5


@pytest.mark.parametrize("platform, metrics", READERS, ids=[name for name, _ in READERS])
def test_the_metrics_reader_loads_no_platform_sdk(platform, metrics):
    """Reading counters is plain HTTP: even Bluesky's reader leaves atproto (1.5 s) unloaded."""
    module_name = metrics.reader.partition(":")[0]
    probe = f"import sys, {module_name}; print('atproto' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "False"

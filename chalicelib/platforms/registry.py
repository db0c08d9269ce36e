"""Which adapter serves an integration. Modules are imported on first use only, so a function that
never publishes to Bluesky never pays for atproto."""
from __future__ import annotations

import importlib
from typing import Any, Dict, Optional

from chalicelib.platforms.base import PermanentError, Platform

# platform name -> "module:Class" of its live adapter. A platform absent here has no live adapter yet.
LIVE_ADAPTERS: Dict[str, str] = {
    "twitter": "chalicelib.platforms.twitter:Twitter",
    "mastodon": "chalicelib.platforms.mastodon:Mastodon",
    "discord": "chalicelib.platforms.discord:Discord",
    "slack": "chalicelib.platforms.slack:Slack",
    "telegram": "chalicelib.platforms.telegram:Telegram",
    "bluesky": "chalicelib.platforms.bluesky:Bluesky",
}
SANDBOX_ADAPTER = "chalicelib.platforms.sandbox:Sandbox"


def _load(path: str):
    module_name, _, class_name = path.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def adapter_for(integration, credentials: Optional[Dict[str, Any]] = None, **options: Any) -> Platform:
    """The adapter for this integration: the sandbox for test-mode accounts, else the platform's own."""
    if integration.sandbox:
        return _load(SANDBOX_ADAPTER)(integration, credentials, **options)
    path = LIVE_ADAPTERS.get(integration.platform)
    if path is None:
        raise PermanentError(f"Publishing to {integration.platform} is not available yet.",
                             code="platform_not_available")
    return _load(path)(integration, credentials, **options)

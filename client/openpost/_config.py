"""Where the client finds its key and URL: arguments first, then OPENPOST_API_KEY and
OPENPOST_BASE_URL, then the local stack's state file (``.openpost/local.json``, written by
``make run``, found from the current folder upwards)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from openpost.errors import ConfigurationError

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
LOCAL_STATE = Path(".openpost") / "local.json"


@dataclass(frozen=True)
class Settings:
    api_key: str
    base_url: str


def local_state(start: Path | None = None) -> dict:
    """The running local stack's state file, if one is found from ``start`` upwards."""
    explicit = os.environ.get("OPENPOST_LOCAL_STATE")
    candidates = [Path(explicit)] if explicit else []
    folder = (start or Path.cwd()).resolve()
    candidates += [parent / LOCAL_STATE for parent in (folder, *folder.parents)]
    for candidate in candidates:
        try:
            return json.loads(candidate.read_text())
        except (OSError, ValueError):
            continue
    return {}


def resolve(api_key: str | None = None, base_url: str | None = None, *, live: bool = False) -> Settings:
    api_key = api_key or os.environ.get("OPENPOST_API_KEY")
    base_url = base_url or os.environ.get("OPENPOST_BASE_URL")
    if not api_key or not base_url:
        state = local_state()
        api_key = api_key or state.get("live_key" if live else "test_key")
        base_url = base_url or state.get("base_url")
    if not api_key:
        raise ConfigurationError(
            "No API key: pass api_key=..., set OPENPOST_API_KEY, or start the local stack (make run)."
        )
    return Settings(api_key=api_key, base_url=(base_url or DEFAULT_BASE_URL).rstrip("/"))

"""Platform names as the API accepts them, and how threads go out on each.

All of it is derived from the platforms' own declarations (chalicelib/platforms/<name>/, found by
chalicelib/platforms/registry.py): adding a platform adds its name here without an edit.
"""

from __future__ import annotations

from typing import Literal

from chalicelib.platforms import registry
from chalicelib.platforms.descriptor import PlatformDescriptor, http_url  # noqa: F401  (for the API's models)

PLATFORMS = registry.names()
ALIASES = registry.aliases()

# A platform name, as a type: the API's schema lists the names.
PlatformName = Literal[PLATFORMS]  # type: ignore[valid-type]

# How a thread (segments) goes out on each platform (004, "Threaded Posts"):
# "reply": each part replies to the previous one (a native reply chain or message thread);
# "numbered": separate posts with an " (i/n)" counter, where the platform has no thread of its own.
THREAD_STYLE = {item.name: item.thread_style for item in registry.descriptors()}


def canonical(name: str) -> str:
    """The canonical name of a platform, accepting aliases and any case ("X" is "twitter")."""
    return registry.canonical(name.strip().lower())


def describe(name: str) -> PlatformDescriptor:
    """Everything the platform declares (its descriptor); KeyError for an unknown one."""
    return registry.get(name)


def numbered_suffix(index: int, total: int) -> str:
    """The counter appended to part ``index`` (1-based) of ``total`` on a "numbered" platform."""
    return f" ({index}/{total})"

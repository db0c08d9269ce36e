"""Platform names, as the API accepts them."""
from __future__ import annotations

from typing import Literal

PLATFORMS = ("twitter", "bluesky", "mastodon", "discord", "slack", "telegram", "linkedin", "threads",
             "instagram", "facebook", "tiktok", "youtube")
ALIASES = {"x": "twitter"}

PlatformName = Literal["twitter", "bluesky", "mastodon", "discord", "slack", "telegram", "linkedin", "threads",
                       "instagram", "facebook", "tiktok", "youtube"]


def canonical(name: str) -> str:
    """The canonical name of a platform, accepting aliases ("x" is "twitter")."""
    name = name.strip().lower()
    return ALIASES.get(name, name)

# How a thread (segments) goes out on each platform (004, "Threaded Posts"):
# "reply": each part replies to the previous one (a native reply chain or message thread);
# "numbered": separate posts with an " (i/n)" counter, where the platform has no thread of its own.
THREAD_STYLE = {
    "twitter": "reply", "bluesky": "reply", "mastodon": "reply", "threads": "reply",
    "discord": "reply", "slack": "reply", "telegram": "reply",
    "linkedin": "numbered", "facebook": "numbered", "instagram": "numbered", "youtube": "numbered",
    "tiktok": "numbered",
}


def numbered_suffix(index: int, total: int) -> str:
    """The counter appended to part ``index`` (1-based) of ``total`` on a "numbered" platform."""
    return f" ({index}/{total})"

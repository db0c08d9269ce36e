"""The units platforms count text in: stable names, names for people, and the counter of each.

Kept free of the counters' own imports (X's weighted length loads URL and emoji tables): platform
descriptors name a unit when the API starts, and a counter is loaded only when something is counted.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

WEIGHTED = "weighted_characters"  # X's weights: see twitter.py
GRAPHEMES = "graphemes"
MASTODON_CHARACTERS = "characters"  # graphemes, with URLs and remote mentions shortened
CODE_POINTS = "code_points"
UTF16_UNITS = "utf16_code_units"
UTF8_BYTES = "utf8_bytes"
UNIT_NAMES = {
    WEIGHTED: "weighted characters",
    GRAPHEMES: "graphemes",
    MASTODON_CHARACTERS: "characters",
    CODE_POINTS: "characters",
    UTF16_UNITS: "UTF-16 code units",
    UTF8_BYTES: "UTF-8 bytes",
}

# unit -> "module:function" of its counting rule. The rules are generic (a unit, not a platform):
# X's weighted count and Mastodon's status length are algorithms those platforms published, which
# any platform may adopt.
_COUNTERS = {
    WEIGHTED: "chalicelib.text.twitter:weighted_length",
    GRAPHEMES: "chalicelib.text.graphemes:grapheme_count",
    MASTODON_CHARACTERS: "chalicelib.text.mastodon:status_length",
    CODE_POINTS: "chalicelib.text.plain:code_points",
    UTF16_UNITS: "chalicelib.text.plain:utf16_code_units",
    UTF8_BYTES: "chalicelib.text.plain:utf8_bytes",
}
_loaded: dict[str, Callable[[str], int]] = {}


def counter(unit: str) -> Callable[[str], int]:
    """The function that counts ``unit``; ValueError for a unit no rule counts."""
    found = _loaded.get(unit)
    if found is None:
        try:
            module_name, _, function = _COUNTERS[unit].partition(":")
        except KeyError:
            raise ValueError(f"no counting rule for unit {unit!r}") from None
        found = _loaded[unit] = getattr(importlib.import_module(module_name), function)
    return found

"""Regional indicators (U+1F1E6-U+1F1FF, two of which make a flag), read in bytes at C speed.

A run of them is where a regex over the text does the most work per character (X's flags; the
grapheme count reads them among its break classes, graphemes.py): here each character of a text
becomes one byte, its letter, with bulk bytes operations, so a post of indicators costs what a
plain post costs.
"""

from __future__ import annotations

import re

from chalicelib.text._classes import outside_bmp

NONE = 26  # the byte of a character that is not a regional indicator

_INDICATOR = re.compile("[\U0001f1e6-\U0001f1ff]")
# In UTF-32 (little-endian) an indicator is E6-FF, F1, 01, 00.
_IS = {value: bytes(0xFF if byte == value else 0 for byte in range(256)) for value in (0xF1, 0x01)}
_LOW_IS_INDICATOR = bytes(0xFF if byte >= 0xE6 else 0 for byte in range(256))
_LETTER = bytes(byte - 0xE6 if byte >= 0xE6 else NONE for byte in range(256))


def letters(text: str) -> bytes | None:
    """One byte per character of ``text``: 0-25 for the indicator of each letter A-Z, ``NONE``
    for any other character; None when ``text`` holds no indicator."""
    # Indicators lie outside the Basic Multilingual Plane: a text within it (its UTF-16 no longer
    # than two bytes a character) has none, and that is found faster than by a search.
    if not outside_bmp(text) or not _INDICATOR.search(text):
        return None
    encoded = text.encode("utf-32-le", "surrogatepass")
    lows = encoded[0::4]
    size = len(text)
    indicator = (
        int.from_bytes(lows.translate(_LOW_IS_INDICATOR), "little")
        & int.from_bytes(encoded[1::4].translate(_IS[0xF1]), "little")
        & int.from_bytes(encoded[2::4].translate(_IS[0x01]), "little")
    )
    other = int.from_bytes(b"\xff" * size, "little") ^ indicator
    return (
        (int.from_bytes(lows.translate(_LETTER), "little") & indicator)
        | (int.from_bytes(bytes([NONE]) * size, "little") & other)
    ).to_bytes(size, "little")

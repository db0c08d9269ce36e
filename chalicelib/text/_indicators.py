"""Regional indicators (U+1F1E6-U+1F1FF, two of which make a flag), read in bytes at C speed.

A run of them is where a regex over the text does the most work per character (X's flags; the
grapheme count reads them among its break classes, graphemes.py): here each character of a text
becomes one byte, its letter, with bulk bytes operations, so a post of indicators costs what a
plain post costs.
"""

from __future__ import annotations

import re

from chalicelib.text._classes import EQUAL, distinct, outside_bmp, recoded

NONE = 26  # the byte of a character that is not a regional indicator

_INDICATOR = re.compile("[\U0001f1e6-\U0001f1ff]")
# In UTF-32 (little-endian) an indicator is E6-FF, F1, 01, 00.
_LOW_IS_INDICATOR = bytes(0xFF if byte >= 0xE6 else 0 for byte in range(256))
_LETTER = bytes(byte - 0xE6 if byte >= 0xE6 else NONE for byte in range(256))


def _indicator_mask(encoded: bytes, lows: bytes) -> int:
    """0xFF at each character of the UTF-32 (little-endian) text ``encoded`` that is a regional
    indicator (U+1F1E6-U+1F1FF), else 0, one byte a character, as an integer; ``lows`` is
    ``encoded[0::4]``, which the caller has already read."""
    return (
        int.from_bytes(lows.translate(_LOW_IS_INDICATOR), "little")
        & int.from_bytes(encoded[1::4].translate(EQUAL[0xF1]), "little")
        & int.from_bytes(encoded[2::4].translate(EQUAL[0x01]), "little")
    )


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
    indicator = _indicator_mask(encoded, lows)
    # The letters where the indicators are, NONE elsewhere (the ones and the mask are arithmetic,
    # each conversion of a post's bytes to an integer costing some 30 µs).
    ones = ((1 << 8 * size) - 1) // 0xFF
    letters = int.from_bytes(lows.translate(_LETTER), "little")
    return (((letters ^ ones * NONE) & indicator) ^ ones * NONE).to_bytes(size, "little")


# --- stand-ins, for the normaliser ----------------------------------------------------------------
# CPython's NFC looks up every character it keeps in a table of the characters that compose with
# what follows them, read from the start until it passes the character's code point: some 85 ns
# for a character past the table's end, as every indicator is, against a few for a control
# character, before the table's first entry. An indicator is settled in NFC (class 0, no
# decomposition, composing with nothing on either side), as these control characters are, so a
# text's indicators may stand in as them, one for each letter, while it is normalised.
STAND_INS = "".join(map(chr, (*range(0x01, 0x09), *range(0x0E, 0x20))))
assert len(STAND_INS) == 26
HOLDS_A_STAND_IN = re.compile(f"[{re.escape(STAND_INS)}]")

_LETTER_TO_STAND_IN = bytes(ord(STAND_INS[byte - 0xE6]) if byte >= 0xE6 else 0 for byte in range(256))
_STAND_IN_TO_LETTER = bytes(0xE6 + STAND_INS.index(chr(byte)) if chr(byte) in STAND_INS else 0 for byte in range(256))
_LOW_IS_STAND_IN = bytes(0xFF if chr(byte) in STAND_INS else 0 for byte in range(256))


# Up to this many letters, their indicators are replaced one letter at a time (``str.replace``, some
# 40 µs a letter for a post, each way); more are recoded all at once, in bulk (some 0.7 ms a way).
_FEW_LETTERS = 8
_INDICATOR_LOWS = bytes(range(0xE6, 0x100))
_OTHER_LOWS = bytes(range(0xE6))


def with_stand_ins(text: str) -> tuple[str, str] | None:
    """``text`` with each indicator replaced by its stand-in (see ``STAND_INS``), and the indicators
    that may have been; None when it holds none, or a stand-in of its own, which could not be told
    apart when they are put back."""
    if HOLDS_A_STAND_IN.search(text):
        return None
    encoded = text.encode("utf-32-le", "surrogatepass")
    lows = encoded[0::4]
    # Each low byte an indicator has names a letter it may be (another character may share it).
    letters = distinct(lows.translate(None, _OTHER_LOWS), _FEW_LETTERS + 1)
    if letters is not None:
        indicators = "".join(chr(0x1F100 + low) for low in letters)
        replaced = text
        for indicator in indicators:
            replaced = replaced.replace(indicator, STAND_INS[ord(indicator) - 0x1F1E6])
        return None if replaced is text else (replaced, indicators)
    indicator = _indicator_mask(encoded, lows)
    if not indicator:
        return None
    return recoded(encoded, indicator, lows.translate(_LETTER_TO_STAND_IN), 0, 0), _EVERY_INDICATOR


_EVERY_INDICATOR = "".join(chr(0x1F100 + low) for low in _INDICATOR_LOWS)


def without_stand_ins(text: str, indicators: str) -> str:
    """``text`` with each stand-in replaced by its indicator: ``with_stand_ins`` undone, given the
    indicators it gave."""
    if len(indicators) <= _FEW_LETTERS:
        for indicator in indicators:
            text = text.replace(STAND_INS[ord(indicator) - 0x1F1E6], indicator)
        return text
    encoded = text.encode("utf-32-le", "surrogatepass")
    lows = encoded[0::4]
    stand_in = (
        int.from_bytes(lows.translate(_LOW_IS_STAND_IN), "little")
        & int.from_bytes(encoded[1::4].translate(EQUAL[0]), "little")
        & int.from_bytes(encoded[2::4].translate(EQUAL[0]), "little")
    )
    return recoded(encoded, stand_in, lows.translate(_STAND_IN_TO_LETTER), 0xF1, 0x01)

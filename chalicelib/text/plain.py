"""Plain length counters: what most platforms mean by "characters".

Platforms disagree on what a character is, and a count in the wrong unit is how a post that looked
fine in our API gets refused at publish time. The three units in use:

- code points: one per Unicode scalar, what Python's ``len`` counts. Discord and Telegram count so.
- UTF-16 code units: what JavaScript's ``.length`` and Java's ``String.length()`` count; a character
  outside the Basic Multilingual Plane (most emoji, rarer CJK) counts two.
- UTF-8 bytes: the size of the encoded text; 1 for ASCII, 2-4 for everything else.

Text from JSON can hold a lone surrogate ("\\ud83d" with no partner). It is counted as the platform
would see it: one UTF-16 code unit, three bytes in the generalised UTF-8 that JSON decoders produce.
"""

from __future__ import annotations


def code_points(text: str) -> int:
    """Unicode scalar values (and lone surrogates), one each."""
    return len(text)


def utf16_code_units(text: str) -> int:
    """UTF-16 code units: two for each character above U+FFFF, one for every other."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf8_bytes(text: str) -> int:
    """Bytes of the UTF-8 encoding."""
    return len(text.encode("utf-8", "surrogatepass"))

"""User-perceived characters: extended grapheme clusters as Unicode (UAX #29) defines them.

Bluesky limits a post to 300 graphemes (and 3000 UTF-8 bytes, see ``plain.utf8_bytes``);
Mastodon counts graphemes too. A grapheme is what a reader sees as one character: "e" plus a
combining accent, a flag made of two regional indicators, a family emoji of seven code points
joined by zero-width joiners, a keycap, "\\r\\n".

The segmentation rules are long and change with each Unicode version, so we use the ``regex``
package's ``\\X`` rather than our own code. It is imported on first use, not at import time: most
Lambda functions never count text and should not pay for it in a cold start.
"""

from __future__ import annotations

import functools


@functools.cache
def _grapheme_pattern():
    import regex

    return regex.compile(r"\X")


def grapheme_count(text: str) -> int:
    """Number of extended grapheme clusters in ``text``."""
    if text.isascii() and "\r\n" not in text:
        # Every ASCII character is its own grapheme, except a CR followed by LF.
        return len(text)
    return sum(1 for _ in _grapheme_pattern().finditer(text))

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

import collections
import functools

from chalicelib.text import _indicators

# Regional indicators pair up from the start of a run: a flag is two of them. The ``regex``
# package's \X finds the pairs by looking back over the whole run from each one, which takes
# quadratic time on a long run (a 40,000-long run took 3 s). So \X never sees two in a row: they
# are counted apart, in bytes (``_indicators.pairs``), and are otherwise read as a letter of
# class Other would be, which joins the marks after it and a Prepend before it, and nothing else
# (UAX #29, GB9-GB9b, GB999).


@functools.cache
def _grapheme_pattern():
    import regex

    return regex.compile(r"\X")


@functools.cache
def _joining_stretch():
    import regex

    # Characters of break class Other, Control or LF never join one another (UAX #29: GB4, GB5,
    # GB999; the Indic conjunct rule GB9c needs a linker between consonants), so two of them in
    # a row always have a boundary between them. Everything else may join a neighbour: a stretch
    # of those, with one such character on each side, is the only place \X has work to do.
    # Regional indicators count among them here (see above). The stretch is found from its first
    # joining character, which the engine finds fast, and the one before it, if any, is taken in
    # a lookbehind: a pattern starting with an optional character is tried at every position.
    # Within a stretch, a character of those classes may join both sides only as the second
    # consonant of a conjunct (GB9c) or the pictograph after a zero-width joiner (GB11); any other
    # ends the stretch, and starts the next as its first character if a joining one follows (the
    # two joins it may take part in are then read apart, one in each). So a text with an accent
    # on every letter is many short stretches, most of them alike, not one long one.
    alone = r"[\p{GCB=Other}\p{GCB=Control}\p{GCB=LF}\p{GCB=Regional_Indicator}]"
    joining = r"[^\p{GCB=Other}\p{GCB=Control}\p{GCB=LF}\p{GCB=Regional_Indicator}]"
    both_ways = r"[\p{GCB=Other}&&[\p{Extended_Pictographic}\p{InCB=Consonant}]]"
    return regex.compile(
        rf"(?<=({alone})|^)({joining}+(?:{both_ways}{joining}+)*{alone}?)",
        regex.VERSION1,
    )


def grapheme_count(text: str) -> int:
    """Number of extended grapheme clusters in ``text``."""
    if text.isascii() and "\r\n" not in text:
        # Every ASCII character is its own grapheme, except a CR followed by LF.
        return len(text)
    letters = _indicators.letters(text)
    flags = 0 if letters is None else _indicators.pairs(letters)
    # One per character, less what the joining stretches fold together. \X costs ~0.2 µs a
    # character, so it reads only those, at once: a NUL between them joins nothing (GB4, GB5).
    # Where they are mostly repeats (text in a script whose every syllable joins, or a hostile
    # unit repeated), each distinct one is read once.
    stretches = list(map("".join, _joining_stretch().findall(text)))
    distinct = collections.Counter(stretches)
    if len(distinct) * _REPEATS < len(stretches):
        graphemes = _grapheme_pattern().findall
        return len(text) - flags - sum((len(s) - len(graphemes(s))) * n for s, n in distinct.items())
    joined = "\0".join(stretches)
    return len(text) - flags - len(joined) + len(_grapheme_pattern().findall(joined))


_REPEATS = 8

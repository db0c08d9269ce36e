"""User-perceived characters: extended grapheme clusters as Unicode (UAX #29) defines them.

Bluesky limits a post to 300 graphemes (and 3000 UTF-8 bytes, see ``plain.utf8_bytes``);
Mastodon counts graphemes too. A grapheme is what a reader sees as one character: "e" plus a
combining accent, a flag made of two regional indicators, a family emoji of seven code points
joined by zero-width joiners, a keycap, "\\r\\n".

The count is the number of characters less the places between two characters that are not a
boundary. The rules that decide a place read the break class of the characters around it, so
each character's class is read in bytes (``_classes``), and the places each rule joins are
counted with bulk bytes operations, at C speed: a text with an accent on every letter costs
what a plain one does. Reading each cluster with a regex (the ``regex`` package's ``\\X``) cost
some 150 ns a cluster, and took quadratic time on a long run of regional indicators.

The classes come from the ``regex`` package's Unicode data, and the count is exactly the number
of ``\\X`` matches (tests/unit/test_text_hostile.py compares them); that package is imported on
first use, not at import time: most Lambda functions never count text and should not pay for it
in a cold start.
"""

from __future__ import annotations

import functools
import re

from chalicelib.text import _classes


def grapheme_count(text: str) -> int:
    """Number of extended grapheme clusters in ``text``."""
    if text.isascii() and "\r\n" not in text:
        # Every ASCII character is its own grapheme, except a CR followed by LF.
        return len(text)
    return len(text) - _joins(_classes.classes(text, _break_classes))


# Grapheme break classes (UAX #29), with the two properties its rules read besides: Extended
# Pictographic (GB11) and Indic_Conjunct_Break (GB9c). One byte each, as ``_classes`` gives them.
(OTHER, CR, LF, CONTROL, EXTEND, EXTEND_LINKER, EXTEND_PLAIN, ZWJ, SPACING_MARK, PREPEND) = range(10)
(L, V, T, LV, LVT, REGIONAL_INDICATOR, PICTOGRAPH, CONSONANT, OTHER_LINKER) = range(10, 19)
_CLASS_OF = {
    ("Other", False, "None"): OTHER,
    ("CR", False, "None"): CR,
    ("LF", False, "None"): LF,
    ("Control", False, "None"): CONTROL,
    ("Extend", False, "Extend"): EXTEND,
    ("Extend", False, "Linker"): EXTEND_LINKER,
    ("Extend", False, "None"): EXTEND_PLAIN,
    ("ZWJ", False, "Extend"): ZWJ,
    ("SpacingMark", False, "None"): SPACING_MARK,
    ("Prepend", False, "None"): PREPEND,
    ("L", False, "None"): L,
    ("V", False, "None"): V,
    ("T", False, "None"): T,
    ("LV", False, "None"): LV,
    ("LVT", False, "None"): LVT,
    ("Regional_Indicator", False, "None"): REGIONAL_INDICATOR,
    ("Other", True, "None"): PICTOGRAPH,
    ("Other", False, "Consonant"): CONSONANT,
    ("Other", False, "Linker"): OTHER_LINKER,
}
_BREAK_VALUES = ("CR", "LF", "Control", "Extend", "ZWJ", "SpacingMark", "Prepend", "L", "V", "T", "LV", "LVT")
_BREAK_VALUES += ("Regional_Indicator",)


@functools.cache
def _break_classes(block: int) -> bytes:
    """The class of each code point of a block of 256. Most blocks (letters, CJK, unassigned)
    are all OTHER: one search tells, before each property is read."""
    characters = _classes.block_characters(block)
    if not _not_plain_other().search(characters):
        return bytes(256)

    gcb = ["Other"] * 256
    for value in _BREAK_VALUES:
        for low in _classes.having(f"GCB={value}", characters):
            gcb[low] = value
    incb = ["None"] * 256
    for value in _INCB_VALUES:
        for low in _classes.having(f"InCB={value}", characters):
            incb[low] = value
    pictographic = _classes.having("Extended_Pictographic", characters)
    found = bytearray(256)
    for low in range(256):
        key = (gcb[low], low in pictographic, incb[low])
        if key not in _CLASS_OF:
            # A newer Unicode than these rules were written for: see the test of every block.
            raise ValueError(f"U+{block * 256 + low:04X} has grapheme properties {key} no rule here expects")
        found[low] = _CLASS_OF[key]
    return bytes(found)


_INCB_VALUES = ("Consonant", "Extend", "Linker")


@functools.cache
def _not_plain_other():
    import regex

    return regex.compile(
        r"[^\p{GCB=Other}]|\p{Extended_Pictographic}|[\p{InCB=Consonant}\p{InCB=Extend}\p{InCB=Linker}]"
    )


def _table(mapping: dict[int, int], default: int = 0) -> bytes:
    return bytes(mapping.get(value, default) for value in range(256))


_CONTROLS = (CR, LF, CONTROL)
_JOINS_PREVIOUS = (EXTEND, EXTEND_LINKER, EXTEND_PLAIN, ZWJ, SPACING_MARK)  # GB9, GB9a
_AS_CONTROL_OR_MARK = _table(
    {**dict.fromkeys(_CONTROLS, ord("c")), **dict.fromkeys(_JOINS_PREVIOUS, ord("e"))}, ord("o")
)
_AS_PREPEND = _table({**dict.fromkeys(_CONTROLS + _JOINS_PREVIOUS, ord("c")), PREPEND: ord("p")}, ord("o"))
_HANGUL = (L, V, T, LV, LVT)
_IS = {value: _table({value: 1}) for value in _HANGUL + (REGIONAL_INDICATOR,)}
_IS_LETTER = {letter: _table({letter: 0xFF}) for letter in b"pz"}


# GB9c, as the regex package applies it: a run of Extend or Linker (Indic_Conjunct_Break) with a
# linker among it joins the consonant after it, whatever comes before the run (UAX #29 also asks
# for a consonant there; the count follows ``\X``). With the run's Extend and joiners deleted, such
# a run is linkers ("l") right before the consonant ("c"): one "lc" a join, counted at C speed.
_AS_CONJUNCT = _table({EXTEND_LINKER: ord("l"), OTHER_LINKER: ord("l"), CONSONANT: ord("c")}, ord("o"))
_CONJUNCT_EXTEND = bytes((EXTEND, ZWJ))
# GB11: a pictograph, then Extend, then a zero-width joiner, joins the next pictograph. Each match
# is the pictograph and the run after it, read possessively, so a long run costs one pass; led by
# the pictograph, the search skips to the next one at C speed (led by a lookbehind, it was tried
# at every character).
_PICTOGRAPH_SEQUENCE = re.compile(
    rb"%s%s*+%s(?=%s)"
    % (
        _classes.any_of([PICTOGRAPH]),
        _classes.any_of([EXTEND, EXTEND_LINKER, EXTEND_PLAIN]),
        _classes.any_of([ZWJ]),
        _classes.any_of([PICTOGRAPH]),
    )
)
# With a joiner in this many characters or more, the joins are counted in bulk instead (a few
# passes over the text, some 0.25 ms for a post) than matched (some 50 ns a join).
_CHARACTERS_PER_JOINER = 16
# Read as pictographs ("p"), joiners ("z") and Extend ("e"): an Extend right after a joiner keeps
# it from joining (it becomes "o"), and the others, between a pictograph and its joiner, are
# deleted; then each joiner between two pictographs joins (as a chain "pzpzp" holds two).
_AS_PICTOGRAPH_SEQUENCE = _table(
    {PICTOGRAPH: ord("p"), ZWJ: ord("z"), **dict.fromkeys((EXTEND, EXTEND_LINKER, EXTEND_PLAIN), ord("e"))}, ord("o")
)


def _pictograph_joins(found: bytes) -> int:
    if found.count(bytes((ZWJ,))) * _CHARACTERS_PER_JOINER < len(found):
        return len(_PICTOGRAPH_SEQUENCE.findall(found))
    return _pictograph_joins_in_bulk(found)


def _pictograph_joins_in_bulk(found: bytes) -> int:
    reduced = found.translate(_AS_PICTOGRAPH_SEQUENCE).replace(b"ze", b"zo").replace(b"e", b"")
    pictographs = int.from_bytes(reduced.translate(_IS_LETTER[ord("p")]), "little")
    joiners = int.from_bytes(reduced.translate(_IS_LETTER[ord("z")]), "little")
    return (joiners & (pictographs << 8) & (pictographs >> 8)).bit_count() // 8


def _joins(found: bytes) -> int:
    """How many places between two characters are not grapheme boundaries, given their classes.
    Each place is decided by the first rule of UAX #29 that applies to it; those rules read at
    most the two characters around it, except GB9c, GB11 and GB12/13, read from runs."""
    # GB3: CR LF.
    joins = found.count(bytes((CR, LF)))
    # GB4, GB5 then GB9, GB9a: a mark or a joiner joins what comes before it, unless it is first
    # or follows a control. ("ce" pairs cannot overlap, so ``count`` finds them all.)
    marks = found.translate(_AS_CONTROL_OR_MARK)
    joins += marks.count(b"e") - marks.count(b"ce") - marks.startswith(b"e")
    # GB9b: a Prepend joins what follows, unless a control follows (or a mark, counted above).
    if bytes((PREPEND,)) in found:
        prepends = found.translate(_AS_PREPEND)
        joins += prepends.count(b"p") - prepends.endswith(b"p") - prepends.count(b"pc")
    # GB6-GB8: Hangul syllables. Every join holds a jamo (L, V or T): Korean written in syllables
    # (LV, LVT) has none, and is not read (five passes and big-integer masks).
    if any(bytes((value,)) in found for value in (L, V, T)):
        joins += _hangul_joins(found)
    if bytes((CONSONANT,)) in found and (bytes((EXTEND_LINKER,)) in found or bytes((OTHER_LINKER,)) in found):
        joins += found.translate(_AS_CONJUNCT, _CONJUNCT_EXTEND).count(b"lc")
    if bytes((ZWJ, PICTOGRAPH)) in found:  # a joined pictograph follows its joiner
        joins += _pictograph_joins(found)
    # GB12, GB13: regional indicators pair up from the start of each run.
    if bytes((REGIONAL_INDICATOR,)) in found:
        joins += found.translate(_IS[REGIONAL_INDICATOR]).count(b"\x01\x01")
    return joins


def _hangul_joins(found: bytes) -> int:
    lead, vowel, tail, lv, lvt = (int.from_bytes(found.translate(_IS[value]), "little") for value in _HANGUL)
    # Bit 8i stands for character i; shifted left by 8, for the character before it.
    joined = (lead << 8) & (lead | vowel | lv | lvt) | ((lv | vowel) << 8) & (vowel | tail) | ((lvt | tail) << 8) & tail
    return joined.bit_count()

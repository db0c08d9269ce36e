"""NFC normalisation in linear time: ``unicodedata.normalize("NFC", text)`` without its quadratic cases.

X counts a post after NFC (twitter.py); CPython orders each run of combining marks with an insertion
sort, so a long run of marks of mixed classes takes quadratic time (40,000 marks: 1 s). ``nfc``
orders the long runs itself, normalises only what may change, and returns a text already in NFC,
as most are, after a check at C speed.
"""

from __future__ import annotations

import functools
import operator
import unicodedata

from chalicelib.text import _classes, _indicators

# Characters whose canonical decomposition starts with a combining mark although they have none of
# their own (Unicode's "non-starter decompositions"). NFC never recomposes them.
_NON_STARTER_DECOMPOSITIONS = {"\u0f73": "\u0f71\u0f72", "\u0f75": "\u0f71\u0f74", "\u0f81": "\u0f71\u0f80"}


# Runs of marks this long are put in order here; shorter ones are left to the normaliser, whose
# insertion sort costs less than a call into Python for a run of a few marks.
_LONG_RUN = 32


@functools.cache
def _mark_run():
    import regex

    return regex.compile(rf"\P{{ccc=0}}{{{_LONG_RUN},}}")


@functools.cache
def _block_classes(block: int) -> tuple[bytes, dict[int, bytes]]:
    """For the code points U+bb00-U+bbFF: the combining class of each (by its low byte), and for
    each class the low bytes of the others, which ``bytes.translate`` deletes to keep that class."""
    classes = bytes(unicodedata.combining(chr(block * 256 + low)) for low in range(256))
    others = {value: bytes(low for low in range(256) if classes[low] != value) for value in set(classes)}
    return classes, others


def _classes_in_one_block(marks: str) -> list[str] | None:
    """``marks`` grouped by combining class, the classes in ascending order and each group in the
    order of ``marks``, or None unless they share one block of 256 code points of the Basic
    Multilingual Plane (as the long runs of one script do). Grouped in bytes: the low byte of each
    mark names its class, and keeping one class at a time keeps its order, at C speed; ``sorted``
    with a key costs a call per mark."""
    encoded = marks.encode("utf-16-be", "surrogatepass")
    highs, lows = encoded[0::2], encoded[1::2]
    block = highs[0]
    if highs.count(block) != len(highs) or 0xD8 <= block <= 0xDF:
        return None
    classes, others = _block_classes(block)
    present = sorted(set(lows.translate(classes)))
    if present[0] == 0:
        return None  # a starter to this Python's data: it splits the run (see below)
    groups = []
    for value in present:
        kept = lows.translate(None, others[value])
        group = bytearray(2 * len(kept))
        group[0::2] = bytes([block]) * len(kept)
        group[1::2] = kept
        groups.append(group.decode("utf-16-be"))
    return groups


def _sorted_in_one_block(marks: str) -> str | None:
    """``marks`` stably sorted by combining class, or None (see ``_classes_in_one_block``)."""
    groups = _classes_in_one_block(marks)
    return None if groups is None else "".join(groups)


# The most code points a character decomposes to (U+1F82: alpha and three marks). So a starter
# composes with three marks at most, whatever follows it (tests/unit/test_text_hostile.py checks).
_LONGEST_DECOMPOSITION = 4


def _composed_long_run(lead: str, marks: str) -> str | None:
    """``unicodedata.normalize("NFC", lead + marks)`` for a long run of marks after a starter that
    does not decompose, without reading the whole run; None where that does not apply.

    Canonical composition walks the marks after a starter in canonical order: a mark composes with
    it, or stays and blocks every later mark of its class. So within each class only the marks up
    to the first that stays are tried, and as a starter takes three marks at most, the first four
    of each class decide: the rest stay as they are. The normaliser reads those few, and the rest
    of each class follows what it left, in order.
    """
    if lead and unicodedata.decomposition(lead)[:1] not in ("", "<"):
        return None  # a lead that decomposes puts its own marks among these
    groups = _classes_in_one_block(marks)
    if groups is None or not all(unicodedata.is_normalized("NFD", group) for group in groups):
        return None  # a mark that decomposes is not what it seems
    head = _LONGEST_DECOMPOSITION
    normalized = unicodedata.normalize("NFC", lead + "".join(group[:head] for group in groups))
    starter, kept = normalized[: len(lead)], normalized[len(lead) :]
    by_class = {}
    for mark in kept:
        by_class[unicodedata.combining(mark)] = by_class.get(unicodedata.combining(mark), "") + mark
    return starter + "".join(by_class.get(unicodedata.combining(group[0]), "") + group[head:] for group in groups)


def _in_canonical_order(run) -> str:
    marks = run.group() if not isinstance(run, str) else run
    ordered = _sorted_in_one_block(marks) if len(marks) >= _LONG_RUN else None
    if ordered is not None:
        return ordered
    if min(map(unicodedata.combining, marks)):
        # Stable, so marks of one class keep their order.
        return "".join(sorted(marks, key=unicodedata.combining))
    # A character this Python's Unicode data sees as a starter (one assigned after its data)
    # stays where it is and splits the run.
    cut = next(i for i, mark in enumerate(marks) if not unicodedata.combining(mark))
    rest = _mark_run().sub(_in_canonical_order, marks[cut + 1 :])
    return _in_canonical_order(marks[:cut]) + marks[cut] + rest if cut else marks[cut] + rest


def _told_in_nfc(text: str) -> bool:
    """Whether ``text`` is in NFC, as most are, told at C speed; False may also mean "not known"."""
    if text.isascii():
        return True
    # CPython checks a text at C speed, but where characters that may compose (NFC_QC=Maybe)
    # are many, the check normalises the whole text, and normalising it again doubles the cost.
    return not _classes.often(_may_compose(), text, _CHARACTERS_PER_RUN) and unicodedata.is_normalized("NFC", text)


def _non_starters_apart(text: str) -> str:
    """``text`` with the characters that decompose to marks alone taken apart (see
    ``_NON_STARTER_DECOMPOSITIONS``): NFC never puts them back together."""
    for character, decomposition in _NON_STARTER_DECOMPOSITIONS.items():
        text = text.replace(character, decomposition)
    return text


def nfc(text: str) -> str:
    """``unicodedata.normalize("NFC", text)``, in linear time.

    CPython puts combining marks in canonical order with an insertion sort, so a long run of marks
    of mixed classes takes quadratic time (40,000 marks: 1 s). The long runs are sorted here
    first, which NFC allows (it reorders each run of marks by class, stably, before composing),
    and the normaliser then finds them in order. A text already in NFC, as most are, is checked
    at C speed and returned as it is.
    """
    if _told_in_nfc(text):
        return text
    return _nfc_apart(_non_starters_apart(text))


def _nfc_apart(text: str) -> str:
    """``nfc(text)`` for a text whose non-starter decompositions are already apart."""
    if "\0" in text or _dense(text):
        return _normalized_whole(text)
    # Only what may change is normalised: each unsettled run (see _unsettled) with the character
    # before it, which it may compose with. A settled starter (class 0, NFC_QC=Yes) composes with
    # nothing before it and nothing is reordered across it, so the text may be cut before one.
    # The runs are normalised at once, joined by NUL (settled, composing with nothing), and put
    # back: where they are few, as in most text of many scripts, this costs less than normalising
    # the whole text. Where they are many (an accent on every letter), each costs more than
    # normalising it in place, so past a budget the rest of the text is normalised whole.
    budget = len(text) // _CHARACTERS_PER_RUN
    parts = _unsettled().split(text, maxsplit=budget)  # settled, unsettled, ..., settled or rest
    settled, runs = parts[0::2], parts[1::2]
    leads = [run[-1:] for run in settled[:-1]]
    settled[:-1] = [run[:-1] for run in settled[:-1]]
    if len(parts) > 2 * budget:
        settled[-1] = unicodedata.normalize("NFC", _mark_run().sub(_in_canonical_order, settled[-1]))
    composed = {}
    if runs and max(map(len, runs)) >= _LONG_RUN:
        for index, run in enumerate(runs):
            if len(run) >= _LONG_RUN and (found := _composed_long_run(leads[index], run)) is not None:
                composed[index] = found
                leads[index] = runs[index] = ""
        runs = [_mark_run().sub(_in_canonical_order, run) for run in runs]
    normalized = unicodedata.normalize("NFC", "\0".join(map(operator.add, leads, runs))).split("\0")
    for index, found in composed.items():
        normalized[index] = found
    parts[0::2] = settled
    parts[1::2] = normalized
    return "".join(parts)


# A text with at least this share of regional indicators has them stand in as control characters
# while it is normalised whole (see _indicators.STAND_INS): each spares the normaliser some 80 ns,
# and setting them aside and back costs a few ns a character of the text (more for a text of
# indicators of many letters).
_INDICATORS_PER_CHARACTER = 0.1


def _normalized_whole(text: str) -> str:
    """``unicodedata.normalize("NFC", text)``, with the text's regional indicators set aside where
    they are many. An indicator is settled (class 0, no decomposition, composing with nothing on
    either side), as its stand-in is, so NFC keeps each where it is and composes around it alike:
    the normalised text with stand-ins, put back, is the normalised text. (Set aside first, they
    no longer take the check for long runs of marks, which reads every character outside the
    Basic Multilingual Plane as one that may be a mark, to its slow path.)"""
    if _classes.outside_bmp(text) >= len(text) * _INDICATORS_PER_CHARACTER:  # indicators, at most
        found = _indicators.with_stand_ins(text)
        if found is not None:
            with_stand_ins, indicators = found
            return _indicators.without_stand_ins(_normalized_in_order(with_stand_ins), indicators)
    return _normalized_in_order(text)


def _normalized_in_order(text: str) -> str:
    # A run of marks long enough to need sorting is rare: a text without one is normalised as it
    # is, without the regex that finds them visiting every mark.
    if _has_long_mark_run(text):
        text = _mark_run().sub(_in_canonical_order, text)
    return unicodedata.normalize("NFC", text)


def nfc_but_for_the_order_of_marks(text: str) -> str:
    """``nfc(text)``, or ``text`` itself where the two differ only in the order of the marks
    within runs of marks: where a count reads code points alone, and nothing that marks may
    take part in, it needs no more (X's count of a text that holds no URL).

    A text in which no character may change in NFC (NFC_QC=No) or compose with the one before
    it (NFC_QC=Maybe: the second of every composition is one) only has its runs of marks put in
    canonical order: its precomposed characters come apart and back together as they were. The
    characters that decompose to marks alone are taken apart first, as ``nfc`` does. A post of
    marks costs CPython's normaliser some 80 ns a character; this check, 10."""
    if _told_in_nfc(text):
        return text
    text = _non_starters_apart(text)
    if _may_compose().search(text) is None:
        return text
    found = _inert_marks_standing_in(text)
    if found is None:
        return _nfc_apart(text)
    with_stand_ins, stand_ins = found
    normalized = _nfc_apart(with_stand_ins)
    for mark, stand_in in stand_ins:
        normalized = normalized.replace(stand_in, mark)
    return normalized


# The combining classes of the marks that compose with what precedes them (tests/unit/
# test_text_hostile.py derives them from the Unicode data). After canonical ordering a mark is
# blocked from its starter by the marks of its own class before it, and nothing of a higher class
# comes before it: so a mark of a class none of them has neither composes nor keeps another mark
# from composing. Call such a mark, with no decomposition, inert.
_CLASSES_OF_MARKS_THAT_COMPOSE = frozenset((0, 1, 7, 8, 9, 91, 202, 216, 220, 230, 240))
# Inert marks that CPython's NFC costs little to keep: it looks every character up in a table of
# the characters that compose with what follows them, read from the start until it passes the
# character's code point, and these come early in it (34 entries; a Tibetan vowel, 97).
_STAND_INS = "\u0315\u031a\u0358\u035c\u035d\u035e\u035f\u0360\u0361\u0362"
# Inert marks standing in cost some 3 ns a character and 40 µs a mark replaced, for a post, and
# spare the normaliser some 40 ns a mark.
_INERT_MARKS_PER_CHARACTER = 0.1
_UNMAPPED = ord("?")


@functools.cache
def _inert_marks():
    """The inert marks of the Basic Multilingual Plane, each encoded as one byte from 1 (the stand-ins
    first) by ``codecs.charmap_encode`` with the map returned, at C speed; any other character as
    "?"."""
    import codecs

    others = [
        character
        for character in map(chr, range(0x300, 0x10000))
        if unicodedata.combining(character) not in _CLASSES_OF_MARKS_THAT_COMPOSE
        and unicodedata.decomposition(character) == ""
        and character not in _STAND_INS
    ]
    marks = _STAND_INS + "".join(others)
    table = ["\ufffe"] * 256
    table[0], table[_UNMAPPED] = "\0", "?"
    spare = [byte for byte in range(1, 256) if byte != _UNMAPPED]
    if len(marks) > len(spare):
        raise ValueError("more inert marks than bytes to encode them")
    for byte, mark in zip(spare, marks, strict=False):
        table[byte] = mark
    return codecs.charmap_build("".join(table)), {byte: mark for byte, mark in zip(spare, marks, strict=False)}


def _inert_marks_standing_in(text: str) -> tuple[str, list[tuple[str, str]]] | None:
    """``text`` with each inert mark it holds replaced by a stand-in (one of ``_STAND_INS`` that it
    does not hold), and the pairs replaced; None where they are few, or more than the stand-ins."""
    import codecs

    encoding, marks = _inert_marks()
    # The text's start tells whether they are many (at some 5 ns a character for the whole).
    probe = text[: _classes.START]
    if len(codecs.charmap_encode(probe, "replace", encoding)[0].translate(None, b"?\0")) < (
        len(probe) * _INERT_MARKS_PER_CHARACTER
    ):
        return None
    encoded = codecs.charmap_encode(text, "replace", encoding)[0].translate(None, b"?\0")
    found = _classes.distinct(encoded, len(_STAND_INS) + 1)
    if found is None:
        return None
    present = [marks[byte] for byte in found]
    free = [stand_in for stand_in in _STAND_INS if stand_in not in present]
    inert = [mark for mark in present if mark not in _STAND_INS]
    if len(inert) > len(free):
        return None
    pairs = list(zip(inert, free, strict=False))
    for mark, stand_in in pairs:
        text = text.replace(mark, stand_in)
    return text, pairs


_CHARACTERS_PER_RUN = 20


def _dense(text: str) -> bool:
    # Unsettled runs close together: normalising the whole text costs less than cutting it into
    # runs (either is NFC).
    return _classes.often(_unsettled(), text, _CHARACTERS_PER_RUN)


@functools.cache
def _may_compose():
    import regex

    return regex.compile(r"[\p{NFC_QC=N}\p{NFC_QC=M}]")


@functools.cache
def _marks_in_block(block: int) -> bytes:
    # 1 for a character of a combining class other than 0 (as the ``regex`` package's Unicode
    # data has it, as in ``_mark_run``), else 0.
    import regex

    characters = _classes.block_characters(block)
    found = bytearray(256)
    for match in regex.finditer(r"\P{ccc=0}", characters):
        found[match.start()] = 1
    return bytes(found)


def _has_long_mark_run(text: str) -> bool:
    """Whether ``text`` holds ``_LONG_RUN`` marks in a row, found in bytes (see ``_classes``).
    Every mark lies at U+0300 or above (tests/unit/test_text_hostile.py checks), so a text with
    no such run of characters there, as one with a letter in every few, is told at once."""
    if text.isascii():
        return False
    high_bytes = text.encode("utf-16-le", "surrogatepass")[1::2]
    if b"\x01" * _LONG_RUN not in high_bytes.translate(_AT_LEAST_U0300):
        return False
    return b"\x01" * _LONG_RUN in _classes.classes(text, _marks_in_block)


_FIRST_MARK_BLOCK = 0x03
_AT_LEAST_U0300 = bytes(1 if byte >= _FIRST_MARK_BLOCK else 0 for byte in range(256))


@functools.cache
def _unsettled():
    import regex

    # Two or more in a row (marks that may need reordering), or one that NFC may change (NFC_QC
    # No or Maybe). A lone mark that NFC_QC says is fine (a virama after its consonant) is left:
    # it neither moves nor composes.
    unsettled = r"[^\p{ccc=0}&&\p{NFC_QC=Y}]"
    return regex.compile(rf"({unsettled}(?:{unsettled}+|(?<=[\p{{NFC_QC=N}}\p{{NFC_QC=M}}])))", regex.VERSION1)


# Flags are found in bytes (see _indicators), at C speed: a regex over the text tried each of 26
# first letters at every indicator (5 ms for a post of indicators, twice a plain post's count).

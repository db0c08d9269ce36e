"""X's weighted length: the count X checks against its 280-character limit.

X counts with its twitter-text library, configuration v3 (config/v3.json there):

- the text is NFC-normalised first, so "e" + combining acute counts as the single "é";
- every URL weighs 23 characters however long it is (see ``urls.py`` for what is a URL);
- every emoji weighs 2 however many code points it takes: a skin tone, a ZWJ sequence such as a
  family or a profession, a flag, a keycap each count as one emoji;
- every other code point weighs 1 if it falls in one of the ranges below (Latin, Greek, Cyrillic,
  Hebrew, Arabic, Devanagari..., and some punctuation), else 2 (CJK, Hangul, most symbols and
  everything outside the Basic Multilingual Plane).

Weights are kept in hundredths as twitter-text does (scale 100), so the arithmetic is exact.

Emoji: twitter-text recognises the emoji its emoji images cover. We recognise, with Unicode's
character properties (from the ``regex`` package):
- the 259 valid flags (the 258 of Unicode 12 and Sark, added in Emoji 16.0) and the flags of
  England, Scotland and Wales; any other pair of regional indicators counts 2 + 2, as on X;
- keycaps (``1️⃣``, also without the U+FE0F);
- a pictograph with a skin tone, or, when it is shown as text by default, with U+FE0F;
- any chain of those joined by U+200D.
Known differences: a chain that Unicode does not recommend (a cat joined to a dog) counts 2 here,
while X counts its parts (2 + 1 + 2). A sequence newer than the emoji data of the twitter-text
release we compare against (an Emoji 15.1 family, say) counts 2 here and more there; we follow the
rule ("an emoji counts 2") rather than that library's age.

Not handled here: X refuses a post holding U+FFFE, U+FEFF or U+FFFF whatever its length (they are
counted, at 2). "\\r\\n" counts 2, as twitter-text's reference implementation counts it.
"""

from __future__ import annotations

import collections
import functools
import operator
import re
import unicodedata

from chalicelib.text import _classes, _indicators
from chalicelib.text.urls import find_x_urls, without_simple_x_urls

MAX_WEIGHTED_LENGTH = 280
SCALE = 100
DEFAULT_WEIGHT = 200
TRANSFORMED_URL_LENGTH = 23
# (first, last, weight) code point ranges of config v3; everything else weighs DEFAULT_WEIGHT.
LIGHT_RANGES = (
    (0x0000, 0x10FF, 100),
    (0x2000, 0x200D, 100),
    (0x2010, 0x201F, 100),
    (0x2032, 0x2037, 100),
)

# Region codes with a flag emoji (Unicode's RGI flag sequences).
_FLAG_REGIONS = """
AC AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CP CQ CR CU CV CW CX CY CZ DE DG DJ DK DM DO DZ
EA EC EE EG EH ER ES ET EU FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
GY HK HM HN HR HT HU IC ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY
MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU
RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TF TG TH TJ TK TL TM TN
TO TR TT TV TW TZ UA UG UM UN US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
""".split()
# Black flag + tag letters + cancel tag: the three subdivision flags Unicode recommends.
_SUBDIVISIONS = ("gbeng", "gbsct", "gbwls")


def _regional_indicators(region: str) -> str:
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in region)


def _tag_sequence(subdivision: str) -> str:
    tags = "".join(chr(0xE0000 + ord(letter)) for letter in subdivision)
    return "\U0001f3f4" + tags + "\U000e007f"


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


def nfc(text: str) -> str:
    """``unicodedata.normalize("NFC", text)``, in linear time.

    CPython puts combining marks in canonical order with an insertion sort, so a long run of marks
    of mixed classes takes quadratic time (40,000 marks: 1 s). The long runs are sorted here
    first, which NFC allows (it reorders each run of marks by class, stably, before composing),
    and the normaliser then finds them in order. A text already in NFC, as most are, is checked
    at C speed and returned as it is.
    """
    if text.isascii():
        return text
    # CPython checks a text at C speed, but where characters that may compose (NFC_QC=Maybe)
    # are many, the check normalises the whole text, and normalising it again doubles the cost.
    if not _often(_may_compose(), text) and unicodedata.is_normalized("NFC", text):
        return text
    for character, decomposition in _NON_STARTER_DECOMPOSITIONS.items():
        text = text.replace(character, decomposition)
    if "\0" in text or _dense(text):
        # A run of marks long enough to need sorting is rare: a text without one is normalised
        # as it is, without the regex that finds them visiting every mark.
        if _has_long_mark_run(text):
            text = _mark_run().sub(_in_canonical_order, text)
        return unicodedata.normalize("NFC", text)
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


_CHARACTERS_PER_RUN = 20
_PROBE = 1024


def _often(pattern, text: str) -> bool:
    """Whether the text's start holds matches closer than ``_CHARACTERS_PER_RUN`` apart."""
    probe = min(len(text), _PROBE)
    return len(pattern.findall(text, 0, probe)) * _CHARACTERS_PER_RUN > probe


def _dense(text: str) -> bool:
    # Unsettled runs close together: normalising the whole text costs less than cutting it into
    # runs (either is NFC).
    return _often(_unsettled(), text)


@functools.cache
def _may_compose():
    import regex

    return regex.compile(r"[\p{NFC_QC=N}\p{NFC_QC=M}]")


@functools.cache
def _marks_in_block(block: int) -> bytes:
    # 1 for a character of a combining class other than 0 (as the ``regex`` package's Unicode
    # data has it, as in ``_mark_run``), else 0.
    import regex

    characters = "".join(chr(block * 256 + low) for low in range(256))
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


def _pair(first: int, second: int) -> str:
    # Two letters (0-25, or 26 for no letter) as one character: a flag is then a character class.
    return chr(first * 256 + second)


@functools.cache
def _flag_pairs() -> re.Pattern[str]:
    # A flag takes its two indicators: the pair after it (which starts on its second) is skipped.
    pairs = "".join(_pair(ord(region[0]) - 65, ord(region[1]) - 65) for region in _FLAG_REGIONS)
    return re.compile(f"[{pairs}].?", re.DOTALL)


def _flag_pair_text(text: str) -> str | None:
    """``text`` as pairs of letters: character i stands for the indicators at i and i + 1, so that
    a regex of the valid pairs finds the flags as a regex of the text would, from the left (in
    "🇦🇨🇩", 🇦🇨 is a flag and 🇨🇩 is not looked at). None when there can be no flag."""
    letters = _indicators.letters(text)
    if letters is None or len(text) < 2:
        return None
    pairs = bytearray(2 * (len(text) - 1))
    pairs[0::2] = letters[1:]
    pairs[1::2] = letters[:-1]
    return pairs.decode("utf-16-le")


def _flag_starts(text: str) -> list[int]:
    """Where the flags of ``text`` start; each covers two code points."""
    pairs = _flag_pair_text(text)
    return [] if pairs is None else [match.start() for match in _flag_pairs().finditer(pairs)]


# Written as one indicator then more, not "{2,}": a pattern that starts with a plain class is
# scanned for that class at C speed, twice as fast over a text of other characters.
_INDICATOR_RUN = re.compile("[\U0001f1e6-\U0001f1ff][\U0001f1e6-\U0001f1ff]+")


def _flag_count(text: str) -> int:
    # Flags lie within runs of indicators, and most texts repeat a few runs (a flag or two), so
    # each distinct run is read once.
    if _within_bmp(text):
        return 0  # indicators lie outside the plane
    runs = collections.Counter(_INDICATOR_RUN.findall(text))
    return sum(_flags_in_run(run) * times for run, times in runs.items())


def _flags_in_run(run: str) -> int:
    return _flag_pairs().subn("", _flag_pair_text(run))[1]


def _within_bmp(text: str) -> bool:
    return len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text)


def _outside_bmp(text: str) -> int:
    """How many characters of ``text`` lie outside the Basic Multilingual Plane."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2 - len(text)


_CHARACTERS_PER_EMOJI = 6


def _may_start_bmp_emoji(text: str) -> bool:
    """Whether an emoji of the Basic Multilingual Plane may start in ``text``: a pictograph of it
    (©, ™, ☀, ✈, ...) or a keycap."""
    return "\u20e3" in text or _bmp_pictograph().search(text) is not None


@functools.cache
def _bmp_pictograph() -> re.Pattern[str]:
    # The emoji pattern's first characters in the plane, as a class the standard engine scans at
    # C speed (the regex package's property classes cost 10 ns a character).
    import regex

    # They lie between U+00A9 and U+3299 (tests/unit/test_text_hostile.py checks the whole plane).
    found = regex.findall(r"[\p{Extended_Pictographic}\p{Emoji_Modifier_Base}]", "".join(map(chr, range(0xA0, 0x3300))))
    return re.compile("[" + "".join(map(re.escape, found)) + "]")


@functools.cache
def _emoji_pattern():
    """Every other emoji. Flags are found apart (no other emoji holds a regional indicator), and
    the lookahead lets the scan pass over what cannot start one without trying each branch."""
    import regex

    subdivision_flag = "|".join(_tag_sequence(name) for name in _SUBDIVISIONS)
    keycap = "[#*0-9]\ufe0f?\u20e3"
    pictograph = (
        r"(?:\p{Emoji_Modifier_Base}\p{Emoji_Modifier}"
        r"|[\p{Extended_Pictographic}&&\p{Emoji_Presentation}]"
        r"|[\p{Extended_Pictographic}--\p{Emoji_Presentation}]\ufe0f?)"
    )
    zwj_chain = rf"{pictograph}(?:\u200d{pictograph})*"
    first = r"[#*0-9\p{Extended_Pictographic}\p{Emoji_Modifier_Base}]"
    return regex.compile(f"(?={first})(?:{subdivision_flag}|{keycap}|{zwj_chain})", regex.VERSION1)


@functools.cache
def _emoji_of_more_than_one_heavy_code_point() -> re.Pattern[str]:
    """What every emoji of ``_emoji_pattern`` that is not one heavy code point holds: a joiner,
    a skin tone, U+FE0F, the keycap's U+20E3 or a tag (its parts after the first), or is: one of
    the two light pictographs (tests/unit/test_text_hostile.py checks these are the only ones)."""
    return re.compile("[\u200d\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f\xa9\xae]")


# What ``_emoji_pattern`` reads of a character, as a kind: the pattern's character classes are
# unions of kinds, so the pattern can be read over a text's kinds (``_emoji_in_kinds``), one byte
# a character, at the speed of a bytes regex. Every character of a kind weighs the same (checked
# as the kinds are read), so the weight of what the pattern takes is known too.
(_OTHER, _PICTOGRAPH, _TEXT_PICTOGRAPH, _LIGHT_PICTOGRAPH, _MODIFIER_BASE, _TEXT_MODIFIER_BASE) = range(6)
(_MODIFIER, _VS16, _JOINER, _KEYCAP, _KEYCAP_BASE, _BLACK_FLAG, _CANCEL_TAG) = range(6, 13)
_TAG_LETTERS = "".join(sorted(set("".join(_SUBDIVISIONS))))
_TAG_KIND = {letter: 13 + index for index, letter in enumerate(_TAG_LETTERS)}
_LIGHT_KINDS = bytes((_OTHER, _LIGHT_PICTOGRAPH, _JOINER, _KEYCAP_BASE))


@functools.cache
def _emoji_kinds(block: int) -> bytes:
    import regex

    special = {
        "\ufe0f": _VS16,
        "\u200d": _JOINER,
        "\u20e3": _KEYCAP,
        "\U0001f3f4": _BLACK_FLAG,
        "\U000e007f": _CANCEL_TAG,
        **dict.fromkeys("#*0123456789", _KEYCAP_BASE),
        **{chr(0xE0000 + ord(letter)): kind for letter, kind in _TAG_KIND.items()},
    }
    characters = "".join(chr(block * 256 + low) for low in range(256))
    if block not in _SPECIAL_BLOCKS and not _emoji_property().search(characters):
        return bytes(256)  # all of kind _OTHER (most blocks)

    def having(prop: str) -> set[int]:
        return {match.start() for match in regex.finditer(rf"\p{{{prop}}}", characters)}

    pictographic, presentation = having("Extended_Pictographic"), having("Emoji_Presentation")
    base, modifier = having("Emoji_Modifier_Base"), having("Emoji_Modifier")
    found = bytearray(256)
    for low, character in enumerate(characters):
        kind = special.get(character)
        light = any(first <= ord(character) <= last for first, last, _ in LIGHT_RANGES)
        if kind is None:
            if low in modifier:
                kind = _MODIFIER
            elif low in base:
                kind = _MODIFIER_BASE if low in presentation else _TEXT_MODIFIER_BASE
            elif low in pictographic:
                kind = _PICTOGRAPH if low in presentation else _LIGHT_PICTOGRAPH if light else _TEXT_PICTOGRAPH
            else:
                kind = _OTHER
        if kind != _OTHER and light != (kind in _LIGHT_KINDS):
            raise ValueError(f"U+{ord(character):04X} weighs unlike the other emoji of its kind")
        found[low] = kind
    return bytes(found)


_SPECIAL_BLOCKS = {0x00, 0x20, 0xFE, 0x1F3, 0xE00}  # where the characters named above lie


@functools.cache
def _emoji_property():
    import regex

    return regex.compile(r"[\p{Extended_Pictographic}\p{Emoji_Modifier_Base}\p{Emoji_Modifier}]")


def _kinds(*kinds: int) -> bytes:
    return b"[" + b"".join(re.escape(bytes((kind,))) for kind in kinds) + b"]"


@functools.cache
def _emoji_in_kinds() -> re.Pattern[bytes]:
    """``_emoji_pattern`` over kinds: the same alternatives, each class the kinds it holds. It is
    written as the first character, then what may follow it, in the order of the alternatives
    it starts (a lookbehind names them), so that the search skips at C speed to a character
    that may start an emoji instead of trying the alternatives everywhere."""
    presentation = (_PICTOGRAPH, _MODIFIER_BASE, _BLACK_FLAG)
    text_presentation = (_TEXT_PICTOGRAPH, _LIGHT_PICTOGRAPH, _TEXT_MODIFIER_BASE)
    pictograph = b"(?:%s%s|%s|%s%s?)" % (
        _kinds(_MODIFIER_BASE, _TEXT_MODIFIER_BASE),
        _kinds(_MODIFIER),
        _kinds(*presentation),
        _kinds(*text_presentation),
        _kinds(_VS16),
    )
    joined = b"(?:%s%s)*" % (_kinds(_JOINER), pictograph)
    tags = b"|".join(
        b"".join(_kinds(_TAG_KIND[letter]) for letter in name) + _kinds(_CANCEL_TAG) for name in _SUBDIVISIONS
    )
    first = _kinds(_KEYCAP_BASE, *presentation, *text_presentation)
    return re.compile(
        b"%s(?:(?<=%s)(?:%s)|(?<=%s)%s?%s|(?<=%s)%s%s|(?<=%s)%s|(?<=%s)%s?%s)"
        % (
            first,
            _kinds(_BLACK_FLAG),  # a subdivision flag
            tags,
            _kinds(_KEYCAP_BASE),  # a keycap
            _kinds(_VS16),
            _kinds(_KEYCAP),
            _kinds(_MODIFIER_BASE, _TEXT_MODIFIER_BASE),  # then a chain: a base and its modifier,
            _kinds(_MODIFIER),
            joined,
            _kinds(*presentation),  # a pictograph of emoji presentation,
            joined,
            _kinds(*text_presentation),  # or of text presentation, with U+FE0F or not
            _kinds(_VS16),
            joined,
        )
    )


def _heavy(kinds: bytes) -> int:
    return len(kinds.translate(None, _LIGHT_KINDS))


# Every light range weighs 100 in config v3, so a text weighs 100 a code point plus 100 for each
# code point outside them.
assert {weight for _, _, weight in LIGHT_RANGES} == {SCALE}
assert LIGHT_RANGES[0][:2] == (0, 0x10FF) and all(first >> 8 == 0x20 for first, _, _ in LIGHT_RANGES[1:])
# In UTF-16, a code unit is light when its high byte is below 0x11, or 0x20 with one of these low
# bytes (LIGHT_RANGES); a character outside the Basic Multilingual Plane is two heavy units.
_HIGH_IS_HEAVY = bytes(1 if byte >= 0x11 else 0 for byte in range(256))
_HIGH_IS_20 = bytes(0xFF if byte == 0x20 else 0 for byte in range(256))
_LOW_IS_LIGHT_AFTER_20 = bytes(
    0xFF if any(first <= 0x2000 + byte <= last for first, last, _ in LIGHT_RANGES[1:]) else 0 for byte in range(256)
)


def _plain_weight(text: str) -> int:
    """What ``text`` weighs by code point alone: 100 each, 200 outside LIGHT_RANGES. Counted in
    bytes, at C speed, as a regex visiting each heavy character cost 3 ms for a post of them."""
    if text.isascii():
        return len(text) * SCALE
    encoded = text.encode("utf-16-le", "surrogatepass")
    lows, highs = encoded[0::2], encoded[1::2]
    units = len(highs)
    heavy_units = units - highs.translate(_HIGH_IS_HEAVY).count(0)
    light_after_20 = int.from_bytes(highs.translate(_HIGH_IS_20), "little") & int.from_bytes(
        lows.translate(_LOW_IS_LIGHT_AFTER_20), "little"
    )
    if light_after_20:
        heavy_units -= light_after_20.to_bytes(units, "little").count(0xFF)
    heavy = heavy_units - (units - len(text))  # a surrogate pair is one character
    return len(text) * SCALE + heavy * (DEFAULT_WEIGHT - SCALE)


def weighted_length(text: str) -> int:
    """The length X gives ``text``, in characters (its limit is ``MAX_WEIGHTED_LENGTH``)."""
    text = nfc(text)
    # Words that are plain URLs are taken out first, in one pass at C speed (see
    # ``simple_x_urls``): what stays is weighed as before, with the URLs it still holds.
    text, simple = without_simple_x_urls(text)
    return (_hundredths(text) + simple * TRANSFORMED_URL_LENGTH * SCALE) // SCALE


def _hundredths(text: str) -> int:
    """The weight of ``text`` (in NFC) in hundredths of a character."""
    # URLs and emoji have weights of their own; everything between weighs by code point. Where
    # a URL and an emoji start together the URL counts, and whichever starts first hides the
    # other's start, as when twitter-text reads the text from left to right.
    entities = [(span.start, 0, span.end, TRANSFORMED_URL_LENGTH * SCALE) for span in find_x_urls(text)]
    # Flags, and all but a few emoji, lie outside the Basic Multilingual Plane: a text within it
    # is checked for those few at C speed before any emoji pattern reads it.
    outside_bmp = 0 if text.isascii() else _outside_bmp(text)
    if not text.isascii() and (outside_bmp or _may_start_bmp_emoji(text)):
        if not entities:
            # No URL to hide anything: emoji and flags never overlap, so they are weighed in bulk.
            # A flag is two heavy code points (400) that weigh 200.
            if not _emoji_of_more_than_one_heavy_code_point().search(text):
                # Every emoji here is one heavy code point, which weighs 200 by code point as
                # an emoji does: none needs finding, at some 150 ns each (a flag still weighs
                # 400 by code point).
                return _plain_weight(text) - _flag_count(text) * DEFAULT_WEIGHT
            if outside_bmp * _CHARACTERS_PER_EMOJI < len(text):
                # Few emoji (most lie outside the plane): the pattern reads the text.
                rest, emoji = _emoji_pattern().subn("", text)
                return _plain_weight(rest) + (emoji - _flag_count(text)) * DEFAULT_WEIGHT
            # Many: they are found in the text's emoji kinds, one byte a character (see
            # _emoji_kinds), where a match costs a tenth of one in the text, once the kinds are
            # read (some 0.15 ms a block of 256 code points, for a post).
            kinds = _classes.classes(text, _emoji_kinds)
            rest, emoji = _emoji_in_kinds().subn(b"", kinds)
            removed = len(kinds) - len(rest) + _heavy(kinds) - _heavy(rest)  # in hundredths / SCALE
            return _plain_weight(text) - removed * SCALE + (emoji - _flag_count(text)) * DEFAULT_WEIGHT
        entities += [(m.start(), 1, m.end(), DEFAULT_WEIGHT) for m in _emoji_pattern().finditer(text)]
        entities += [(start, 1, start + 2, DEFAULT_WEIGHT) for start in _flag_starts(text)]
        entities.sort()
    # The text between entities is weighed at once: weighing each gap apart cost a few µs a
    # gap, which a text with a URL every few characters pays thousands of times.
    gaps = []
    total = 0
    index = 0
    for start, _, end, weight in entities:
        if start < index:
            continue
        gaps.append(text[index:start])
        total += weight
        index = end
    gaps.append(text[index:])
    return total + _plain_weight("".join(gaps))

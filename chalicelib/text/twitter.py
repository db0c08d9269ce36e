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

import functools
import re
import unicodedata

from chalicelib.text.urls import find_x_urls

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
_NON_STARTER_DECOMPOSITIONS = str.maketrans(
    {"\u0f73": "\u0f71\u0f72", "\u0f75": "\u0f71\u0f74", "\u0f81": "\u0f71\u0f80"}
)


@functools.cache
def _mark_run():
    import regex

    return regex.compile(r"\P{ccc=0}{2,}")


def _in_canonical_order(run) -> str:
    marks = run.group() if not isinstance(run, str) else run
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
    of mixed classes takes quadratic time (40,000 marks: 1 s). The runs are sorted here first,
    which NFC allows (it reorders each run of marks by class, stably, before composing), and the
    normaliser then finds them in order.
    """
    if text.isascii():
        return text
    if "\u0f73" in text or "\u0f75" in text or "\u0f81" in text:
        text = text.translate(_NON_STARTER_DECOMPOSITIONS)
    text = _mark_run().sub(_in_canonical_order, text)
    return unicodedata.normalize("NFC", text)


@functools.cache
def _flag_pattern() -> re.Pattern[str]:
    # A tree, one branch per first letter with a class of second letters: the plain alternation
    # of 259 pairs cost ~1 µs a character on a long run of regional indicators.
    seconds: dict[str, list[str]] = {}
    for region in _FLAG_REGIONS:
        seconds.setdefault(region[0], []).append(region[1])
    return re.compile(
        "|".join(
            f"{_regional_indicators(first)}[{_regional_indicators(''.join(letters))}]"
            for first, letters in seconds.items()
        )
    )


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
def _heavy():
    # Every light range weighs 100 in config v3, so a stretch of text weighs 100 a code point
    # plus 100 for each code point outside them.
    assert {weight for _, _, weight in LIGHT_RANGES} == {SCALE}
    light = "".join(f"\\U{first:08x}-\\U{last:08x}" for first, last, _ in LIGHT_RANGES)
    return re.compile(f"[^{light}]")


def _plain_weight(text: str, start: int, end: int) -> int:
    heavy = _heavy().subn("", text[start:end])[1] if start < end else 0
    return (end - start) * SCALE + heavy * (DEFAULT_WEIGHT - SCALE)


def weighted_length(text: str) -> int:
    """The length X gives ``text``, in characters (its limit is ``MAX_WEIGHTED_LENGTH``)."""
    text = nfc(text)
    # URLs and emoji have weights of their own; everything between weighs by code point. Where
    # a URL and an emoji start together the URL counts, and whichever starts first hides the
    # other's start, as when twitter-text reads the text from left to right.
    entities = [(span.start, 0, span.end, TRANSFORMED_URL_LENGTH * SCALE) for span in find_x_urls(text)]
    if not text.isascii():
        entities += [(m.start(), 1, m.end(), DEFAULT_WEIGHT) for m in _emoji_pattern().finditer(text)]
        entities += [(m.start(), 1, m.end(), DEFAULT_WEIGHT) for m in _flag_pattern().finditer(text)]
        entities.sort()
    total = 0
    index = 0
    for start, _, end, weight in entities:
        if start < index:
            continue
        total += _plain_weight(text, index, start) + weight
        index = end
    total += _plain_weight(text, index, len(text))
    return total // SCALE

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

import bisect
import functools
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
_RANGE_STARTS = [first for first, _, _ in LIGHT_RANGES]

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


@functools.cache
def _emoji_pattern():
    import regex

    flag = "|".join(_regional_indicators(region) for region in _FLAG_REGIONS)
    subdivision_flag = "|".join(_tag_sequence(name) for name in _SUBDIVISIONS)
    keycap = "[#*0-9]\ufe0f?\u20e3"
    pictograph = (
        r"(?:\p{Emoji_Modifier_Base}\p{Emoji_Modifier}"
        r"|[\p{Extended_Pictographic}&&\p{Emoji_Presentation}]"
        r"|[\p{Extended_Pictographic}--\p{Emoji_Presentation}]\ufe0f?)"
    )
    zwj_chain = rf"{pictograph}(?:\u200d{pictograph})*"
    return regex.compile(f"{flag}|{subdivision_flag}|{keycap}|{zwj_chain}", regex.VERSION1)


def _weight(character: str) -> int:
    code = ord(character)
    index = bisect.bisect_right(_RANGE_STARTS, code) - 1
    if index >= 0:
        first, last, weight = LIGHT_RANGES[index]
        if first <= code <= last:
            return weight
    return DEFAULT_WEIGHT


def weighted_length(text: str) -> int:
    """The length X gives ``text``, in characters (its limit is ``MAX_WEIGHTED_LENGTH``)."""
    text = unicodedata.normalize("NFC", text)
    url_ends = {span.start: span.end for span in find_x_urls(text)}
    emoji_ends = (
        {} if text.isascii() else {m.start(): m.end() for m in _emoji_pattern().finditer(text)}
    )
    total = 0
    index = 0
    while index < len(text):
        if index in url_ends:
            total += TRANSFORMED_URL_LENGTH * SCALE
            index = url_ends[index]
        elif index in emoji_ends:
            total += DEFAULT_WEIGHT
            index = emoji_ends[index]
        else:
            total += _weight(text[index])
            index += 1
    return total // SCALE

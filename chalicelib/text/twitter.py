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
import re

from chalicelib.text import _classes, _indicators
from chalicelib.text.nfc import nfc, nfc_but_for_the_order_of_marks
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


# A text whose start holds a run of indicators in fewer characters than this has its flags counted
# in bulk (``_flag_count_in_bulk``: some 10 ns a character, and 2 more for each letter the
# indicators use), rather than each run found and counted (some 110 ns a run).
_CHARACTERS_PER_RUN = 10


def _flag_count(text: str) -> int:
    if not _classes.outside_bmp(text):
        return 0  # indicators lie outside the plane
    if _classes.often(_INDICATOR_RUN, text, _CHARACTERS_PER_RUN):
        return _flag_count_in_bulk(text)
    # Flags lie within runs of indicators, and most texts repeat a few runs (a flag or two), so
    # each distinct run is read once.
    runs = collections.Counter(_INDICATOR_RUN.findall(text))
    return sum(_flags_in_run(run) * times for run, times in runs.items())


@functools.cache
def _valid_after(first: int) -> bytes:
    """For the letter ``first`` (0-25): 0xFF for each letter byte (see ``_indicators.letters``)
    that makes a flag after it, else 0."""
    seconds = {ord(region[1]) - 65 for region in _FLAG_REGIONS if ord(region[0]) - 65 == first}
    return bytes(0xFF if byte in seconds else 0 for byte in range(256))


def _flag_count_in_bulk(text: str) -> int:
    """``_flag_count``, in bulk operations on one byte a position. A flag starts at each position
    whose indicator and the next make a valid pair, but for one whose pair is taken by the flag
    before it: in each stretch of positions that start valid pairs, a flag starts at its first,
    third, fifth..., as the pairs are read from the left (see ``_flag_pair_text``)."""
    letters = _indicators.letters(text)
    if letters is None or len(text) < 2:
        return 0
    firsts, seconds = letters[:-1], letters[1:]
    size = len(firsts)
    valid = 0  # 0xFF at each position where a valid pair starts
    for first in range(26):
        if bytes((first,)) in firsts:
            valid |= int.from_bytes(firsts.translate(_classes.EQUAL[first]), "little") & int.from_bytes(
                seconds.translate(_valid_after(first)), "little"
            )
    if not valid:
        return 0
    # The stretches that start at an even position: adding 1 at a stretch's first byte carries
    # through it and clears it.
    starts = valid & ~(valid << 8)
    even, odd = _alternate_bytes(size)
    from_even = valid & ~(valid + (starts & even) // 0xFF)
    taken = (from_even & even) | (valid & ~from_even & odd)
    return taken.bit_count() // 8


@functools.lru_cache(maxsize=4)
def _alternate_bytes(size: int) -> tuple[int, int]:
    """0xFF at the even positions of ``size`` bytes, and at the odd ones."""
    even = int.from_bytes(b"\xff\x00" * (size // 2 + 1), "little") & ((1 << 8 * size) - 1)
    return even, ((1 << 8 * size) - 1) ^ even


def _flags_in_run(run: str) -> int:
    return _flag_pairs().subn("", _flag_pair_text(run))[1]


# With fewer emoji than one a this many characters, the emoji pattern reads the text itself;
# with more, the text's emoji kinds are read first. The kinds cost a pass for each Unicode block
# the text uses, the pattern a try where an emoji may start (measured on texts of 1-11 blocks:
# from 6 to 16 the generated mixed scripts gain little, texts of many scripts lose 15%).
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
def _emoji_pattern(keycaps: bool = True, subdivision_flags: bool = True):
    """Every other emoji. Flags are found apart (no other emoji holds a regional indicator), and
    the lookahead lets the scan pass over what cannot start one without trying each branch.
    Without keycaps, "#" and digits are not tried, as in a text without U+20E3 none is one."""
    import regex

    pictograph = (
        r"(?:\p{Emoji_Modifier_Base}\p{Emoji_Modifier}"
        r"|[\p{Extended_Pictographic}&&\p{Emoji_Presentation}]"
        r"|[\p{Extended_Pictographic}--\p{Emoji_Presentation}]\ufe0f?)"
    )
    branches = [rf"{pictograph}(?:\u200d{pictograph})*"]  # a chain of pictographs
    first = r"\p{Extended_Pictographic}\p{Emoji_Modifier_Base}"
    if keycaps:
        branches.insert(0, "[#*0-9]\ufe0f?\u20e3")
        first = "#*0-9" + first
    if subdivision_flags:
        branches.insert(0, "|".join(_tag_sequence(name) for name in _SUBDIVISIONS))
    return regex.compile(f"(?=[{first}])(?:{'|'.join(branches)})", regex.VERSION1)


def _emoji_pattern_for(text: str):
    """``_emoji_pattern()``, without the branches ``text`` cannot match: a keycap ends in U+20E3,
    a subdivision flag in U+E007F."""
    return _emoji_pattern("\u20e3" in text, "\U000e007f" in text)


@functools.cache
def _emoji_of_more_than_one_heavy_code_point() -> re.Pattern[str]:
    """What every emoji of ``_emoji_pattern`` that is not one heavy code point holds: a joiner,
    a skin tone, U+FE0F, the keycap's U+20E3 or a tag (its parts after the first), or is: one of
    the two light pictographs (tests/unit/test_text_hostile.py checks these are the only ones)."""
    return re.compile("[\u200d\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f\xa9\xae]")


# What ``_emoji_pattern`` reads of a character, as a kind: the pattern's character classes are
# unions of kinds, so the pattern can be read over a text's kinds (``_sequences_in_kinds``), one byte
# a character, at the speed of a bytes regex. Every character of a kind weighs the same (checked
# as the kinds are read), so the weight of what the pattern takes is known too.
(_OTHER, _PICTOGRAPH, _TEXT_PICTOGRAPH, _LIGHT_PICTOGRAPH, _MODIFIER_BASE, _TEXT_MODIFIER_BASE) = range(6)
(_MODIFIER, _VS16, _JOINER, _KEYCAP, _KEYCAP_BASE, _BLACK_FLAG, _CANCEL_TAG) = range(6, 13)
_TAG_LETTERS = "".join(sorted(set("".join(_SUBDIVISIONS))))
_TAG_KIND = {letter: 13 + index for index, letter in enumerate(_TAG_LETTERS)}
_LIGHT_KINDS = bytes((_OTHER, _LIGHT_PICTOGRAPH, _JOINER, _KEYCAP_BASE))
_PRESENTATION = (_PICTOGRAPH, _MODIFIER_BASE, _BLACK_FLAG)  # shown as emoji by default
_TEXT_PRESENTATION = (_TEXT_PICTOGRAPH, _LIGHT_PICTOGRAPH, _TEXT_MODIFIER_BASE)  # as text, but before U+FE0F
_FIRST = (_KEYCAP_BASE, *_PRESENTATION, *_TEXT_PRESENTATION)  # what may start an emoji


@functools.cache
def _emoji_kinds(block: int) -> bytes:
    special = {
        "\ufe0f": _VS16,
        "\u200d": _JOINER,
        "\u20e3": _KEYCAP,
        "\U0001f3f4": _BLACK_FLAG,
        "\U000e007f": _CANCEL_TAG,
        **dict.fromkeys("#*0123456789", _KEYCAP_BASE),
        **{chr(0xE0000 + ord(letter)): kind for letter, kind in _TAG_KIND.items()},
    }
    characters = _classes.block_characters(block)
    if block not in _SPECIAL_BLOCKS and not _emoji_property().search(characters):
        return bytes(256)  # all of kind _OTHER (most blocks)

    pictographic = _classes.having("Extended_Pictographic", characters)
    presentation = _classes.having("Emoji_Presentation", characters)
    base = _classes.having("Emoji_Modifier_Base", characters)
    modifier = _classes.having("Emoji_Modifier", characters)
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
    return _classes.any_of(kinds)


@functools.cache
def _sequences_in_kinds() -> re.Pattern[bytes]:
    """``_emoji_pattern`` over kinds, where a sequence starts: the same alternatives, each class
    the kinds it holds. It is written as the first character, then what may follow it, in the
    order of the alternatives it starts (a lookbehind names them), so that the search skips at C
    speed to a character that may start an emoji instead of trying the alternatives everywhere;
    and it tries them only where U+FE0F, a keycap, a tag, or a joiner and a pictograph follow
    (after a skin tone or not). Elsewhere the pattern takes a lone pictograph, with its skin tone
    if it has one, and goes on after it: leaving those to ``_lone_emoji_in_kinds`` moves none of
    the matches this finds (a skin tone starts none)."""
    presentation, text_presentation = _PRESENTATION, _TEXT_PRESENTATION
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
    first = _kinds(*_FIRST)
    return re.compile(
        b"%s(?=%s?(?:%s|%s%s))(?:(?<=%s)(?:%s)|(?<=%s)%s?%s|(?<=%s)%s%s|(?<=%s)%s|(?<=%s)%s?%s)"
        % (
            first,
            _kinds(_MODIFIER),
            _kinds(*_KINDS_OF_SEQUENCES.replace(bytes((_JOINER,)), b"")),
            _kinds(_JOINER),
            _kinds(*_PRESENTATION, *_TEXT_PRESENTATION),  # a joiner joins only a pictograph
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


# The kinds that only sequences hold: without them, every emoji is one pictograph, and a skin
# tone after a base that takes one.
_KINDS_OF_SEQUENCES = bytes((_VS16, _JOINER, _KEYCAP, _CANCEL_TAG, *_TAG_KIND.values()))
_KINDS_OF_PICTOGRAPHS = bytes(
    (_PICTOGRAPH, _TEXT_PICTOGRAPH, _LIGHT_PICTOGRAPH, _MODIFIER_BASE, _TEXT_MODIFIER_BASE, _BLACK_FLAG)
)
_BASE_1_MODIFIER_2 = bytes(
    1 if kind in (_MODIFIER_BASE, _TEXT_MODIFIER_BASE) else 2 if kind == _MODIFIER else 0 for kind in range(256)
)


@functools.cache
def _sequence_start() -> re.Pattern[bytes]:
    """Where an emoji of more than a pictograph and its skin tone may start: a joiner, U+FE0F, a
    keycap or a tag right after what may start an emoji (or after a base and its skin tone), as
    every sequence of ``_emoji_pattern`` has. Elsewhere they join nothing: a joiner between
    letters, as Indic text writes them, leaves every emoji of the text a lone one."""
    return re.compile(b"%s%s?%s" % (_kinds(*_FIRST), _kinds(_MODIFIER), _kinds(*_KINDS_OF_SEQUENCES)))


def _lone_emoji_in_kinds(kinds: bytes) -> tuple[int, int]:
    """What ``_emoji_pattern`` finds in kinds where no sequence starts (``_sequence_start``):
    how many emoji, and what they weigh by code point in hundredths / SCALE, counted in
    bytes rather than matched one by one (some 140 ns each, for a post of emoji with skin tones
    twice a plain post's count). Each pictograph is an emoji, with the skin tone right after it
    when it is a base; the other skin tones are not. Every such character is heavy but the light
    pictographs."""
    emoji = len(kinds) - len(kinds.translate(None, _KINDS_OF_PICTOGRAPHS))
    toned = kinds.translate(_BASE_1_MODIFIER_2).count(b"\x01\x02")
    characters = emoji + toned
    return emoji, characters + characters - kinds.count(_LIGHT_PICTOGRAPH)


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
    # Without a ".", a text holds no URL, and what it weighs depends on its code points alone
    # (emoji hold no marks): the order of its marks does not matter.
    text = nfc(text) if "." in text else nfc_but_for_the_order_of_marks(text)
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
    outside_bmp = 0 if text.isascii() else _classes.outside_bmp(text)
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
                rest, emoji = _emoji_pattern_for(text).subn("", text)
                return _plain_weight(rest) + (emoji - _flag_count(text)) * DEFAULT_WEIGHT
            # Many: they are found in the text's emoji kinds, one byte a character (see
            # _emoji_kinds), where a match costs a tenth of one in the text, once the kinds are
            # read (some 0.15 ms a block of 256 code points, for a post).
            kinds = _classes.classes(text, _emoji_kinds)
            emoji = removed = 0  # removed: what the emoji weigh by code point, in hundredths / SCALE
            if _sequence_start().search(kinds) is not None:
                # Each sequence gives way to a character of no kind, which keeps a skin tone
                # after it from passing for the tone of a pictograph before it.
                rest, emoji = _sequences_in_kinds().subn(bytes((_OTHER,)), kinds)
                removed = len(kinds) - len(rest) + emoji + _heavy(kinds) - _heavy(rest)
                kinds = rest
            lone, lone_removed = _lone_emoji_in_kinds(kinds)
            emoji, removed = emoji + lone, removed + lone_removed
            return _plain_weight(text) - removed * SCALE + (emoji - _flag_count(text)) * DEFAULT_WEIGHT
        entities += [(m.start(), 1, m.end(), DEFAULT_WEIGHT) for m in _emoji_pattern_for(text).finditer(text)]
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

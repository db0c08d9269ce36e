"""A domain's length in IDNA form, exactly as Python's "idna" codec gives it, without the codec.

twitter-text drops a URL whose domain has no IDNA form (a label over 63 octets once in punycode)
and counts the domain's punycode length against its 4,096 characters. Python's codec (IDNA 2003)
costs 10-130 µs a domain that is not ASCII: nameprep and punycode are written in Python, a
character at a time, and a post holds thousands of distinct domains. Here:

- an ASCII domain is checked as the codec checks it (labels of 1-63 characters);
- a label of characters that nameprep keeps as they are, or maps to such characters
  (``_nameprep.py``: accented and non-Latin letters, digits, most symbols), is prepared by one
  ``str.translate``, and its punycode length is computed from the positions of its characters
  by rank, a few integer operations a character, stopping once the label is too long;
- any other label (marks that compose, right-to-left letters, prohibited characters) goes to the
  codec's own ``ToASCII``.

tests/unit/test_text_idna.py compares the result with the codec's on random domains.
"""

from __future__ import annotations

import functools
import re

_DOTS = re.compile("[.\u3002\uff0e\uff61]")  # the codec's label separators (IDNA section 3.1)
_LABEL_MAX = 63
_ACE_PREFIX = "xn--"


@functools.lru_cache(maxsize=1024)
def idna_growth(domain: str) -> int | None:
    """How much longer ``domain`` is in IDNA form, or None when it has none: what a URL finder
    asks of each domain it finds (a text repeating a domain pays once)."""
    length = idna_length(domain)
    return None if length is None else length - len(domain)


def idna_length(domain: str) -> int | None:
    """``len(domain.encode("idna"))``, or None where the codec raises UnicodeError."""
    if domain.isascii():
        # The codec's ASCII path: every label but the last of 1-63 characters, the last under 64.
        labels = domain.split(".")
        if len(labels[-1]) > _LABEL_MAX or not all(0 < len(label) <= _LABEL_MAX for label in labels[:-1]):
            return None
        return len(domain)
    labels = _DOTS.split(domain)
    trailing_dot = 0
    if not labels[-1]:
        trailing_dot = 1
        del labels[-1]
    total = len(labels) - 1 + trailing_dot
    for label in labels:
        length = _label_length(label)
        if length is None:
            return None
        total += length
    return total


def _label_length(label: str) -> int | None:
    """``len(encodings.idna.ToASCII(label))``, or None where it raises."""
    if label.isascii():
        return len(label) if 0 < len(label) <= _LABEL_MAX else None
    if not _preparable().fullmatch(label):
        return _codec_label_length(label)
    if _mapped().search(label):
        label = label.translate(_mapping(label))
        if label.isascii():
            return len(label) if 0 < len(label) <= _LABEL_MAX else None
    # Nameprep lowers ASCII letters (B.2), which changes no punycode length but the prefix check.
    if label[:4].isascii() and label[:4].lower() == _ACE_PREFIX:
        return None
    length = punycode_length(label, _LABEL_MAX - len(_ACE_PREFIX))
    return None if length is None else len(_ACE_PREFIX) + length


@functools.lru_cache(maxsize=1024)
def _codec_label_length(label: str) -> int | None:
    from encodings.idna import ToASCII

    try:
        return len(ToASCII(label))
    except UnicodeError:
        return None


def _ranges_class(table: str) -> str:
    from chalicelib.text._nameprep import ranges

    return "".join(f"{re.escape(chr(first))}-{re.escape(chr(last))}" for first, last in ranges(table))


@functools.cache
def _preparable() -> re.Pattern[str]:
    from chalicelib.text._nameprep import MAPPED, UNCHANGED

    return re.compile(rf"[\x00-\x7f{_ranges_class(UNCHANGED)}{_ranges_class(MAPPED)}]*")


@functools.cache
def _mapped() -> re.Pattern[str]:
    from chalicelib.text._nameprep import MAPPED

    return re.compile(f"[{_ranges_class(MAPPED)}]")


_MAPPING: dict[int, str] = {}  # nameprep's mapping of the MAPPED characters met so far


def _mapping(label: str) -> dict[int, str]:
    import stringprep

    for character in set(_mapped().findall(label)):
        if ord(character) not in _MAPPING:
            mapped = "" if stringprep.in_table_b1(character) else stringprep.map_table_b2(character)
            _MAPPING[ord(character)] = mapped
    return _MAPPING


def punycode_length(text: str, limit: int) -> int | None:
    """``len(text.encode("punycode"))``, or None when it exceeds ``limit``.

    The codec (RFC 3492, Python's ``encodings.punycode``) writes the basic code points, a "-",
    then one delta for each other code point, taken in order of code point then position: the
    distance from the previous insertion, counted over the characters below it. Those counts are
    read here from a bit mask of the positions of the smaller characters, so a label costs a few
    integer operations a character instead of a scan of the label for each code point.
    """
    codes = list(map(ord, text))
    order = sorted(range(len(codes)), key=codes.__getitem__)
    basic = sum(code < 0x80 for code in codes)
    length = basic + 1 if basic else 0
    if length + len(codes) - basic > limit:
        return None  # every delta takes a digit at least
    smaller = 0  # the positions of the characters below the current code point
    for position in order[:basic]:
        smaller |= 1 << position
    previous_code, previous_index, bias, points = 0x80, -1, 72, 0
    current, occurrence, pending, delta = -1, 0, 0, 0
    for position in order[basic:]:
        code = codes[position]
        if code != current:
            smaller |= pending
            pending = 0
            delta = (smaller.bit_count() + 1) * (code - previous_code)
            previous_code = current = code
            occurrence = 0
        index = (smaller & ((1 << position) - 1)).bit_count() + occurrence
        value = delta + index - previous_index - 1
        previous_index, delta = index, 0
        occurrence += 1
        pending |= 1 << position
        # The generalised variable-length integer (RFC 3492 3.3): its number of digits, the
        # threshold of digit j being 36 (j + 1) - bias held within 1-26.
        step, rest = 36 - bias, value
        while True:
            threshold = 1 if step < 1 else 26 if step > 26 else step
            length += 1
            if rest < threshold:
                break
            rest = (rest - threshold) // (36 - threshold)
            step += 36
        if length > limit:
            return None
        # Bias adaptation (RFC 3492 3.4).
        value = value // 700 if points == 0 else value // 2
        points += 1
        value += value // (basic + points)
        divisions = 0
        while value > 455:
            value //= 35
            divisions += 36
        bias = divisions + 36 * value // (value + 38)
    return length

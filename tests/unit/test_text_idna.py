"""A domain's IDNA length (chalicelib/text/_idna.py) is the one Python's "idna" codec gives.

URL finding drops a URL whose domain has no IDNA form and counts the rest against 4,096
characters with their punycode length; ``_idna`` computes that length without the codec, which
costs 10-130 µs a domain. Here the result is compared with the codec's on random domains of
every kind of character nameprep treats apart, and the tables of characters it relies on are
computed again from ``stringprep`` and Unicode 3.2.
"""

from __future__ import annotations

import stringprep
from unicodedata import ucd_3_2_0

from hypothesis import example, given, settings
from hypothesis import strategies as st

from chalicelib.text import _idna, _nameprep


def _codec_length(domain: str) -> int | None:
    try:
        return len(domain.encode("idna"))
    except UnicodeError:
        return None


# Characters nameprep keeps, maps (case, "ß" to "ss", soft hyphen to nothing), normalises
# (compatibility forms, marks that compose), prohibits, or checks for direction; its dots.
_PIECES = [
    *"abcxyz0189-",
    *"XNK",
    *"éèñüàß",
    *"ÉÑÀÜ",
    *"例字中文漢",
    *"жфрЖФР",
    *"ααΑΩ",
    *"\u0301\u0308\u0323",
    *"שלוםمرحبا",
    *"\u00ad\u200b\u200c\u200d\ufe0f",
    *"\u3002\uff0e\uff61.",
    *"Kſİﬁ²①Ⅻ㎏",
    *"\U0001d400\U0001d41a\U00010400\U0001f600",
    *"\ue000\uffff\u2028\u0080\u009f",
    *"가각\u1100\u1161\u11a8",
    "xn--",
    "XN--",
]
_LABEL = st.one_of(
    st.lists(st.sampled_from(_PIECES), max_size=70).map("".join),
    st.builds(lambda letter, count: letter * count, st.sampled_from(_PIECES), st.integers(1, 70)),
    st.text(st.characters(min_codepoint=0x80, exclude_categories=["Cs"]), max_size=25),
)
_DOMAIN = st.builds(
    lambda labels, dot: ".".join(labels) + dot, st.lists(_LABEL, min_size=1, max_size=4), st.sampled_from(["", "."])
)


@settings(max_examples=3000, deadline=None)
@given(_DOMAIN)
@example("ééé.рф")
@example("例" * 20 + ".com")
@example("é" * 59 + ".com")
@example("ß" * 31 + ".com")
@example("XN--é.com")
@example("a。.com")
@example("\u00ad.com")
def test_idna_length_is_the_codecs(domain):
    assert _idna.idna_length(domain) == _codec_length(domain)


@settings(max_examples=2000, deadline=None)
@given(
    st.text(st.characters(min_codepoint=0, exclude_categories=["Cs"]), min_size=1, max_size=70),
    st.sampled_from([59, 10_000]),
)
def test_punycode_length_is_the_codecs(text, limit):
    length = len(text.encode("punycode"))
    assert _idna.punycode_length(text, limit) == (length if length <= limit else None)


def _ranges(points: list[int]) -> list[tuple[int, int]]:
    found: list[list[int]] = []
    for point in points:
        if found and found[-1][1] == point - 1:
            found[-1][1] = point
        else:
            found.append([point, point])
    return [(first, last) for first, last in found]


def test_the_tables_are_what_nameprep_does():
    # Characters that may follow another in a canonical composition (NFKC quick check Maybe),
    # Hangul vowels and trailing consonants included: a string of the others is in NFKC.
    seconds = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    for code in range(0x110000):
        decomposition = ucd_3_2_0.decomposition(chr(code))
        if decomposition and not decomposition.startswith("<") and len(decomposition.split()) == 2:
            seconds.add(int(decomposition.split()[1], 16))
    prohibited = [getattr(stringprep, f"in_table_{name}") for name in ("c12", "c22", "c3", "c4", "c5", "c6", "c7")]
    prohibited += [stringprep.in_table_c8, stringprep.in_table_c9, stringprep.in_table_d1]

    def kept(character: str) -> bool:
        return (
            character.isascii()
            or ucd_3_2_0.normalize("NFKC", character) == character
            and ord(character) not in seconds
            and ucd_3_2_0.combining(character) == 0
            and not any(table(character) for table in prohibited)
        )

    unchanged, mapped = [], []
    for code in range(0x80, 0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        character = chr(code)
        if stringprep.in_table_b1(character):
            mapped.append(code)
        elif (target := stringprep.map_table_b2(character)) == character:
            if kept(character):
                unchanged.append(code)
        elif all(kept(part) for part in target):
            mapped.append(code)
    assert _nameprep.ranges(_nameprep.UNCHANGED) == _ranges(unchanged)
    assert _nameprep.ranges(_nameprep.MAPPED) == _ranges(mapped)


def test_distinct_domains_cost_a_fraction_of_the_codec():
    # What the fast path is for: a post of thousands of distinct domains. Timed in this
    # process's CPU time, best of five, against the codec on the same domains.
    import random
    import time

    rng = random.Random(13)
    letters = ["".join(map(chr, range(0x4E00, 0x9FFF, 7))), "éñüàжфр", "abcéñü"]
    domains = [
        "".join(rng.choice(letters[index % 3]) for _ in range(rng.randint(3, 25))) + ".com" for index in range(300)
    ]

    def cost(measure) -> float:
        best = float("inf")
        for _ in range(5):
            started = time.process_time()
            for domain in domains:
                measure(domain)
            best = min(best, time.process_time() - started)
        return best

    assert [_idna.idna_length(domain) for domain in domains] == [_codec_length(domain) for domain in domains]
    ratio = cost(_idna.idna_length) / cost(_codec_length)
    assert ratio <= 0.5, f"{ratio:.2f} of the codec's cost"

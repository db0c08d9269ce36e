"""Character counting per platform, on the cases users of other schedulers trip over.

Every expected number is worked out by hand in the comment beside it, from the platform's rule (see
chalicelib/text/*.py for the rules and their sources), never by running the code under test.
"""

from __future__ import annotations

import unicodedata

import pytest

from chalicelib.text import PLATFORM_RULES, Measurement, Violation, check, measure
from chalicelib.text.graphemes import grapheme_count
from chalicelib.text.mastodon import status_length
from chalicelib.text.plain import code_points, utf8_bytes, utf16_code_units
from chalicelib.text.twitter import weighted_length

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 👨‍👩‍👧‍👦, 7 code points
WOMAN_TECHNOLOGIST_MEDIUM = "\U0001f469\U0001f3fd\u200d\U0001f4bb"  # 👩🏽‍💻
THUMBS_UP_MEDIUM = "\U0001f44d\U0001f3fd"  # 👍🏽
JAPAN = "\U0001f1ef\U0001f1f5"  # 🇯🇵: regional indicators J and P
FRANCE = "\U0001f1eb\U0001f1f7"
NOT_A_FLAG = "\U0001f1e6\U0001f1e6"  # A + A: no country "AA"
KEYCAP_ONE = "1\ufe0f\u20e3"  # 1️⃣
GRINNING = "\U0001f600"  # 😀, outside the BMP
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
RED_HEART = "\u2764\ufe0f"  # ❤️: a text-style symbol made emoji by U+FE0F

# X: twitter-text v3. Code points in U+0000-10FF, U+2000-200D, U+2010-201F, U+2032-2037 weigh 1,
# all others 2; an emoji (with its modifiers, joiners, selectors) weighs 2; a URL weighs 23; the
# text is NFC-normalised first.
X_CASES = [
    ("hello", 5, "five ASCII letters, 1 each"),
    ("日本語", 6, "three CJK ideographs, outside the light ranges: 2 each"),
    ("\U00020bb7", 2, "𠮷, an astral CJK ideograph: 2"),
    ("Привет", 6, "Cyrillic is below U+10FF: 1 each"),
    (GRINNING, 2, "one emoji"),
    (THUMBS_UP_MEDIUM, 2, "emoji + skin tone: one emoji, not 2 + 2"),
    (FAMILY, 2, "four people joined by three ZWJ: one emoji, not 4x2 + 3x1 = 11"),
    (WOMAN_TECHNOLOGIST_MEDIUM, 2, "profession with skin tone: one emoji"),
    (JAPAN, 2, "a flag is one emoji"),
    (JAPAN + FRANCE, 4, "two flags, 2 each"),
    (NOT_A_FLAG, 4, "no flag AA: two regional indicators, each a lone astral code point, 2 + 2"),
    ("\U0001f1e8\U0001f1f6", 2, "Sark (C + Q), a flag since Emoji 16.0: one emoji"),
    (SCOTLAND, 2, "black flag + five tags + cancel tag: one emoji"),
    (KEYCAP_ONE, 2, "digit + U+FE0F + U+20E3: one emoji"),
    ("#\u20e3", 2, "a keycap without U+FE0F is still one emoji"),
    ("1", 1, "a bare digit is ASCII, 1"),
    (RED_HEART, 2, "U+2764 + U+FE0F: one emoji (the parts alone would weigh 2 + 2)"),
    ("\u00a9", 2, "© is below U+10FF (weight 1) but X treats it as an emoji: 2"),
    ("H\U0001f431\u263a" + FAMILY, 7, "conformance: H 1 + cat 2 + ☺ 2 (U+263A default) + family 2"),
    ("\u2018\u2019\u201c\u201d", 4, "curly quotes U+2018-201D are in U+2010-201F: 1 each"),
    ("\u2014", 1, "em dash U+2014 is in U+2010-201F: 1"),
    ("\u2026", 2, "ellipsis U+2026 falls between the light ranges: 2"),
    ("\u2022", 2, "bullet U+2022 falls between the light ranges: 2"),
    ("\u2032", 1, "prime U+2032 is in U+2032-2037: 1"),
    ("e\u0301", 1, "NFD é: NFC makes it U+00E9, one light code point"),
    ("\u00e9", 1, "NFC é: 1"),
    ("Vie\u0323\u0302t", 5, "NFD 'Việt' (6 code points); NFC = V 1 + i 1 + ệ U+1EC7 2 + t 1"),
    ("Vi\u1ec7t", 5, "the same word already in NFC: 5"),
    (
        "A\ufb2c",
        4,
        "conformance: U+FB2C is excluded from composition, NFC splits it into 3 Hebrew code points (1 each) + A 1",
    ),
    ("https://example.com", 23, "a URL: 23"),
    ("https://example.com/" + "a" * 300, 23, "a long URL is still 23"),
    ("HTTPS://WWW.EXAMPLE.COM/Index.html", 23, "scheme and TLD in capitals: 23"),
    ("example.com", 23, "no scheme, known TLD: a URL, 23"),
    ("t.co/x", 23, "no scheme, ccTLD with a path: 23"),
    ("www.example.co.uk/path?q=1", 23, "no scheme, subdomains, path and query: 23"),
    ("foo.bar123", 10, "bar123 is no TLD: ten ASCII characters"),
    ("readme.txt", 10, "txt is no TLD: ten ASCII characters"),
    ("user@example.com", 16, "an e-mail address is not a URL: 16 ASCII characters"),
    ("@example.com", 12, "a handle-like @example.com is not a URL: 12"),
    (
        "ftp://example.com",
        17,
        "ftp is not a URL scheme for X, and example.com after '/' is not taken without a scheme: 17 characters",
    ),
    ("http://localhost:8080", 21, "no TLD: 21 characters"),
    ("https://192.168.0.1/", 20, "an IP address is not a URL: 20 characters"),
    ("Visit https://example.com.", 30, "'Visit ' 6 + URL 23 + the final '.' 1"),
    ("see https://example.com/path", 27, "URL at the very end: 'see ' 4 + 23"),
    ("(example.com)", 25, "parentheses around a URL: 1 + 23 + 1"),
    ("https://en.wikipedia.org/wiki/Foo_(bar)", 23, "balanced parentheses belong to the URL"),
    ("a.com b.org https://c.net/x", 71, "three URLs and two spaces: 23 + 1 + 23 + 1 + 23"),
    ("http://t.co/abcdef/xyz", 27, "a t.co link ends after its slug: 23 + '/xyz' 4"),
    ("https://例え.jp", 23, "an internationalised domain after a scheme: 23"),
    ("例え.jp", 7, "without a scheme only ASCII domains count: 2 + 2 + '.jp' 3"),
    ("a" * 64 + ".com", 68, "a 64-character label is no domain: 68 ASCII characters"),
    ("", 0, "nothing"),
]


@pytest.mark.parametrize(("text", "expected", "reasoning"), X_CASES, ids=[c[2] for c in X_CASES])
def test_x_weighted_length(text, expected, reasoning):
    assert weighted_length(text) == expected


def test_x_counts_the_nfc_form_of_nfd_text():
    nfd = unicodedata.normalize("NFD", "Việt Nam ở đâu")
    # NFC: V i ệ t (ệ U+1EC7: 2) space N a m space ở (U+1EDF: 2) space đ (U+0111: 1) â (U+00E2: 1) u
    # = 14 code points, two of them weighing 2: 14 + 2 = 16. NFD splits ệ and ở into three code
    # points and â into two (đ has no decomposition): 14 + 2 + 2 + 1 = 19 code points, which would
    # weigh 19 if X did not normalise.
    assert len(nfd) == 19
    assert weighted_length(nfd) == 16


# Bluesky: at most 300 graphemes and 3000 UTF-8 bytes.
BLUESKY_CASES = [
    ("hello", 5, 5, "ASCII: one grapheme and one byte each"),
    ("e\u0301", 1, 3, "e + combining acute: one grapheme; 1 + 2 bytes"),
    ("\u00e9", 1, 2, "precomposed é: one grapheme, two bytes"),
    ("\r\n", 1, 2, "CR LF is a single grapheme"),
    (FAMILY, 1, 25, "one grapheme; four 4-byte people + three 3-byte ZWJ = 16 + 9"),
    (JAPAN, 1, 8, "a flag: one grapheme of two 4-byte regional indicators"),
    (KEYCAP_ONE, 1, 7, "keycap: one grapheme; 1 + 3 + 3 bytes"),
    (THUMBS_UP_MEDIUM, 1, 8, "emoji + skin tone: one grapheme, 4 + 4 bytes"),
    ("日本語", 3, 9, "three ideographs of 3 bytes"),
    ("\ud83d", 1, 3, "a lone surrogate from JSON: one grapheme, 3 bytes"),
]


@pytest.mark.parametrize(("text", "graphemes", "octets", "reasoning"), BLUESKY_CASES, ids=[c[3] for c in BLUESKY_CASES])
def test_bluesky_graphemes_and_bytes(text, graphemes, octets, reasoning):
    assert grapheme_count(text) == graphemes
    assert utf8_bytes(text) == octets


# Mastodon: graphemes; a URL with a scheme counts 23; @user@domain counts as @user.
MASTODON_CASES = [
    ("hello", 5, "five graphemes"),
    (FAMILY, 1, "one grapheme"),
    ("https://example.com/" + "a" * 100, 23, "a URL counts 23 however long"),
    ("https://example.com", 23, "a short URL counts 23 too"),
    ("example.com", 11, "no scheme: not a URL on Mastodon, 11 characters"),
    ("see https://example.com.", 28, "'see ' 4 + 23 + the final '.' 1"),
    ("gemini://example.org/x", 23, "gemini is one of Mastodon's URL schemes"),
    ("https://a.com/x https://b.org/y", 47, "two URLs and a space: 23 + 1 + 23"),
    ("@alice@example.social hi", 9, "'@alice' 6 + ' hi' 3: the domain is not counted"),
    ("@alice hi", 9, "a local mention counts as written: 9"),
    ("https://mastodon.social/@alice@example.com", 23, "a mention inside a URL is part of it"),
    ("   ", 0, "whitespace only counts nothing"),
]


@pytest.mark.parametrize(("text", "expected", "reasoning"), MASTODON_CASES, ids=[c[2] for c in MASTODON_CASES])
def test_mastodon_status_length(text, expected, reasoning):
    assert status_length(text) == expected


def test_mastodon_counts_the_content_warning_with_the_text():
    # "CW" 2 + "hello" 5
    assert status_length("hello", spoiler_text="CW") == 7


def test_mastodon_url_length_follows_the_server():
    # a server reserving 30 characters per URL: 'x ' 2 + 30
    assert status_length("x https://example.com", characters_per_url=30) == 32


# Plain units.
PLAIN_CASES = [
    ("abc", 3, 3, 3, "ASCII: one of each"),
    (GRINNING, 1, 2, 4, "astral emoji: one code point, a surrogate pair, four bytes"),
    ("\u00e9", 1, 1, 2, "é: BMP, two bytes"),
    ("\U00020bb7", 1, 2, 4, "astral ideograph 𠮷"),
    (FAMILY, 7, 11, 25, "four astral people (2 units each) and three BMP joiners"),
    ("\ud83d", 1, 1, 3, "lone surrogate: one unit, three bytes"),
]


@pytest.mark.parametrize(
    ("text", "points", "units", "octets", "reasoning"), PLAIN_CASES, ids=[c[4] for c in PLAIN_CASES]
)
def test_plain_units(text, points, units, octets, reasoning):
    assert code_points(text) == points
    assert utf16_code_units(text) == units
    assert utf8_bytes(text) == octets


# Each platform at exactly its limit (fits) and one unit past it (one violation).
BOUNDARY_CASES = [
    # platform, text at the limit, text one over, unit, limit, options
    ("twitter", "a" * 280, "a" * 281, "weighted_characters", 280, {}),
    ("twitter", "の" * 140, "の" * 140 + "a", "weighted_characters", 280, {}),  # 140 x 2 = 280
    ("twitter", GRINNING * 140, GRINNING * 140 + "a", "weighted_characters", 280, {}),
    # 256 + ' ' 1 + URL 23 = 280
    (
        "twitter",
        "a" * 256 + " https://example.com/x",
        "a" * 257 + " https://example.com/x",
        "weighted_characters",
        280,
        {},
    ),
    ("twitter", "a" * 25000, "a" * 25001, "weighted_characters", 25000, {"max_characters": 25000}),
    ("bluesky", "a" * 300, "a" * 301, "graphemes", 300, {}),
    ("bluesky", FAMILY * 120, FAMILY * 120 + "a", "utf8_bytes", 3000, {}),  # 120 x 25 = 3000
    ("mastodon", "a" * 500, "a" * 501, "characters", 500, {}),
    ("mastodon", FAMILY * 500, FAMILY * 501, "characters", 500, {}),  # one grapheme each
    ("mastodon", "a" * 1000, "a" * 1001, "characters", 1000, {"max_characters": 1000}),
    ("threads", "a" * 500, "a" * 501, "utf8_bytes", 500, {}),
    ("threads", GRINNING * 125, "a" * 498 + "\u2019", "utf8_bytes", 500, {}),  # 125 x 4; 498 + 3
    ("linkedin", "a" * 3000, "a" * 3001, "utf16_code_units", 3000, {}),
    ("linkedin", GRINNING * 1500, GRINNING * 1500 + "a", "utf16_code_units", 3000, {}),  # 2 each
    ("discord", "a" * 2000, "a" * 2001, "code_points", 2000, {}),
    ("discord", GRINNING * 2000, GRINNING * 2001, "code_points", 2000, {}),  # one code point each
    ("slack", "a" * 40000, "a" * 40001, "utf16_code_units", 40000, {}),
    ("telegram", "a" * 4096, "a" * 4097, "code_points", 4096, {}),
    ("telegram", GRINNING * 4096, GRINNING * 4097, "code_points", 4096, {}),  # 8192 UTF-16 units
    ("telegram", "a" * 1024, "a" * 1025, "code_points", 1024, {"caption": True}),
    ("instagram", "a" * 2200, "a" * 2201, "utf16_code_units", 2200, {}),
    ("instagram", "\U00020bb7" * 1100, "\U00020bb7" * 1100 + "a", "utf16_code_units", 2200, {}),
    ("tiktok", "a" * 2200, "a" * 2201, "utf16_code_units", 2200, {}),
    ("tiktok", GRINNING * 1100, GRINNING * 1100 + "a", "utf16_code_units", 2200, {}),  # 2 each
    ("facebook", "a" * 63206, "a" * 63207, "utf16_code_units", 63206, {}),
    ("youtube", "a" * 100, "a" * 101, "utf16_code_units", 100, {}),
    ("youtube", GRINNING * 50, GRINNING * 50 + "a", "utf16_code_units", 100, {}),  # 50 x 2
    ("youtube", GRINNING * 1250, GRINNING * 1250 + "a", "utf8_bytes", 5000, {"description": True}),
]


@pytest.mark.parametrize(
    ("platform", "at_limit", "over", "unit", "limit", "options"),
    BOUNDARY_CASES,
    ids=[f"{c[0]}-{c[3]}-{c[4]}-{i}" for i, c in enumerate(BOUNDARY_CASES)],
)
def test_limit_is_inclusive_and_one_more_is_a_violation(platform, at_limit, over, unit, limit, options):
    assert check(platform, at_limit, field="content", **options) == []
    violations = check(platform, over, field="content", **options)
    assert [(v.unit, v.limit, v.length) for v in violations] == [(unit, limit, limit + 1)]


def test_bluesky_text_of_300_graphemes_can_still_be_too_many_bytes():
    # 300 family emoji: 300 graphemes (at the limit) but 300 x 25 = 7500 bytes
    violations = check("bluesky", FAMILY * 300, field="content")
    assert violations == [
        Violation(
            platform="bluesky",
            field="content",
            limit=3000,
            length=7500,
            unit="utf8_bytes",
            message="bluesky allows 3000 UTF-8 bytes; content has 7500",
        )
    ]


def test_violation_names_platform_field_and_numbers():
    violations = check("twitter", "a" * 281, field="segments[3].content")
    assert violations == [
        Violation(
            platform="twitter",
            field="segments[3].content",
            limit=280,
            length=281,
            unit="weighted_characters",
            message="twitter allows 280 weighted characters; segments[3].content has 281",
        )
    ]


def test_x_is_an_alias_of_twitter():
    assert [v.platform for v in check("x", "a" * 281, field="content")] == ["twitter"]


def test_measure_gives_every_unit_a_platform_limits():
    # "héllo": 5 graphemes; é takes 2 bytes, so 6 bytes
    assert measure("bluesky", "héllo") == [
        Measurement(unit="graphemes", length=5, limit=300),
        Measurement(unit="utf8_bytes", length=6, limit=3000),
    ]
    # YouTube: the plain limit is the title's; the description's is separate
    assert measure("youtube", "abc") == [Measurement("utf16_code_units", 3, 100)]
    assert measure("youtube", "abc", description=True) == [Measurement("utf8_bytes", 3, 5000)]
    # a caption on a platform with one limit is measured against that limit
    assert measure("instagram", "abc", caption=True) == [Measurement("utf16_code_units", 3, 2200)]


def test_mastodon_limit_comes_from_the_server():
    assert measure("mastodon", "hello", max_characters=5000) == [Measurement("characters", 5, 5000)]


def test_fixed_limits_refuse_max_characters():
    with pytest.raises(ValueError, match="discord"):
        check("discord", "hello", field="content", max_characters=5000)


def test_max_characters_must_be_positive():
    with pytest.raises(ValueError):
        check("mastodon", "hello", field="content", max_characters=0)


def test_unknown_platform_is_refused():
    with pytest.raises(ValueError, match="myspace"):
        measure("myspace", "hello")


def test_registry_covers_every_platform():
    assert set(PLATFORM_RULES) == {
        "twitter", "bluesky", "mastodon", "threads", "linkedin", "discord",
        "slack", "telegram", "instagram", "tiktok", "facebook", "youtube",
    }  # fmt: skip

"""Our X count against an independent implementation of twitter-text v3.

twitter-text-parser (PyPI, a Python port that passes twitter-text's conformance suite) serves as an
oracle on ordinary posts. Its emoji data is Unicode 12, so the strings avoid newer emoji (and
"\\r\\n", which that port turns into "\\n" before counting); where those matter, the hand-worked
cases in test_text_counting.py decide.
"""

from __future__ import annotations

import pytest

from chalicelib.text.twitter import weighted_length

# It imports pkg_resources, which setuptools 82 and later no longer ship.
twitter_text = pytest.importorskip(
    "twitter_text",
    reason="twitter-text-parser (requirements-dev.txt) is missing or cannot import pkg_resources",
)

ORDINARY_POSTS = [
    "Just shipped a new release 🎉",
    "Good morning! ☀️ Coffee first, then code.",
    "Read the changelog: https://example.com/changelog/v2.3",
    "Docs at docs.example.io and the API at api.example.com/v1",
    "Two links: https://example.org/a?b=c&d=e and http://example.net/path/to/page.html",
    "Trailing punctuation after a link: https://example.com/page.",
    "A link in parentheses (https://en.wikipedia.org/wiki/Unicode_(disambiguation)) works",
    "Write to support@example.com, not to example.com",
    "Short link t.co/abc123 and bit.ly/xyz",
    "Ports work too: https://example.com:8443/status",
    "日本語のツイートです。よろしくお願いします！",
    "中文测试：今天天气很好。",
    "한국어로 된 트윗입니다",
    "Ελληνικά και Русский текст в одном посте",
    "עברית וערבית: مرحبا بالعالم",
    "हिन्दी में एक पोस्ट",
    "Café, naïve, façade, jalapeño, Ångström",
    "Vietnamese: Tiếng Việt có dấu",
    "Quotes “like this” and ‘this’ — and an ellipsis…",
    "Bullets • and primes ′ ″ and daggers † ‡",
    "Math: ∑ ∫ √ ≠ ≤ ≥ ∞",
    "Skin tones 👍🏻 👍🏿 and people 👩‍💻 👨‍🚀",
    "Family: 👨‍👩‍👧‍👦 and flags 🇯🇵 🇫🇷 🇧🇷",
    "Keycaps 1️⃣ 2️⃣ #️⃣ and hearts ❤️ 💙",
    "Copyright © 2026 and registered ®",
    "#hashtag @mention $CASHTAG and a link example.com/x",
    "Tabs\tand\nnew lines\nare characters too",
    "Emoji at the end of a link https://example.com/😀",
    "Uppercase HTTPS://EXAMPLE.COM/PATH and mixed Example.Com",
    "A very long link https://example.com/" + "segment/" * 40 + "end",
    "Internationalised domain https://bücher.de/katalog and schemeless bücher.de",
    "Not links: foo.bar123, readme.txt, localhost:8080, 192.168.0.1",
    "Subdomains www.blog.example.co.uk/post?id=7#comments",
    "Mixed: English text 日本語 😷 https://example.com",
    "x" * 279 + "😀",
    "の" * 141,
]


@pytest.mark.parametrize("text", ORDINARY_POSTS)
def test_weighted_length_matches_twitter_text(text):
    assert weighted_length(text) == twitter_text.parse_tweet(text).weightedLength

"""Mastodon's URLs found from each "://" in one pass of the engine, where no URL without a scheme
can cover a scheme's start (Mastodon keeps only URLs with a scheme): urls.py tries this first and
reads the chains of labels (``_find``) where it does not apply."""

from __future__ import annotations

import functools
import re

from chalicelib.text import _url_grammar as grammar
from chalicelib.text._idna import idna_growth
from chalicelib.text.urls import Span, span_of


@functools.cache
def _urls_after_a_scheme() -> re.Pattern[str]:
    """A Mastodon URL from its "://" on, where a URL may start before its scheme (as
    ``grammar.separator_after_a_scheme``): an empty group after each scheme's lookbehind tells which
    scheme it was (the first empty group of ``groups()``), and the last group is the domain."""
    behind = "|".join(rf"(?<={grammar.MAY_START_AFTER}{word}://)()" for word in grammar.MASTODON_SCHEME_WORDS)
    query = rf"(?:\?{grammar.MASTODON_QUERY_CHAR}*{grammar.MASTODON_QUERY_END})?"
    # Labels, one of them a TLD, read first in a single walk: most "://" without a domain after
    # them fail there, before the domain's pattern tries the labels in several ways.
    labels = rf"(?={grammar.HOST_CHAR}++(?:\.{grammar.HOST_CHAR}++)*?\.{grammar.any_tld()})"
    return re.compile(
        rf"://{grammar.after_a_last_letter(grammar.MASTODON_SCHEME_WORDS)}(?:{behind}){labels}({grammar.domain()})"
        rf"{grammar.PORT}?(?:/{grammar.MASTODON_PATH}*)?{query}",
        re.IGNORECASE,
    )


_SCHEME_LENGTHS = tuple(map(len, grammar.MASTODON_SCHEME_WORDS))  # by the index of the empty group


@functools.cache
def _before_a_hidden_scheme() -> str:
    """The characters before a scheme that a URL without a scheme may cover with its domain,
    ending at the scheme's "://": the end of a punycode TLD ("-" then the scheme), or a TLD that
    is the scheme after a "." (none is, today). No other: the character before a scheme is no
    letter or digit, and a domain holds no ":"."""
    from chalicelib.text._tlds import COUNTRY_CODE_TLDS, GENERIC_TLDS

    tlds = set(GENERIC_TLDS + COUNTRY_CODE_TLDS)
    return "-." if any(word in tlds for word in grammar.MASTODON_SCHEME_WORDS) else "-"


@functools.cache
def _url_may_go_on_past_its_domain() -> re.Pattern[str]:
    """Where a URL without a scheme might cover a scheme's start with a port, path or query: "/",
    "?" or ":" and a digit, not of a "://". Each branch starts with its character, so that the
    search skips to them at C speed."""
    return re.compile(r"[/?](?<![:/][/?])|:(?=[0-9])")


def urls_after_schemes(text: str) -> list[Span] | None:
    """The URLs of ``text`` on Mastodon, when no URL without a scheme can cover a scheme's start
    (None otherwise): then those URLs change nothing of what is found, and the URLs after each
    scheme are found in one pass of the engine. A text dense in URLs with a scheme (one every
    few dozen characters) costs some 1.5 µs a URL this way, against 5 µs reading the chains of
    labels around each.

    twitter-text tries each position in turn; the next URL starts after the character that
    follows the last one found, valid or not (see urls.py, ``_matches``). The pass goes on from the end
    of each: a URL starting right there would be taken where twitter-text skips it, and then
    the text is left to the chains (None), as it is when a scheme follows a "-" that may end
    a punycode TLD before it (see ``_before_a_hidden_scheme``)."""
    # Only what comes before the last scheme may cover one. Most texts hold no "?" there, and
    # no "/" or ":" but those of a "://": counted at C speed.
    last = text.rfind("://") + len("://")
    schemes = text.count("://", 0, last)
    if (
        text.find("?", 0, last) != -1 or text.count(":", 0, last) != schemes or text.count("/", 0, last) != 2 * schemes
    ) and _url_may_go_on_past_its_domain().search(text, 0, last):
        return None
    spans = []
    low = 0
    growth_of, span, limit = idna_growth, span_of, grammar.URL_MAX - len("://")
    hiding = _before_a_hidden_scheme()
    for match in _urls_after_a_scheme().finditer(text):
        # Some 1.3 µs of the engine a URL, and as little Python as can be: urls.py's ``_is_acceptable``
        # written out.
        groups = match.groups()
        separator, end = match.span()
        scheme_length = _SCHEME_LENGTHS[groups.index("")]
        start = separator - scheme_length
        if start < low or start and text[start - 1] in hiding:
            return None
        low = end + 1
        domain = groups[-1]
        growth = growth_of(domain)
        if growth is None or scheme_length + end - start + growth > limit:
            continue
        if domain[1:2] == "." and domain.lower() == "t.co":
            tco = grammar.tco_url().match(text[start:end])  # anchored at the URL's start
            if tco:
                if len(tco[1]) > grammar.TCO_SLUG_MAX:
                    continue
                end = start + tco.end()
        spans.append(span((start, end)))
    return spans

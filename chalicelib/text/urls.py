"""Where the URLs in a post are, found the way X and Mastodon find them.

Both platforms count every URL as 23 characters whatever its length, so a counter must agree with
them on what is a URL: a link we miss is counted at full length, and text we wrongly take for a
link is counted as 23. X's rules are those of its twitter-text library; Mastodon runs the Ruby
twitter-text with its own changes. The character classes and rules below are theirs; the code is
ours, and the grammar is pragmatic rather than complete (see the lists).

Recognised, on X:
- ``http://`` or ``https://`` (any case), then a domain whose top-level domain is on twitter-text's
  list (``_tlds.py``) or is punycode (``xn--...``), then an optional port, path and query:
  ``https://example.com/a(b)?q=1``. Internationalised domains are allowed after a scheme.
- The same without a scheme when the domain is written in ASCII (Latin accents allowed):
  ``example.com``, ``t.co/x``, ``www.example.co.uk/path``, ``foo.jp``.
- A t.co link ends after its slug and query: in ``https://t.co/abc/rest``, ``/rest`` is text.
- A URL ends before trailing punctuation that cannot end a URL: in ``see example.com.`` the final
  ``.`` is text, and so is the ``!`` in ``https://example.com/a!``.

Not recognised, on X:
- a domain without a listed TLD (``localhost``, ``foo.bar123``, ``readme.txt``), an IP address;
- other schemes (``ftp://``); user information (``https://user@example.com``);
- a URL that directly follows a letter, digit, ``@``, ``$`` or ``#`` (so neither an e-mail address
  nor ``@example.com`` is a URL), or, without a scheme, one that follows ``-``, ``_``, ``.``
  or ``/``;
- a domain with a label longer than 63 characters (after punycode), or a URL over 4096 characters.

On Mastodon a URL needs a scheme (http, https, dat, dweb, ipfs, ipns, ssb, gopher or gemini), and
its path and query may hold any non-space character except a few that cannot end them.

Patterns are compiled on first use: they hold some 1,600 top-level domains.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

# Character classes, as twitter-text defines them.
_SPACES = "\t-\r \x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_DIRECTIONAL_MARKS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_INVALID = "\ufeff\ufffe\uffff"
_PUNCTUATION = r"!'#%&()*+,\\\-./:;<=>?@\[\]\^_{|}~$"
_LATIN_ACCENTS = (
    "\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268"
    "\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_CYRILLIC = "\u0400-\u04ff"

# A URL may start at the beginning of the text or after anything but these.
_PRECEDING = rf"(?:[^a-z0-9@\uff20$#\uff03{_INVALID}]|^)"
_DOMAIN_CHAR = rf"[^{_PUNCTUATION}{_SPACES}{_INVALID}{_DIRECTIONAL_MARKS}]"
# A label starts and ends with a domain character and may hold "-" (and "_" in a subdomain). Two
# bounds that twitter-text's grammar lacks keep matching fast on hostile input ("a.a.a.a..." for
# pages): a label of more than 63 characters fails twitter-text's own IDNA check anyway, and no DNS
# name has more than 127 labels. A label ends at the first ".", so the lookahead bounds it, and its
# repetition is possessive: giving characters back could never end it anywhere else.
_LABEL_FITS = r"(?=[^.]{1,63}\.)"
_SUBDOMAIN = rf"(?:{_LABEL_FITS}{_DOMAIN_CHAR}(?:[_-]*{_DOMAIN_CHAR})*+\.)"
_DOMAIN_NAME = rf"(?:{_LABEL_FITS}{_DOMAIN_CHAR}(?:-*{_DOMAIN_CHAR})*+\.)"
_MAX_SUBDOMAINS = 126
_PUNYCODE_TLD = r"xn--[\-0-9a-z]+"
_PORT = r"(?::[0-9]+)"

# Paths and queries on X.
_X_PATH_CHAR = rf"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN_ACCENTS}]"
_X_PARENS = rf"\((?:{_X_PATH_CHAR}+|(?:{_X_PATH_CHAR}*\({_X_PATH_CHAR}+\){_X_PATH_CHAR}*))\)"
_X_PATH_END = rf"(?:[+\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|{_X_PARENS})"
_X_PATH = rf"(?:{_X_PATH_CHAR}*(?:{_X_PARENS}{_X_PATH_CHAR}*)*{_X_PATH_END}|@{_X_PATH_CHAR}+/)"
_X_QUERY_CHAR = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
_X_QUERY_END = r"[a-z0-9\-_&=#/]"

# Paths and queries on Mastodon, which accepts far more characters in both.
_UNICODE_QUERY_CHARS = (
    "\xa0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
    "\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
    "\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
    "\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
    "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
)
_MASTODON_PATH_CHAR = r"[^\s<>()?]"
_MASTODON_PARENS = (
    rf"\((?:{_MASTODON_PATH_CHAR}+"
    rf"|(?:{_MASTODON_PATH_CHAR}*\({_MASTODON_PATH_CHAR}+\){_MASTODON_PATH_CHAR}*))\)"
)
_MASTODON_PATH_END = rf"(?:[^\s()?!*\"'\u300c\u300d<>;:=,.$%\[\]~&|@]|{_MASTODON_PARENS})"
_MASTODON_PATH = (
    rf"(?:{_MASTODON_PATH_CHAR}*(?:{_MASTODON_PARENS}{_MASTODON_PATH_CHAR}*)*{_MASTODON_PATH_END}"
    rf"|{_MASTODON_PATH_CHAR}+/)"
)
_MASTODON_QUERY_CHAR = rf"[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@\^{_UNICODE_QUERY_CHARS}]"
_MASTODON_QUERY_END = rf"[a-z0-9_&=#/\-{_UNICODE_QUERY_CHARS}]"

_X_SCHEME = r"https?://"
_MASTODON_SCHEME = r"(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://"

_TCO_SLUG_MAX = 40
_URL_MAX = 4096
_DEFAULT_SCHEME_LENGTH = len("https://")


class Span(NamedTuple):
    """A URL's position in the text, in code points: ``text[start:end]``."""

    start: int
    end: int


def _prefix_tree(words: list[str]) -> str:
    """A regex matching any of ``words``, factored by common prefixes ("co(?:m(?:munity)?)?"), so
    that the engine walks a tree of some 1,600 TLDs instead of trying each in turn. Longer words
    are tried first and shorter ones on backtracking, as with a plain alternation."""
    tree: dict = {}
    for word in words:
        node = tree
        for character in word:
            node = node.setdefault(character, {})
        node[""] = {}

    def branch(node: dict) -> str:
        children = [re.escape(ch) + branch(child) for ch, child in sorted(node.items()) if ch]
        if not children:
            return ""
        body = children[0] if len(children) == 1 else f"(?:{'|'.join(children)})"
        return f"(?:{body})?" if "" in node else body

    return branch(tree)


@functools.cache
def _tld() -> str:
    from chalicelib.text._tlds import COUNTRY_CODE_TLDS, GENERIC_TLDS

    # The lookahead makes sure a TLD is not just the start of a longer word ("example.comx").
    return rf"(?:{_prefix_tree(GENERIC_TLDS + COUNTRY_CODE_TLDS)}(?=[^0-9a-z@+-]|$))"


def _url_pattern(scheme: str, path: str, query_char: str, query_end: str) -> re.Pattern[str]:
    domain = (
        rf"(?:{_SUBDOMAIN}{{0,{_MAX_SUBDOMAINS}}}{_DOMAIN_NAME}(?:{_tld()}|{_PUNYCODE_TLD}))"
    )
    return re.compile(
        rf"(?P<before>{_PRECEDING})"
        rf"(?P<url>(?P<scheme>{scheme})?(?P<domain>{domain}){_PORT}?"
        rf"(?P<path>/{path}*)?(?:\?{query_char}*{query_end})?)",
        re.IGNORECASE,
    )


@functools.cache
def _x_url() -> re.Pattern[str]:
    return _url_pattern(_X_SCHEME, _X_PATH, _X_QUERY_CHAR, _X_QUERY_END)


@functools.cache
def _mastodon_url() -> re.Pattern[str]:
    return _url_pattern(_MASTODON_SCHEME, _MASTODON_PATH, _MASTODON_QUERY_CHAR, _MASTODON_QUERY_END)


@functools.cache
def _ascii_domain() -> re.Pattern[str]:
    return re.compile(
        rf"(?:[\-a-z0-9{_LATIN_ACCENTS}]+\.)+(?:{_tld()}|{_PUNYCODE_TLD})", re.IGNORECASE
    )


@functools.cache
def _dot_then_tld() -> re.Pattern[str]:
    return re.compile(rf"\.(?:{_tld()}|{_PUNYCODE_TLD})", re.IGNORECASE)


@functools.cache
def _tco_url() -> re.Pattern[str]:
    return re.compile(
        rf"^https?://t\.co/([a-z0-9]+)(?:\?{_X_QUERY_CHAR}*{_X_QUERY_END})?", re.IGNORECASE
    )


def _is_acceptable(url: str, scheme: str | None, domain: str) -> bool:
    """The domain must survive IDNA encoding (labels of 1-63 characters once in punycode), and the
    URL with its domain in punycode must stay within 4096 characters. twitter-text adds the length
    of the scheme (or of "https://" when there is none) to that of the URL, which already holds the
    scheme; we keep that quirk so the boundary falls where X's does."""
    try:
        ascii_domain = domain.encode("idna")
    except UnicodeError:
        return False
    scheme_length = len(scheme) if scheme else _DEFAULT_SCHEME_LENGTH
    return scheme_length + len(url) + len(ascii_domain) - len(domain) <= _URL_MAX


def _find(text: str, pattern: re.Pattern[str], *, allow_schemeless: bool) -> list[Span]:
    # Every URL has a "." before a TLD. A text without one (most posts, and hostile ones such as
    # "a.a.a.a..." that make the full pattern slow) has no URL, and one quick scan tells.
    if "." not in text or not _dot_then_tld().search(text):
        return []
    spans: list[Span] = []
    for match in pattern.finditer(text):
        url, scheme, domain = match["url"], match["scheme"], match["domain"]
        start, end = match.start("url"), match.end("url")
        if not _is_acceptable(url, scheme, domain):
            continue
        if scheme:
            tco = _tco_url().match(url)
            if tco:
                if len(tco[1]) > _TCO_SLUG_MAX:
                    continue
                end = start + tco.end()
            spans.append(Span(start, end))
            continue
        if not allow_schemeless or match["before"][-1:] in ("-", "_", ".", "/"):
            continue
        # Without a scheme only ASCII domains count: in "例え.example.com" the link is
        # "example.com". A path belongs to the last of them.
        found = [
            Span(start + part.start(), start + part.end())
            for part in _ascii_domain().finditer(domain)
        ]
        if found and match["path"]:
            found[-1] = Span(found[-1].start, end)
        spans.extend(found)
    return spans


def find_x_urls(text: str) -> list[Span]:
    """The URLs X sees in ``text`` (already NFC-normalised, as X counts it), in order."""
    return _find(text, _x_url(), allow_schemeless=True)


def find_mastodon_urls(text: str) -> list[Span]:
    """The URLs Mastodon sees in ``text``: only those with a scheme, in order."""
    return _find(text, _mastodon_url(), allow_schemeless=False)

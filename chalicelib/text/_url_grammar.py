"""twitter-text's grammar of a URL, as X and Mastodon apply it: the character classes, the
patterns and the bounds that keep them fast on hostile text (see urls.py for how they are used and
what is and is not recognised).

Patterns are compiled on first use: they hold some 1,600 top-level domains.
"""

from __future__ import annotations

import functools
import re

# Character classes, as twitter-text defines them.
SPACES = "\t-\r \x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
DIRECTIONAL_MARKS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
INVALID = "\ufeff\ufffe\uffff"
PUNCTUATION = r"!'#%&()*+,\\\-./:;<=>?@\[\]\^_{|}~$"
LATIN_ACCENTS = (
    "\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268"
    "\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
CYRILLIC = "\u0400-\u04ff"

# A URL may start at the beginning of the text or after anything but these: the preceding
# character as twitter-text's pattern reads it, and as a lookbehind where a URL may start.
_NOT_PRECEDING = rf"a-z0-9@\uff20$#\uff03{INVALID}"
PRECEDING = rf"(?:[^{_NOT_PRECEDING}]|^)"
MAY_START_AFTER = rf"(?<![{_NOT_PRECEDING}])"
DOMAIN_CHAR = rf"[^{PUNCTUATION}{SPACES}{INVALID}{DIRECTIONAL_MARKS}]"
# A domain character, "-" or "_": what a label holds. One class, as the alternation is slower.
PUNCTUATION_BUT_HYPHENS = r"!'#%&()*+,\\./:;<=>?@\[\]\^{|}~$"
HOST_CHAR = rf"[^{PUNCTUATION_BUT_HYPHENS}{SPACES}{INVALID}{DIRECTIONAL_MARKS}]"
# A label starts and ends with a domain character and may hold "-" (and "_" in a subdomain). Two
# bounds that twitter-text's grammar lacks keep matching fast on hostile input ("a.a.a.a..." for
# pages): a label of more than 63 characters fails twitter-text's own IDNA check anyway, and no DNS
# name has more than 127 labels. A label ends at the first ".", so the lookahead bounds it (reading
# label characters only, so that it stops where a label does: at the ":" of a "://"), and its
# characters are read atomically: giving characters back could never end it anywhere else. It is
# read as a run of label characters ending in a domain character, which the engine walks at C
# speed, rather than as a repetition of hyphens then a domain character (a step per character).
NAME_CHAR = rf"[^{PUNCTUATION_BUT_HYPHENS}_{SPACES}{INVALID}{DIRECTIONAL_MARKS}]"  # no "_"
LABEL_MAX = 63
LABEL_FITS = rf"(?={HOST_CHAR}{{1,{LABEL_MAX}}}\.)"
SUBDOMAIN = rf"(?:{LABEL_FITS}(?>{DOMAIN_CHAR}(?:{HOST_CHAR}*{DOMAIN_CHAR})?)\.)"
DOMAIN_NAME = rf"(?:{LABEL_FITS}(?>{DOMAIN_CHAR}(?:{NAME_CHAR}*{DOMAIN_CHAR})?)\.)"
MAX_SUBDOMAINS = 126
PUNYCODE_TLD = r"xn--[\-0-9a-z]+"
PORT = r"(?::[0-9]+)"

# Paths and queries on X.
X_PATH_CHAR = rf"[a-z{CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{LATIN_ACCENTS}]"
X_PARENS = rf"\((?:{X_PATH_CHAR}+|(?:{X_PATH_CHAR}*\({X_PATH_CHAR}+\){X_PATH_CHAR}*))\)"
X_PATH_END = rf"(?:[+\-a-z{CYRILLIC}0-9=_#/{LATIN_ACCENTS}]|{X_PARENS})"
X_PATH = rf"(?:{X_PATH_CHAR}*(?:{X_PARENS}{X_PATH_CHAR}*)*{X_PATH_END}|@{X_PATH_CHAR}+/)"
X_QUERY_CHAR = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
X_QUERY_END = r"[a-z0-9\-_&=#/]"

# Paths and queries on Mastodon, which accepts far more characters in both.
UNICODE_QUERY_CHARS = (
    "\xa0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
    "\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
    "\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
    "\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
    "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
)
MASTODON_PATH_CHAR = r"[^\s<>()?]"
MASTODON_PARENS = (
    rf"\((?:{MASTODON_PATH_CHAR}+"
    rf"|(?:{MASTODON_PATH_CHAR}*\({MASTODON_PATH_CHAR}+\){MASTODON_PATH_CHAR}*))\)"
)
MASTODON_PATH_END = rf"(?:[^\s()?!*\"'\u300c\u300d<>;:=,.$%\[\]~&|@]|{MASTODON_PARENS})"
MASTODON_PATH = (
    rf"(?:{MASTODON_PATH_CHAR}*(?:{MASTODON_PARENS}{MASTODON_PATH_CHAR}*)*{MASTODON_PATH_END}"
    rf"|{MASTODON_PATH_CHAR}+/)"
)
MASTODON_QUERY_CHAR = rf"[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@\^{UNICODE_QUERY_CHARS}]"
MASTODON_QUERY_END = rf"[a-z0-9_&=#/\-{UNICODE_QUERY_CHARS}]"

X_SCHEME_WORDS = ("https", "http")
X_SCHEME = r"https?://"
MASTODON_SCHEME_WORDS = ("https", "http", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "gemini")
MASTODON_SCHEME = rf"(?:{'|'.join(MASTODON_SCHEME_WORDS)})://"

TCO_SLUG_MAX = 40
URL_MAX = 4096


_TREE_GROUP = 6


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
        children = [(ch, re.escape(ch) + branch(child)) for ch, child in sorted(node.items()) if ch]
        if not children:
            return ""
        # The lookahead turns away a character no branch takes at once, instead of trying
        # each branch (some fifty under "a"): a text of "a.a.a..." is mostly such misses.
        body = children[0][1] if len(children) == 1 else guarded(children)
        return f"(?:{body})?" if "" in node else body

    def guarded(children: list[tuple[str, str]]) -> str:
        # A branch that fails after its first character leaves the engine trying its siblings,
        # which cannot match (each starts with another character): in groups of a few, each
        # behind a lookahead of its first characters, a miss costs a few tries, not sixty.
        firsts = "".join(re.escape(ch) for ch, _ in children)
        if len(children) <= _TREE_GROUP:
            return f"(?=[{firsts}])(?:{'|'.join(body for _, body in children)})"
        size = max(_TREE_GROUP, -(-len(children) // _TREE_GROUP))
        groups = [guarded(children[i : i + size]) for i in range(0, len(children), size)]
        return f"(?=[{firsts}])(?:{'|'.join(groups)})"

    return branch(tree)


@functools.cache
def tld() -> str:
    from chalicelib.text._tlds import COUNTRY_CODE_TLDS, GENERIC_TLDS

    # The lookahead makes sure a TLD is not just the start of a longer word ("example.comx").
    return rf"(?:{_prefix_tree(GENERIC_TLDS + COUNTRY_CODE_TLDS)}(?=[^0-9a-z@+-]|$))"


def any_tld() -> str:
    # Every TLD has two characters or more: the lookahead turns away a one-letter label at once,
    # before the tree of TLDs is tried ("a.a.a..." is mostly such labels).
    return rf"(?=[^.\s]{{2}})(?:{tld()}|{PUNYCODE_TLD})"


def domain() -> str:
    return rf"(?:{SUBDOMAIN}{{0,{MAX_SUBDOMAINS}}}{DOMAIN_NAME}{any_tld()})"


def url_pattern(scheme: str, path: str, query_char: str, query_end: str) -> re.Pattern[str]:
    """twitter-text's URL, tried at one position (``pattern.match(text, start)``). The character
    before it, and which positions are worth trying, are ``_UrlStarts``'s business."""
    return re.compile(
        rf"(?P<url>(?P<scheme>{scheme})?(?P<domain>{domain()}){PORT}?"
        rf"(?P<path>/{path}*)?(?:\?{query_char}*{query_end})?)",
        re.IGNORECASE,
    )


@functools.cache
def x_url() -> re.Pattern[str]:
    return url_pattern(X_SCHEME, X_PATH, X_QUERY_CHAR, X_QUERY_END)


@functools.cache
def mastodon_url() -> re.Pattern[str]:
    return url_pattern(MASTODON_SCHEME, MASTODON_PATH, MASTODON_QUERY_CHAR, MASTODON_QUERY_END)


@functools.cache
def scheme_at_end(scheme: str) -> re.Pattern[str]:
    # A scheme ending where the search ends (at "://"'s end).
    return re.compile(rf"{scheme}\Z", re.IGNORECASE)


@functools.cache
def dot_then_tld() -> re.Pattern[str]:
    return re.compile(rf"\.{any_tld()}", re.IGNORECASE)


@functools.cache
def chain() -> re.Pattern[str]:
    # Labels (domain characters, "-" and "_") separated by single dots: where a domain can be.
    return re.compile(rf"{HOST_CHAR}+(?:\.{HOST_CHAR}+)*")


@functools.cache
def may_start() -> re.Pattern[str]:
    # A URL starts after anything but a letter, digit, "@", "$" or "#" (twitter-text's preceding
    # characters), on a domain character rather than "-" or "_".
    return re.compile(rf"{MAY_START_AFTER}(?={DOMAIN_CHAR})", re.IGNORECASE)


# A label of a domain written in ASCII (Latin accents allowed), as a URL without a scheme needs.
_ASCII_LABEL = rf"[\-a-z0-9{LATIN_ACCENTS}]+"


@functools.cache
def ascii_run() -> re.Pattern[str]:
    # ASCII labels, and the TLD after them, which may be in another script ("рф").
    return re.compile(rf"{_ASCII_LABEL}(?:\.{_ASCII_LABEL})*(?:\.{any_tld()})?", re.IGNORECASE)


@functools.cache
def ascii_domain() -> re.Pattern[str]:
    return re.compile(rf"(?:{_ASCII_LABEL}\.)+{any_tld()}", re.IGNORECASE)


@functools.cache
def tco_url() -> re.Pattern[str]:
    return re.compile(rf"^https?://t\.co/([a-z0-9]+)(?:\?{X_QUERY_CHAR}*{X_QUERY_END})?", re.IGNORECASE)


@functools.cache
def separator_after_a_scheme(words: tuple[str, ...]) -> re.Pattern[str]:
    # "://" after one of the schemes, itself where a URL may start (after a character a URL
    # may follow): a fixed-width lookbehind a scheme, so that the search skips from "://" to
    # "://" at C speed.
    return re.compile(_separator_after_a_scheme(words), re.IGNORECASE)


@functools.cache
def last_separator_after_a_scheme(words: tuple[str, ...]) -> re.Pattern[str]:
    # The same, the last in the text (the match ends where it ends): the engine backs up from
    # the text's end to it one character at a time, at C speed, where a loop over every match
    # took a Python step for each.
    return re.compile(rf"(?s:.*){_separator_after_a_scheme(words)}", re.IGNORECASE)


def _separator_after_a_scheme(words: tuple[str, ...]) -> str:
    behind = "|".join(rf"(?<={MAY_START_AFTER}{word}://)" for word in words)
    return rf"://{after_a_last_letter(words)}(?:{behind})"


def after_a_last_letter(words: tuple[str, ...]) -> str:
    """A lookbehind, at a "://", of the last letters of ``words``: looked at before each scheme
    is, a "://" after none (as in ":://") costs one lookbehind, not one for each scheme."""
    return rf"(?<=[{''.join(sorted({word[-1] for word in words}))}]://)"


@functools.cache
def dotted_chains() -> re.Pattern[str]:
    # The chains holding a dot, each from the start of its first label: possessive, and tried
    # only where a label starts, so that a run of labels costs one pass whatever its length.
    return re.compile(rf"(?<!{HOST_CHAR}){HOST_CHAR}++(?:\.{HOST_CHAR}++)++")

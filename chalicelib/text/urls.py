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

Finding them costs linear time whatever the text. twitter-text tries its pattern at every position
and, from each, walks up to 127 labels before it gives up, so a long chain of labels that no TLD
ends in reach cost minutes. Here the pattern is tried only where a URL surely starts: the chains of
labels around each ".tld" are read once (``_Chain``), and so is each scheme followed by a domain;
what is found is exactly what twitter-text finds (tests/unit/test_text_hostile.py compares them).
On Mastodon, which keeps only URLs with a scheme, the URLs are found from each "://" in one pass
of the engine wherever no URL without a scheme can cover a scheme's start (``_urls_after_schemes``).

Patterns are compiled on first use: they hold some 1,600 top-level domains.
"""

from __future__ import annotations

import bisect
import functools
import re
from typing import NamedTuple

from chalicelib.text._idna import idna_length

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
# A domain character, "-" or "_": what a label holds. One class, as the alternation is slower.
_PUNCTUATION_BUT_HYPHENS = r"!'#%&()*+,\\./:;<=>?@\[\]\^{|}~$"
_HOST_CHAR = rf"[^{_PUNCTUATION_BUT_HYPHENS}{_SPACES}{_INVALID}{_DIRECTIONAL_MARKS}]"
# A label starts and ends with a domain character and may hold "-" (and "_" in a subdomain). Two
# bounds that twitter-text's grammar lacks keep matching fast on hostile input ("a.a.a.a..." for
# pages): a label of more than 63 characters fails twitter-text's own IDNA check anyway, and no DNS
# name has more than 127 labels. A label ends at the first ".", so the lookahead bounds it (reading
# label characters only, so that it stops where a label does: at the ":" of a "://"), and its
# characters are read atomically: giving characters back could never end it anywhere else. It is
# read as a run of label characters ending in a domain character, which the engine walks at C
# speed, rather than as a repetition of hyphens then a domain character (a step per character).
_NAME_CHAR = rf"[^{_PUNCTUATION_BUT_HYPHENS}_{_SPACES}{_INVALID}{_DIRECTIONAL_MARKS}]"  # no "_"
_LABEL_MAX = 63
_LABEL_FITS = rf"(?={_HOST_CHAR}{{1,{_LABEL_MAX}}}\.)"
_SUBDOMAIN = rf"(?:{_LABEL_FITS}(?>{_DOMAIN_CHAR}(?:{_HOST_CHAR}*{_DOMAIN_CHAR})?)\.)"
_DOMAIN_NAME = rf"(?:{_LABEL_FITS}(?>{_DOMAIN_CHAR}(?:{_NAME_CHAR}*{_DOMAIN_CHAR})?)\.)"
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

_X_SCHEME_WORDS = ("https", "http")
_X_SCHEME = r"https?://"
_MASTODON_SCHEME_WORDS = ("https", "http", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "gemini")
_MASTODON_SCHEME = rf"(?:{'|'.join(_MASTODON_SCHEME_WORDS)})://"

_TCO_SLUG_MAX = 40
# With a ".tld" every this many characters or more often, the chains of labels are read in one
# pass (some 20 ns a character) rather than around each ".tld" (some 2 µs each).
_CHARACTERS_PER_DENSE_DOT = 64
_URL_MAX = 4096
_DEFAULT_SCHEME_LENGTH = len("https://")
_SCHEME_MAX = len("gemini")


class Span(NamedTuple):
    """A URL's position in the text, in code points: ``text[start:end]``."""

    start: int
    end: int


_span = functools.partial(tuple.__new__, Span)  # Span((start, end)), made in C


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
def _tld() -> str:
    from chalicelib.text._tlds import COUNTRY_CODE_TLDS, GENERIC_TLDS

    # The lookahead makes sure a TLD is not just the start of a longer word ("example.comx").
    return rf"(?:{_prefix_tree(GENERIC_TLDS + COUNTRY_CODE_TLDS)}(?=[^0-9a-z@+-]|$))"


def _any_tld() -> str:
    # Every TLD has two characters or more: the lookahead turns away a one-letter label at once,
    # before the tree of TLDs is tried ("a.a.a..." is mostly such labels).
    return rf"(?=[^.\s]{{2}})(?:{_tld()}|{_PUNYCODE_TLD})"


def _domain() -> str:
    return rf"(?:{_SUBDOMAIN}{{0,{_MAX_SUBDOMAINS}}}{_DOMAIN_NAME}{_any_tld()})"


def _url_pattern(scheme: str, path: str, query_char: str, query_end: str) -> re.Pattern[str]:
    """twitter-text's URL, tried at one position (``pattern.match(text, start)``). The character
    before it, and which positions are worth trying, are ``_UrlStarts``'s business."""
    return re.compile(
        rf"(?P<url>(?P<scheme>{scheme})?(?P<domain>{_domain()}){_PORT}?"
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
def _scheme(scheme: str) -> re.Pattern[str]:
    # A scheme ending where the search ends (at "://"'s end).
    return re.compile(rf"{scheme}\Z", re.IGNORECASE)


@functools.cache
def _dot_then_tld() -> re.Pattern[str]:
    return re.compile(rf"\.{_any_tld()}", re.IGNORECASE)


@functools.cache
def _chain() -> re.Pattern[str]:
    # Labels (domain characters, "-" and "_") separated by single dots: where a domain can be.
    return re.compile(rf"{_HOST_CHAR}+(?:\.{_HOST_CHAR}+)*")


@functools.cache
def _may_start() -> re.Pattern[str]:
    # A URL starts after anything but a letter, digit, "@", "$" or "#" (twitter-text's preceding
    # characters), on a domain character rather than "-" or "_".
    return re.compile(rf"(?<![a-z0-9@\uff20$#\uff03{_INVALID}])(?={_DOMAIN_CHAR})", re.IGNORECASE)


@functools.cache
def _ascii_run() -> re.Pattern[str]:
    # ASCII labels, and the TLD after them, which may be in another script ("рф").
    label = rf"[\-a-z0-9{_LATIN_ACCENTS}]+"
    return re.compile(rf"{label}(?:\.{label})*(?:\.{_any_tld()})?", re.IGNORECASE)


@functools.cache
def _ascii_domain() -> re.Pattern[str]:
    return re.compile(rf"(?:[\-a-z0-9{_LATIN_ACCENTS}]+\.)+{_any_tld()}", re.IGNORECASE)


@functools.cache
def _tco_url() -> re.Pattern[str]:
    return re.compile(rf"^https?://t\.co/([a-z0-9]+)(?:\?{_X_QUERY_CHAR}*{_X_QUERY_END})?", re.IGNORECASE)


@functools.cache
def _separator_after_a_scheme(words: tuple[str, ...]) -> re.Pattern[str]:
    # "://" after one of the schemes, itself where a URL may start (after a character a URL
    # may follow): a fixed-width lookbehind a scheme, so that the search skips from "://" to
    # "://" at C speed.
    preceding = rf"(?<![a-z0-9@\uff20$#\uff03{_INVALID}])"
    behind = "|".join(rf"(?<={preceding}{word}://)" for word in words)
    return re.compile(rf"://(?:{behind})", re.IGNORECASE)


def _after_last_scheme(text: str) -> int | None:
    """Where the chain of labels after the last scheme of ``text`` ends (a URL with a scheme
    starts at or before it), or None when ``text`` has no scheme a URL may start with."""
    separator = None
    for separator in _separator_after_a_scheme(_MASTODON_SCHEME_WORDS).finditer(text):  # noqa: B007 (the last)
        pass
    if separator is None:
        return None
    chain = _chain().match(text, separator.end())
    return chain.end() if chain else separator.end()


@functools.cache
def _dotted_chains() -> re.Pattern[str]:
    # The chains holding a dot, each from the start of its first label: possessive, and tried
    # only where a label starts, so that a run of labels costs one pass whatever its length.
    return re.compile(rf"(?<!{_HOST_CHAR}){_HOST_CHAR}++(?:\.{_HOST_CHAR}++)++")


class _Matches:
    """``pattern.match(text, position)``, remembered for the last position tried: a chain's
    first start is matched to learn whether a domain starts there, and then again as a URL."""

    def __init__(self, text: str, pattern: re.Pattern[str]):
        self._text, self._pattern = text, pattern
        self._position: int | None = None
        self._match: re.Match[str] | None = None

    def at(self, position: int) -> re.Match[str] | None:
        if position != self._position:
            self._position, self._match = position, self._pattern.match(self._text, position)
        return self._match


class _Chain:
    """One run of labels holding at least one ".tld", and where in it a domain may start.

    A domain is up to 127 labels: subdomains (1-63 domain characters, "-" and "_" inside), then a
    name (no "_"), then a TLD. The regex alone tries every position of a chain and walks up to
    127 labels from each before it gives up, which is what made a long chain cost minutes. Here a
    position is tried only when a domain surely starts there: first the chain's next possible
    start, hopefully (most chains are a URL or a few); after one miss, the labels are read once
    and only positions with a name and TLD within reach are tried.
    """

    def __init__(self, text: str, start: int, end: int, tld_dots: list[int], matches: _Matches):
        self._text = text
        self._matches = matches
        self.start, self.end = start, end
        self.tld_dots = tld_dots  # the dots before a TLD in this chain, in order
        self._hopeful: list[tuple[int, int, int]] | None = None  # read after the first miss
        self._next = 0

    def domain_at(self, position: int) -> bool:
        # A domain starts here when the URL pattern matches without a scheme: a scheme ends in
        # ":", which no label holds, so the two never start at one position.
        match = self._matches.at(position)
        return match is not None and match["scheme"] is None

    def first_start(self, low: int) -> int | None:
        """The first position at or after ``low`` where a domain starts (with a valid preceding
        character), or None. ``low`` never decreases between calls."""
        if low >= self.tld_dots[-1]:
            return None  # a domain starts before a ".tld" of its chain (after the URL just found)
        if self._hopeful is None:
            found = _may_start().search(self._text, max(low, self.start), self.end)
            if found is None:
                return None
            if self.domain_at(found.start()):
                return found.start()
            self._hopeful = self._read_labels()
        while self._next < len(self._hopeful):
            earliest, label_end, _ = self._hopeful[self._next]
            found = _may_start().search(self._text, max(low, earliest), label_end)
            if found is not None:
                return found.start()
            self._next += 1
        return None

    def _read_labels(self) -> list[tuple[int, int, int]]:
        """(first position worth trying, end) of each label where a domain may start, in order.

        From the start of label ``j`` a domain exists when a name followed by a TLD lies at most
        126 labels on, with only valid subdomains between: ``reach`` counts those labels. Only
        labels up to 126 before a TLD can reach one, so only those are read.
        """
        text = self._text
        # Each window: the dots that bound its labels, the first being the one before its first
        # label (or the position before the chain). Read backwards from each ".tld", 127 dots at
        # most, so that a long chain costs no Python work per label far from a TLD.
        windows: list[list[int]] = []
        for tld_dot in self.tld_dots:
            previous = windows[-1][-1] if windows else None
            found = []
            position = tld_dot
            while len(found) <= _MAX_SUBDOMAINS:
                position = text.rfind(".", self.start, position)
                if position == -1 or position == previous:
                    break
                found.append(position)
            found.reverse()
            if position == previous and previous is not None:
                windows[-1] += found + [tld_dot]  # within reach of the window before: one window
            elif position == -1:
                windows.append([self.start - 1, *found, tld_dot])
            else:
                windows.append([*found, tld_dot])
        hopeful = []
        for window in windows:
            bounds = [(window[j] + 1, window[j + 1]) for j in range(len(window) - 1)]
            reach: int | None = None  # of the label after the current one
            window_hopeful = []
            for label_start, label_end in reversed(bounds):
                label = text[label_start:label_end]
                ends_well = label[-1] not in "-_"
                as_subdomain = ends_well and reach is not None and reach < _MAX_SUBDOMAINS
                as_name = ends_well and label_end in self._tld_dots_set
                if as_name or as_subdomain:
                    earliest = max(label_start, label_end - _LABEL_MAX)
                    if not as_subdomain:
                        earliest = max(earliest, label_start + label.rfind("_") + 1)
                    window_hopeful.append((earliest, label_end, 0))
                fits = len(label) <= _LABEL_MAX and label[0] not in "-_" and ends_well
                if fits and as_name and "_" not in label:
                    reach = 0
                elif fits and reach is not None:
                    reach += 1
                else:
                    reach = None
            hopeful.extend(reversed(window_hopeful))
        return hopeful

    @functools.cached_property
    def _tld_dots_set(self) -> set[int]:
        return set(self.tld_dots)


class _UrlStarts:
    """The positions where ``pattern.match`` finds a URL, in order, found without trying the
    others: the chains of labels around each ".tld", and each scheme followed by a domain."""

    def __init__(
        self,
        text: str,
        scheme: re.Pattern[str],
        scheme_words: tuple[str, ...],
        matches: _Matches,
        *,
        schemes_only: bool = False,
    ):
        self._text = text
        self._chains: list[_Chain] = []
        self._schemes: list[int] = []
        self._chain_index = 0
        self._scheme_index = 0
        end = len(text)
        if schemes_only:
            # Nothing after the chain that follows the last scheme can be found: the ".tld" and
            # chains are read up to there only (a ".tld" that seems to end at the cut is tried
            # in vain, which finds nothing wrong, and none is missed: the cut ends a chain).
            end = _after_last_scheme(text)
            if end is None:
                return
        tld_matches = list(_dot_then_tld().finditer(text, 0, end))
        tld_dots = [m.start() for m in tld_matches]
        if not tld_dots:
            return  # every URL has a "." before a TLD
        if len(tld_dots) * _CHARACTERS_PER_DENSE_DOT >= len(text):
            self._chains = self._dense_chains(text, tld_dots, matches)
        else:
            self._chains = self._sparse_chains(text, tld_dots, matches)
        by_start = {chain.start for chain in self._chains}
        for separator in _separator_after_a_scheme(scheme_words).finditer(text, 0, end):
            # A scheme where a URL may start, then a chain holding a ".tld". No scheme is the
            # end of another, so at most one ends here. Whether a domain follows is left to the
            # match tried there, which reads it anyway: reading it here too cost a second walk
            # over its labels.
            if separator.end() in by_start:
                self._schemes.append(
                    scheme.search(text, max(0, separator.start() - _SCHEME_MAX), separator.end()).start()
                )
        if schemes_only:
            tld_ends = {m.start(): m.end() for m in tld_matches}
            self._chains = [chain for chain in self._chains if self._may_hide_a_scheme(chain, tld_ends)]

    def _may_hide_a_scheme(self, chain: _Chain, tld_ends: dict[int, int]) -> bool:
        """Whether a URL found in ``chain`` may cover the start of a scheme, which is all that
        matters of it when URLs without a scheme are dropped (Mastodon).

        Such a URL starts in the chain and holds no scheme; it covers a scheme's start when it
        starts before it and ends at or after it (the next URL then starts after its end). Its
        domain ends at the end of a TLD of the chain, at the latest of the last; it goes on
        past that only with a port, path or query, which only the character after the chain
        can start. A chain whose URLs cover no scheme's start changes nothing that is found."""
        last_end = tld_ends[chain.tld_dots[-1]]
        index = bisect.bisect_right(self._schemes, chain.start)
        if index == len(self._schemes):
            return False  # no scheme starts after the chain's start
        if self._schemes[index] <= last_end:
            return True
        text, end = self._text, chain.end
        if last_end != end or end == len(text):
            return False
        return text[end] in "/?" or text[end] == ":" and text[end + 1 : end + 2].isdigit()

    @staticmethod
    def _dense_chains(text: str, tld_dots: list[int], matches: _Matches) -> list[_Chain]:
        # Many ".tld": the chains holding a dot are read in one pass, and each ".tld" is given
        # to its chain (a ".tld" has a label before it, or it belongs to no chain).
        chains = []
        index = 0
        for chain in _dotted_chains().finditer(text):
            start, end = chain.span()
            while index < len(tld_dots) and tld_dots[index] <= start:
                index += 1
            last = index
            while last < len(tld_dots) and tld_dots[last] < end:
                last += 1
            if last > index:
                chains.append(_Chain(text, start, end, tld_dots[index:last], matches))
                index = last
        return chains

    @staticmethod
    def _sparse_chains(text: str, tld_dots: list[int], matches: _Matches) -> list[_Chain]:
        # A few ".tld": each one's chain is read around it.
        chains = []
        reversed_text = None
        index = 0
        while index < len(tld_dots):
            dot = tld_dots[index]
            if dot == 0 or not _chain().match(text, dot - 1, dot):
                index += 1
                continue  # nothing but the dot: no label before it
            if reversed_text is None:
                reversed_text = text[::-1]
            start = len(text) - _chain().match(reversed_text, len(text) - dot).end()
            end = _chain().match(text, start).end()
            last = bisect.bisect_left(tld_dots, end, index)
            chains.append(_Chain(text, start, end, tld_dots[index:last], matches))
            index = last
        return chains

    def first(self, low: int) -> int | None:
        """The first position at or after ``low`` worth a match; ``low`` never decreases."""
        # Called once or twice for each URL candidate: written for few steps.
        schemes, index = self._schemes, self._scheme_index
        while index < len(schemes) and schemes[index] < low:
            index += 1
        self._scheme_index = index
        scheme = schemes[index] if index < len(schemes) else None
        chains, index = self._chains, self._chain_index
        while index < len(chains):
            chain = chains[index]
            if scheme is not None and chain.start > scheme:
                break  # this chain starts after the scheme: nothing in it comes first
            label = chain.first_start(low)
            if label is not None:
                self._chain_index = index
                return label if scheme is None or label < scheme else scheme
            index += 1
        self._chain_index = index
        return scheme


def _matches(
    text: str, pattern: re.Pattern[str], scheme: re.Pattern[str], scheme_words: tuple[str, ...], *, schemes_only: bool
):
    """What ``re.finditer`` finds with twitter-text's full pattern (the preceding character, then
    the URL): each URL match with the character before it, in order."""
    matches = _Matches(text, pattern)
    starts = _UrlStarts(text, scheme, scheme_words, matches, schemes_only=schemes_only)
    low = 0
    while (start := starts.first(low)) is not None:
        # At the very start, the pattern's preceding-character group tries to take the first
        # character before it tries "^", so a URL from position 1 wins over one from 0.
        if start == 0 and starts.first(1) == 1 and matches.at(1):
            start = 1
        match = matches.at(start)
        if match is None:
            low = start + 1
            continue
        yield text[start - 1 : start], match
        # The next match needs a character before it, at or after this one's end.
        low = match.end() + 1


def _ascii_domains(domain: str, offset: int) -> list[Span]:
    """The ASCII domains inside ``domain`` (in "例え.example.com", "example.com"), as twitter-text
    finds them, moved by ``offset``, in runs of ASCII labels so that a long run without a TLD is
    read once. A domain of hundreds of labels may hold hundreds of them: each costs a match and
    a span made at C speed (a NamedTuple's own constructor is Python)."""
    found = []
    whole = _ascii_domain().fullmatch
    for run in _ascii_run().finditer(domain):
        position, end = run.span()
        if whole(domain, position, end):
            # The run is one domain (as most are): the search below would find it whole.
            found.append(_span((offset + position, offset + end)))
            continue
        while _dot_then_tld().search(domain, position + 1, end):
            match = _ascii_domain().search(domain, position, end)
            if match is None:
                break
            found.append(_span((offset + match.start(), offset + match.end())))
            position = match.end()
    return found


def _is_acceptable(url: str, scheme: str | None, domain: str) -> bool:
    """The domain must survive IDNA encoding (labels of 1-63 characters once in punycode), and the
    URL with its domain in punycode must stay within 4096 characters. twitter-text adds the length
    of the scheme (or of "https://" when there is none) to that of the URL, which already holds the
    scheme; we keep that quirk so the boundary falls where X's does."""
    growth = _punycode_growth(domain)
    if growth is None:
        return False
    scheme_length = len(scheme) if scheme else _DEFAULT_SCHEME_LENGTH
    return scheme_length + len(url) + growth <= _URL_MAX


@functools.lru_cache(maxsize=1024)
def _punycode_growth(domain: str) -> int | None:
    """How much longer ``domain`` is in IDNA form, or None when it has none. Python's IDNA codec
    costs 10-130 µs a domain that is not ASCII, and a hostile post holds thousands of distinct
    ones: ``_idna`` computes the same length in 1-15 µs (a text repeating a domain pays once)."""
    length = idna_length(domain)
    return None if length is None else length - len(domain)


def _find(
    text: str,
    pattern: re.Pattern[str],
    scheme: re.Pattern[str],
    scheme_words: tuple[str, ...],
    *,
    allow_schemeless: bool,
) -> list[Span]:
    # Every URL has a "." before a TLD. A text without a "." (most posts) has no URL.
    if "." not in text:
        return []
    spans: list[Span] = []
    for before, match in _matches(text, pattern, scheme, scheme_words, schemes_only=not allow_schemeless):
        url, scheme_text, domain = match["url"], match["scheme"], match["domain"]
        if not scheme_text and (not allow_schemeless or before in ("-", "_", ".", "/")):
            continue  # dropped whatever its domain (whose IDNA check costs more)
        start, end = match.start("url"), match.end("url")
        if not _is_acceptable(url, scheme_text, domain):
            continue
        if scheme_text:
            tco = _tco_url().match(url)
            if tco:
                if len(tco[1]) > _TCO_SLUG_MAX:
                    continue
                end = start + tco.end()
            spans.append(Span(start, end))
            continue
        # Without a scheme only ASCII domains count: in "例え.example.com" the link is
        # "example.com". A path belongs to the last of them.
        found = _ascii_domains(domain, start)
        if found and match["path"]:
            found[-1] = Span(found[-1].start, end)
        spans.extend(found)
    return spans


def find_x_urls(text: str) -> list[Span]:
    """The URLs X sees in ``text`` (already NFC-normalised, as X counts it), in order."""
    return _find(text, _x_url(), _scheme(_X_SCHEME), _X_SCHEME_WORDS, allow_schemeless=True)


def find_mastodon_urls(text: str) -> list[Span]:
    """The URLs Mastodon sees in ``text``: only those with a scheme, in order."""
    # A Mastodon URL has a scheme, so a text without "://" has none (Mastodon looks for ":").
    if "://" not in text:
        return []
    found = _urls_after_schemes(text)
    if found is not None:
        return found
    return _find(text, _mastodon_url(), _scheme(_MASTODON_SCHEME), _MASTODON_SCHEME_WORDS, allow_schemeless=False)


@functools.cache
def _urls_after_a_scheme() -> re.Pattern[str]:
    """A Mastodon URL from its "://" on, where a URL may start before its scheme (as
    ``_separator_after_a_scheme``): an empty group after each scheme's lookbehind tells which
    scheme it was (the first empty group of ``groups()``), and the last group is the domain."""
    preceding = rf"(?<![a-z0-9@\uff20$#\uff03{_INVALID}])"
    behind = "|".join(rf"(?<={preceding}{word}://)()" for word in _MASTODON_SCHEME_WORDS)
    query = rf"(?:\?{_MASTODON_QUERY_CHAR}*{_MASTODON_QUERY_END})?"
    # Labels, one of them a TLD, read first in a single walk: most "://" without a domain after
    # them fail there, before the domain's pattern tries the labels in several ways.
    labels = rf"(?={_HOST_CHAR}++(?:\.{_HOST_CHAR}++)*?\.{_any_tld()})"
    return re.compile(
        rf"://(?:{behind}){labels}({_domain()}){_PORT}?(?:/{_MASTODON_PATH}*)?{query}",
        re.IGNORECASE,
    )


_SCHEME_LENGTHS = tuple(map(len, _MASTODON_SCHEME_WORDS))  # by the index of the empty group


@functools.cache
def _before_a_hidden_scheme() -> str:
    """The characters before a scheme that a URL without a scheme may cover with its domain,
    ending at the scheme's "://": the end of a punycode TLD ("-" then the scheme), or a TLD that
    is the scheme after a "." (none is, today). No other: the character before a scheme is no
    letter or digit, and a domain holds no ":"."""
    from chalicelib.text._tlds import COUNTRY_CODE_TLDS, GENERIC_TLDS

    tlds = set(GENERIC_TLDS + COUNTRY_CODE_TLDS)
    return "-." if any(word in tlds for word in _MASTODON_SCHEME_WORDS) else "-"


@functools.cache
def _url_may_go_on_past_its_domain() -> re.Pattern[str]:
    """Where a URL without a scheme might cover a scheme's start with a port, path or query: "/",
    "?" or ":" and a digit, not of a "://". Each branch starts with its character, so that the
    search skips to them at C speed."""
    return re.compile(r"[/?](?<![:/][/?])|:(?=[0-9])")


def _urls_after_schemes(text: str) -> list[Span] | None:
    """The URLs of ``text`` on Mastodon, when no URL without a scheme can cover a scheme's start
    (None otherwise): then those URLs change nothing of what is found, and the URLs after each
    scheme are found in one pass of the engine. A text dense in URLs with a scheme (one every
    few dozen characters) costs some 1.5 µs a URL this way, against 5 µs reading the chains of
    labels around each.

    twitter-text tries each position in turn; the next URL starts after the character that
    follows the last one found, valid or not (see ``_matches``). The pass goes on from the end
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
    growth_of, span, limit = _punycode_growth, _span, _URL_MAX - len("://")
    hiding = _before_a_hidden_scheme()
    for match in _urls_after_a_scheme().finditer(text):
        # Some 1.3 µs of the engine a URL, and as little Python as can be: ``_is_acceptable``
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
            tco = _tco_url().match(text[start:end])  # anchored at the URL's start
            if tco:
                if len(tco[1]) > _TCO_SLUG_MAX:
                    continue
                end = start + tco.end()
        spans.append(span((start, end)))
    return spans


# The plainest URLs, found in one pass at C speed. A URL never holds ASCII whitespace, and one
# that fills a whitespace-bounded word is found whatever the rest of the text holds, so counting
# may take these out first and give the finder the rest. A post with a link every few words pays
# a few µs of Python per link in the finder; these cost well under one. Only shapes whose
# outcome is certain qualify: ASCII labels of letters and digits (IDNA leaves them as they are),
# a listed TLD ending the word or followed by a path of the same letters, and no t.co link (which
# ends after its slug) or port; the bounds keep a word far from twitter-text's 4096 characters.
_WHITESPACE = r" \t\n\x0b\x0c\r"
_SIMPLE_LABEL = r"[a-z0-9]{1,40}"
_SIMPLE_PATH = r"(?:/[a-z0-9][a-z0-9-]{0,39}){0,8}/?"


def _simple_url(scheme: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?<![^{_WHITESPACE}]){scheme}(?!t\.co/)(?:{_SIMPLE_LABEL}\.){{1,4}}{_tld()}{_SIMPLE_PATH}"
        rf"(?![^{_WHITESPACE}])",
        re.IGNORECASE,
    )


@functools.cache
def simple_x_urls() -> re.Pattern[str]:
    """Words that are URLs on X, each wholly: ``x.com``, ``https://example.com/a/b``."""
    return _simple_url(rf"(?:{_X_SCHEME})?")


# The pass costs some 30 ns a character and the finder some 8 µs a URL: with fewer than one
# candidate per this many characters, the finder alone costs less.
_CHARACTERS_PER_CANDIDATE = 256


def without_simple_x_urls(text: str) -> tuple[str, int]:
    """``text`` without the words that are plain URLs on X, and how many there were; the text as
    it is where they are too few to be worth the pass. Each holds a "." not followed by a space
    and starts a word (after whitespace, or the text's start): the fewer of the two counts."""
    candidates = min(text.count(".") - text.count(". "), _words(text))
    if candidates * _CHARACTERS_PER_CANDIDATE < len(text):
        return text, 0
    return simple_x_urls().subn("", text)


def _words(text: str) -> int:
    return 1 + sum(map(text.count, _WHITESPACE_CHARACTERS))


_WHITESPACE_CHARACTERS = " \t\n\x0b\x0c\r"


def with_simple_mastodon_urls_replaced(text: str, placeholder: str) -> str:
    """``text`` with the words that are plain URLs on Mastodon replaced by ``placeholder``, where
    they are many enough to be worth the pass (see above)."""
    if min(text.count("://"), _words(text)) * _CHARACTERS_PER_CANDIDATE < len(text):
        return text
    return simple_mastodon_urls().sub(placeholder, text)


@functools.cache
def simple_mastodon_urls() -> re.Pattern[str]:
    """Words that are URLs on Mastodon, each wholly: ``https://example.com/a/b``."""
    return _simple_url(_X_SCHEME)

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
of the engine wherever no URL without a scheme can cover a scheme's start (``_mastodon_urls.py``).

The grammar (character classes and patterns) is in ``_url_grammar.py``; Mastodon's one pass
from each scheme in ``_mastodon_urls.py``.
"""

from __future__ import annotations

import bisect
import functools
import re
from typing import NamedTuple

from chalicelib.text import _url_grammar as grammar
from chalicelib.text._idna import idna_growth

# With a ".tld" every this many characters or more often, the chains of labels are read in one
# pass (some 20 ns a character) rather than around each ".tld" (some 2 µs each).
_CHARACTERS_PER_DENSE_DOT = 64
_DEFAULT_SCHEME_LENGTH = len("https://")
_SCHEME_MAX = len("gemini")


class Span(NamedTuple):
    """A URL's position in the text, in code points: ``text[start:end]``."""

    start: int
    end: int


# Span((start, end)), made in C: a NamedTuple's own constructor is Python, which the finders'
# loops would pay for each of thousands of URLs.
span_of = functools.partial(tuple.__new__, Span)


def _after_last_scheme(text: str) -> int | None:
    """Where the chain of labels after the last scheme of ``text`` ends (a URL with a scheme
    starts at or before it), or None when ``text`` has no scheme a URL may start with."""
    separator = grammar.last_separator_after_a_scheme(grammar.MASTODON_SCHEME_WORDS).match(text)
    if separator is None:
        return None
    chain = grammar.chain().match(text, separator.end())
    return chain.end() if chain else separator.end()


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
            found = grammar.may_start().search(self._text, max(low, self.start), self.end)
            if found is None:
                return None
            if self.domain_at(found.start()):
                return found.start()
            self._hopeful = self._read_labels()
        while self._next < len(self._hopeful):
            earliest, label_end, _ = self._hopeful[self._next]
            found = grammar.may_start().search(self._text, max(low, earliest), label_end)
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
            while len(found) <= grammar.MAX_SUBDOMAINS:
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
                as_subdomain = ends_well and reach is not None and reach < grammar.MAX_SUBDOMAINS
                as_name = ends_well and label_end in self._tld_dots_set
                if as_name or as_subdomain:
                    earliest = max(label_start, label_end - grammar.LABEL_MAX)
                    if not as_subdomain:
                        earliest = max(earliest, label_start + label.rfind("_") + 1)
                    window_hopeful.append((earliest, label_end, 0))
                fits = len(label) <= grammar.LABEL_MAX and label[0] not in "-_" and ends_well
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
        tld_matches = list(grammar.dot_then_tld().finditer(text, 0, end))
        tld_dots = [m.start() for m in tld_matches]
        if not tld_dots:
            return  # every URL has a "." before a TLD
        if len(tld_dots) * _CHARACTERS_PER_DENSE_DOT >= len(text):
            self._chains = self._dense_chains(text, tld_dots, matches)
        else:
            self._chains = self._sparse_chains(text, tld_dots, matches)
        by_start = {chain.start for chain in self._chains}
        for separator in grammar.separator_after_a_scheme(scheme_words).finditer(text, 0, end):
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
        for chain in grammar.dotted_chains().finditer(text):
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
            if dot == 0 or not grammar.chain().match(text, dot - 1, dot):
                index += 1
                continue  # nothing but the dot: no label before it
            if reversed_text is None:
                reversed_text = text[::-1]
            start = len(text) - grammar.chain().match(reversed_text, len(text) - dot).end()
            end = grammar.chain().match(text, start).end()
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
    whole = grammar.ascii_domain().fullmatch
    for run in grammar.ascii_run().finditer(domain):
        position, end = run.span()
        if whole(domain, position, end):
            # The run is one domain (as most are): the search below would find it whole.
            found.append(span_of((offset + position, offset + end)))
            continue
        while grammar.dot_then_tld().search(domain, position + 1, end):
            match = grammar.ascii_domain().search(domain, position, end)
            if match is None:
                break
            found.append(span_of((offset + match.start(), offset + match.end())))
            position = match.end()
    return found


def _is_acceptable(url: str, scheme: str | None, domain: str) -> bool:
    """The domain must survive IDNA encoding (labels of 1-63 characters once in punycode), and the
    URL with its domain in punycode must stay within 4096 characters. twitter-text adds the length
    of the scheme (or of "https://" when there is none) to that of the URL, which already holds the
    scheme; we keep that quirk so the boundary falls where X's does."""
    growth = idna_growth(domain)
    if growth is None:
        return False
    scheme_length = len(scheme) if scheme else _DEFAULT_SCHEME_LENGTH
    return scheme_length + len(url) + growth <= grammar.URL_MAX


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
            tco = grammar.tco_url().match(url)
            if tco:
                if len(tco[1]) > grammar.TCO_SLUG_MAX:
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
    return _find(
        text, grammar.x_url(), grammar.scheme_at_end(grammar.X_SCHEME), grammar.X_SCHEME_WORDS, allow_schemeless=True
    )


def find_mastodon_urls(text: str) -> list[Span]:
    """The URLs Mastodon sees in ``text``: only those with a scheme, in order."""
    # A Mastodon URL has a scheme, so a text without "://" has none (Mastodon looks for ":").
    if "://" not in text:
        return []
    from chalicelib.text._mastodon_urls import urls_after_schemes  # it builds on this module

    found = urls_after_schemes(text)
    if found is not None:
        return found
    return _find(
        text,
        grammar.mastodon_url(),
        grammar.scheme_at_end(grammar.MASTODON_SCHEME),
        grammar.MASTODON_SCHEME_WORDS,
        allow_schemeless=False,
    )


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
        rf"(?<![^{_WHITESPACE}]){scheme}(?!t\.co/)(?:{_SIMPLE_LABEL}\.){{1,4}}{grammar.tld()}{_SIMPLE_PATH}"
        rf"(?![^{_WHITESPACE}])",
        re.IGNORECASE,
    )


@functools.cache
def simple_x_urls() -> re.Pattern[str]:
    """Words that are URLs on X, each wholly: ``x.com``, ``https://example.com/a/b``."""
    return _simple_url(rf"(?:{grammar.X_SCHEME})?")


# The pass costs some 30 ns a character and the finder some 8 µs a URL: with fewer than one
# candidate per this many characters, the finder alone costs less.
_CHARACTERS_PER_CANDIDATE = 256


def without_simple_x_urls(text: str) -> tuple[str, int]:
    """``text`` without the words that are plain URLs on X, and how many there were; the text as
    it is where they are too few to be worth the pass. Each starts a word (after whitespace, or the
    text's start) and holds a "." not followed by a space, indeed between an ASCII letter or digit
    and a letter: the fewest of these counts."""
    words = _words(text)
    if min(text.count(".") - text.count(". "), words) * _CHARACTERS_PER_CANDIDATE < len(text):
        return text, 0
    # Then a closer look, at the dots themselves (a list of them, which the counts above spare
    # a text of a dot every other character and few words).
    if min(len(_dot_of_a_simple_url().findall(text)), words) * _CHARACTERS_PER_CANDIDATE < len(text):
        return text, 0
    return simple_x_urls().subn("", text)


@functools.cache
def _dot_of_a_simple_url() -> re.Pattern[str]:
    # A dot after an ASCII letter or digit and before a letter, as the dot before a TLD in every
    # plain URL is: a text of other dots (an ellipsis, a dot before a joiner or a Devanagari sign)
    # pays no pass. Found from the dot itself, which the engine skips to at C speed.
    return re.compile(r"\.(?<=[a-z0-9]\.)[^\W\d_]", re.IGNORECASE)


def _words(text: str) -> int:
    return 1 + sum(map(text.count, _WHITESPACE_CHARACTERS))


_WHITESPACE_CHARACTERS = " \t\n\x0b\x0c\r"


def with_simple_mastodon_urls_replaced(text: str, placeholder: str) -> str:
    """``text`` with the words that are plain URLs on Mastodon replaced by ``placeholder``, where
    they are many enough to be worth the pass (see above)."""
    # Each starts "http://" or "https://", in any case: its "://" follows a "p" or an "s".
    if "://" not in text:
        return text
    schemes = sum(map(text.count, ("p://", "s://", "P://", "S://")))
    if min(schemes, _words(text)) * _CHARACTERS_PER_CANDIDATE < len(text):
        return text
    return simple_mastodon_urls().sub(placeholder, text)


@functools.cache
def simple_mastodon_urls() -> re.Pattern[str]:
    """Words that are URLs on Mastodon, each wholly: ``https://example.com/a/b``."""
    return _simple_url(grammar.X_SCHEME)

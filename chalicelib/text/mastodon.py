"""Mastodon's status length: what a Mastodon server checks against its ``max_characters``.

Mastodon's StatusLengthValidator (app/validators/status_length_validator.rb) counts:

- grapheme clusters, not code points: a family emoji or a flag is one character;
- every URL as ``characters_reserved_per_url`` characters (23 on a default server), however long;
  only URLs with a scheme count this way (see ``urls.find_mastodon_urls``);
- a mention of a remote account, ``@user@example.social``, as just ``@user``;
- the content warning (``spoiler_text``) together with the text;
- a text that is empty or only whitespace as nothing.

The limit itself belongs to the server: ``GET /api/v2/instance`` gives
``configuration.statuses.max_characters`` (500 unless the admin changed it) and
``characters_reserved_per_url`` (23).
"""

from __future__ import annotations

import functools
import operator
import re

from chalicelib.text.graphemes import grapheme_count
from chalicelib.text.urls import Span, find_mastodon_urls, with_simple_mastodon_urls_replaced

DEFAULT_MAX_CHARACTERS = 500
DEFAULT_CHARACTERS_PER_URL = 23


_USERNAME = r"(?P<username>[a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)"
_DOMAIN = r"@\w+(?:[.-]+\w+)*"


# twitter-text's end_mention_match: a mention followed by one of these is not a mention.
_NOT_AFTER_A_MENTION = (
    "[@\uff20\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b"
    "\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff]|://"
)


@functools.cache
def _remote_mention_pattern() -> re.Pattern[str]:
    """Mastodon's Account::MENTION_RE ("@user" or "@user@domain", not after "=", "/" or a letter),
    for the mentions that name a domain only: a local mention is "@" and its username, where no
    other mention or URL can start (a username holds neither "@" nor ":"), so leaving it unmatched
    moves no match. Written from the "@" (the character before it checked behind it) so that the
    engine skips to each "@" at C speed: led by the lookbehind, it was tried at every position.
    The mention is read atomically, then refused if what follows it may not (no shorter reading
    of it is tried, as Mastodon tries none), so that the pattern alone finds the mentions."""
    return re.compile(rf"@(?<![=/\w]@)(?>{_USERNAME}{_DOMAIN})(?-i:(?!{_NOT_AFTER_A_MENTION}))", re.IGNORECASE)


def _remote_mentions(text: str) -> list[tuple[Span, str]]:
    """The mentions of another server's accounts, each with what Mastodon counts of it: "@user".
    A local mention counts as written, so it is left in the text as it is (a post of them costs
    no Python step for each). It never overlaps a URL: it would end before the URL's "://",
    and a mention followed by "://" is none."""
    if text.count("@") < 2:
        return []
    return [
        (Span(match.start(), match.end()), "@" + match["username"])
        for match in _remote_mention_pattern().finditer(text)
    ]


def _with_remote_mentions_shortened(text: str) -> str:
    """``text`` with each remote mention written as Mastodon counts it, in bulk (a post of them
    paid a Python step for each, 8 times a plain post's count)."""
    if text.count("@") < 2:
        return text
    # Split around each mention, its username kept (the pattern's one group): text, username,
    # text, ..., each username then "@" and it. (A substitution by a template calls Python for
    # each match.)
    pieces = _remote_mention_pattern().split(text)
    pieces[1::2] = map("@".__add__, pieces[1::2])
    return "".join(pieces)


def countable_text(text: str, *, characters_per_url: int = DEFAULT_CHARACTERS_PER_URL) -> str:
    """``text`` as Mastodon measures it: URLs as placeholders, remote mentions shortened."""
    if not text or text.isspace():
        return ""
    placeholder = "x" * characters_per_url
    # Words that are plain URLs are replaced first, in one pass at C speed (see
    # ``simple_mastodon_urls``); the finder reads what stays.
    text = with_simple_mastodon_urls_replaced(text, placeholder)
    urls = find_mastodon_urls(text)
    if not urls:
        return _with_remote_mentions_shortened(text)  # nothing for a mention to overlap
    mentions = _remote_mentions(text)
    if not mentions:
        # URLs alone, in order and apart: the text between them joined by placeholders, with no
        # Python step per URL (a hostile text holds one every few dozen characters).
        between = map(slice, [0, *map(operator.itemgetter(1), urls)], [*map(operator.itemgetter(0), urls), None])
        return placeholder.join(map(text.__getitem__, between))
    replacements = [(span, placeholder) for span in urls]
    replacements += mentions
    replacements.sort(key=lambda item: item[0].start)
    pieces = []
    position = 0
    for span, replacement in replacements:
        if span.start < position:
            continue  # overlaps an earlier entity (a mention inside a URL): the earlier one wins
        pieces.append(text[position : span.start])
        pieces.append(replacement)
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces)


def status_length(
    text: str,
    *,
    spoiler_text: str = "",
    characters_per_url: int = DEFAULT_CHARACTERS_PER_URL,
) -> int:
    """The length Mastodon gives a status with this text and content warning."""
    countable = countable_text(text, characters_per_url=characters_per_url)
    return grapheme_count(spoiler_text + countable)

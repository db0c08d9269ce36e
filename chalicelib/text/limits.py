"""Each platform's length limits, in the unit that platform counts, and the checks the API runs.

A platform's "characters" are not Python's. Each rule below says what the platform counts and on
what evidence; where a platform documents a limit but not its unit, we count in UTF-16 code units,
the stricter of the units its servers plausibly use, so that a post we accept is not cut or refused
later (an emoji then costs 2 of the limit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.text import mastodon, twitter
from chalicelib.text.graphemes import grapheme_count
from chalicelib.text.plain import code_points, utf8_bytes, utf16_code_units

# Units, as stable identifiers for API clients, and as named in messages for people.
WEIGHTED = "weighted_characters"  # X's weights: see twitter.py
GRAPHEMES = "graphemes"
MASTODON_CHARACTERS = "characters"  # graphemes, with URLs and remote mentions shortened
CODE_POINTS = "code_points"
UTF16_UNITS = "utf16_code_units"
UTF8_BYTES = "utf8_bytes"
UNIT_NAMES = {
    WEIGHTED: "weighted characters",
    GRAPHEMES: "graphemes",
    MASTODON_CHARACTERS: "characters",
    CODE_POINTS: "characters",
    UTF16_UNITS: "UTF-16 code units",
    UTF8_BYTES: "UTF-8 bytes",
}


@dataclass(frozen=True)
class Limit:
    """One maximum: ``count(text)``, in ``unit``, must not exceed ``maximum``."""

    maximum: int
    unit: str
    count: Callable[[str], int]


@dataclass(frozen=True)
class PlatformRule:
    """How one platform limits a text. ``caption`` applies instead of ``text`` when the text is a
    media caption (Telegram), ``description`` to a video description (YouTube); ``adjustable``
    platforms let an account or server set its own maximum (``max_characters``)."""

    text: tuple[Limit, ...]
    caption: tuple[Limit, ...] | None = None
    description: tuple[Limit, ...] | None = None
    adjustable: bool = False


@dataclass(frozen=True)
class Measurement:
    """A text's length in one unit, with the maximum it is checked against."""

    unit: str
    length: int
    limit: int


@dataclass(frozen=True)
class Violation:
    """A text over one of its platform's limits."""

    platform: str
    field: str
    limit: int
    length: int
    unit: str
    message: str


PLATFORM_RULES: dict[str, PlatformRule] = {
    # twitter-text v3: see twitter.py. 280 for most accounts; X Premium allows 25,000.
    "twitter": PlatformRule(
        text=(Limit(twitter.MAX_WEIGHTED_LENGTH, WEIGHTED, twitter.weighted_length),),
        adjustable=True,
    ),
    # Lexicon app.bsky.feed.post: text has maxGraphemes 300 and maxLength 3000, and the lexicon's
    # maxLength counts UTF-8 bytes (@atproto/lexicon validates it with utf8Len).
    "bluesky": PlatformRule(
        text=(Limit(300, GRAPHEMES, grapheme_count), Limit(3000, UTF8_BYTES, utf8_bytes)),
    ),
    # Graphemes, URLs 23, remote mentions as local ones: see mastodon.py. The server sets the limit.
    "mastodon": PlatformRule(
        text=(Limit(mastodon.DEFAULT_MAX_CHARACTERS, MASTODON_CHARACTERS, mastodon.status_length),),
        adjustable=True,
    ),
    # Threads counts UTF-8 bytes: Meta's Threads posts documentation says emoji count as their UTF-8
    # byte length, and posts of under 500 characters but over 500 bytes are refused ("Param text
    # must be at most 500 characters long"; gitroomhq/postiz-app#1946 measured it).
    "threads": PlatformRule(text=(Limit(500, UTF8_BYTES, utf8_bytes),)),
    # LinkedIn documents 3,000 characters for a post's commentary, not the unit: UTF-16 (see above).
    "linkedin": PlatformRule(text=(Limit(3000, UTF16_UNITS, utf16_code_units),)),
    # Discord's API is Python 3 and counts code points (discord/discord-api-docs#1315, a Discord
    # engineer: "\U0010FFFF \uffff would be considered 3 characters").
    "discord": PlatformRule(text=(Limit(2000, CODE_POINTS, code_points),)),
    # Slack truncates a message's text beyond 40,000 characters (changelog "Truncating really long
    # messages", 2018; chat.postMessage). The unit is not documented: UTF-16 (see above).
    "slack": PlatformRule(text=(Limit(40000, UTF16_UNITS, utf16_code_units),)),
    # Bot API: text 1-4096 characters, caption 0-1024, after entities parsing. The Bot API server
    # (tdlib) compares utf8_length(), a count of code points, with message_text_length_max; a send
    # of 4,096 astral characters (8,192 UTF-16 units) is accepted (FerroxLabs/wayland#934).
    "telegram": PlatformRule(
        text=(Limit(4096, CODE_POINTS, code_points),),
        caption=(Limit(1024, CODE_POINTS, code_points),),
    ),
    # Caption of 2,200 characters (Instagram Graph API); unit not documented: UTF-16 (see above).
    "instagram": PlatformRule(text=(Limit(2200, UTF16_UNITS, utf16_code_units),)),
    # Content Posting API: post_info.title (the caption) of at most 2,200 UTF-16 runes.
    "tiktok": PlatformRule(text=(Limit(2200, UTF16_UNITS, utf16_code_units),)),
    # 63,206 characters for a Page post; unit not documented: UTF-16 (see above).
    "facebook": PlatformRule(text=(Limit(63206, UTF16_UNITS, utf16_code_units),)),
    # YouTube Data API, videos resource: snippet.title at most 100 characters (unit not documented:
    # UTF-16, see above); snippet.description at most 5,000 bytes (UTF-8).
    "youtube": PlatformRule(
        text=(Limit(100, UTF16_UNITS, utf16_code_units),),
        description=(Limit(5000, UTF8_BYTES, utf8_bytes),),
    ),
}

PLATFORM_ALIASES = {"x": "twitter"}


def _rule(platform: str) -> tuple[str, PlatformRule]:
    name = PLATFORM_ALIASES.get(platform, platform)
    try:
        return name, PLATFORM_RULES[name]
    except KeyError:
        raise ValueError(f"unknown platform {platform!r}") from None


def _limits(
    name: str,
    rule: PlatformRule,
    *,
    max_characters: int | None,
    caption: bool,
    description: bool,
) -> tuple[Limit, ...]:
    limits = rule.text
    if caption and rule.caption is not None:
        limits = rule.caption
    if description and rule.description is not None:
        limits = rule.description
    if max_characters is not None:
        if not rule.adjustable:
            raise ValueError(f"{name} has a fixed limit; max_characters does not apply")
        if max_characters < 1:
            raise ValueError("max_characters must be positive")
        limits = tuple(Limit(max_characters, limit.unit, limit.count) for limit in limits)
    return limits


def measure(
    platform: str,
    text: str,
    *,
    max_characters: int | None = None,
    caption: bool = False,
    description: bool = False,
) -> list[Measurement]:
    """``text``'s length in each unit ``platform`` limits, with each limit.

    ``platform`` is a name from PLATFORM_RULES or the alias "x". ``max_characters`` replaces the
    default maximum where the platform lets it vary (a Mastodon server's ``max_characters``, an X
    Premium account's 25,000) and is refused elsewhere. ``caption`` selects the limit for a media
    caption where it differs (Telegram: 1024); ``description`` the limit for a video description
    where it differs (YouTube: 5000 bytes; the plain text limit is the title's). Both are ignored by
    platforms with a single limit, for which a caption or description is simply the post's text.
    """
    name, rule = _rule(platform)
    limits = _limits(
        name, rule, max_characters=max_characters, caption=caption, description=description
    )
    return [Measurement(limit.unit, limit.count(text), limit.maximum) for limit in limits]


def check(
    platform: str,
    text: str,
    *,
    field: str,
    max_characters: int | None = None,
    caption: bool = False,
    description: bool = False,
) -> list[Violation]:
    """The limits of ``platform`` that ``text`` exceeds; empty when it fits.

    ``field`` names where the text came from in the request ("content", "segments[3].content") and
    is repeated in each violation. The other arguments are those of ``measure``. A text exactly at
    a limit fits.
    """
    name, _ = _rule(platform)
    return [
        Violation(
            platform=name,
            field=field,
            limit=measured.limit,
            length=measured.length,
            unit=measured.unit,
            message=(
                f"{name} allows {measured.limit} {UNIT_NAMES[measured.unit]}; "
                f"{field} has {measured.length}"
            ),
        )
        for measured in measure(
            platform,
            text,
            max_characters=max_characters,
            caption=caption,
            description=description,
        )
        if measured.length > measured.limit
    ]

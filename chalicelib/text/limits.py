"""Each platform's length limits, in the unit that platform counts, and the checks the API runs.

A platform's "characters" are not Python's. Each rule below says what the platform counts and on
what evidence; where a platform documents a limit but not its unit, we count in UTF-16 code units,
the stricter of the units its servers plausibly use, so that a post we accept is not cut or refused
later (an emoji then costs 2 of the limit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.platforms import registry
from chalicelib.text.units import (  # noqa: F401  (re-exported: the units are part of this module's API)
    CODE_POINTS,
    GRAPHEMES,
    MASTODON_CHARACTERS,
    UNIT_NAMES,
    UTF8_BYTES,
    UTF16_UNITS,
    WEIGHTED,
    counter,
)


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


def _rule_of(descriptor) -> PlatformRule:
    """A descriptor's text rule (chalicelib/platforms/descriptor.py) with each unit's counter."""
    declared = descriptor.text

    def limits(declared_limits):
        if declared_limits is None:
            return None
        return tuple(Limit(item.maximum, item.unit, counter(item.unit)) for item in declared_limits)

    return PlatformRule(
        text=limits(declared.text),
        caption=limits(declared.caption),
        description=limits(declared.description),
        adjustable=declared.adjustable,
    )


# Each platform's rule, as its module under chalicelib/platforms/ declares it (with the evidence).
PLATFORM_RULES: dict[str, PlatformRule] = {item.name: _rule_of(item) for item in registry.descriptors()}


def _rule(platform: str) -> tuple[str, PlatformRule]:
    name = registry.canonical(platform)
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

    ``platform`` is a name from PLATFORM_RULES or one of its aliases. ``max_characters`` replaces the
    default maximum where the platform lets it vary (a Mastodon server's ``max_characters``, an X
    Premium account's 25,000) and is refused elsewhere. ``caption`` selects the limit for a media
    caption where it differs (Telegram: 1024); ``description`` the limit for a video description
    where it differs (YouTube: 5000 bytes; the plain text limit is the title's). Both are ignored by
    platforms with a single limit, for which a caption or description is simply the post's text.
    """
    name, rule = _rule(platform)
    limits = _limits(name, rule, max_characters=max_characters, caption=caption, description=description)
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
            message=(f"{name} allows {measured.limit} {UNIT_NAMES[measured.unit]}; {field} has {measured.length}"),
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

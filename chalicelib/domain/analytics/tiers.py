"""The refresh tiers (003): posts under 24 h every 30 minutes, 1-7 days every 6 hours, 7-90 days
daily, then never.

Slots are aligned to the clock (every :00 and :30, 00:00/06:00/12:00/18:00, midnight UTC), so a
tier's due targets at a slot are one range of publication times: those whose age at the slot lies
in the tier. A target's snapshot is keyed by its slot, which makes a refresh idempotent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Tier:
    name: str
    min_age: dt.timedelta
    max_age: dt.timedelta
    every: dt.timedelta

    def slot(self, now: dt.datetime) -> dt.datetime:
        """The start of the slot ``now`` falls in."""
        elapsed = (now - EPOCH) // self.every
        return EPOCH + elapsed * self.every

    def published_between(self, slot: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """Targets published in [start, end) are in this tier at ``slot``."""
        return slot - self.max_age, slot - self.min_age


TIERS: tuple[Tier, ...] = (
    Tier("fresh", dt.timedelta(0), dt.timedelta(hours=24), dt.timedelta(minutes=30)),
    Tier("recent", dt.timedelta(hours=24), dt.timedelta(days=7), dt.timedelta(hours=6)),
    Tier("long_tail", dt.timedelta(days=7), dt.timedelta(days=90), dt.timedelta(days=1)),
)
LAST_REFRESH_AGE = TIERS[-1].max_age  # 90 days: after that, never


def tier_of(age: dt.timedelta) -> Tier | None:
    for tier in TIERS:
        if tier.min_age <= age < tier.max_age:
            return tier
    return None

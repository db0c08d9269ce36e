"""Posting slots: when could a new post go out on one account without crowding the posts already planned?

A slot is a whole hour (HH:00:00 UTC). It is free when every post planned for that account is at
least ``gap`` away from it, in either direction; exactly ``gap`` away is free. The search looks at
the whole hours strictly after now, up to and including now + ``horizon``. With the defaults (1 hour,
7 days) that is always exactly 168 candidates, whatever the minute of now.

``next_free_slot`` is the rule on its own (no storage, no clock); ``SlotService`` gathers the busy
times of one integration and applies it.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chalicelib.clock import UTC
from chalicelib.domain.posts import Post
from chalicelib.domain.principal import Principal
from chalicelib.domain.records import Integration
from chalicelib.errors import ConflictError

GAP = dt.timedelta(hours=1)
HORIZON = dt.timedelta(days=7)
STEP = dt.timedelta(hours=1)  # candidates are whole hours

# The posts that will (or are about to) go out: a draft has no time, and a published or failed
# post is history, which the rule does not look back on.
PLANNED = ("scheduled", "publishing")


def _utc(moment: dt.datetime, name: str) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive time would be compared with UTC times by guesswork; refuse it instead.
        raise ValueError(f"{name} must carry a time zone")
    return moment.astimezone(UTC)


def next_free_slot(
    now: dt.datetime, busy_times: Sequence[dt.datetime], gap: dt.timedelta = GAP, horizon: dt.timedelta = HORIZON
) -> dt.datetime | None:
    """The first whole UTC hour in (now, now + horizon] that is at least ``gap`` from every busy time.

    None when every candidate in that window is taken. Busy times may be in any order, any time zone,
    and before now (an overdue post still about to go out crowds the hour after it)."""
    now = _utc(now, "now")
    busy = sorted(_utc(moment, "busy time") for moment in busy_times)
    last = now + horizon
    # Strictly after now: at 12:00:00 exactly the next slot is 13:00, since 12:00 is already passing.
    candidate = now.replace(minute=0, second=0, microsecond=0) + STEP
    while candidate <= last:
        if _clear_of(candidate, busy, gap):
            return candidate
        candidate += STEP
    return None


def _clear_of(candidate: dt.datetime, busy: list[dt.datetime], gap: dt.timedelta) -> bool:
    """True when no busy time lies strictly within ``gap`` of the candidate (``busy`` is sorted)."""
    # The first busy time later than candidate - gap (one exactly a gap before is fine) is the
    # nearest that could be too close; it is, unless it is a full gap after the candidate.
    index = bisect.bisect_right(busy, candidate - gap)
    return index == len(busy) or busy[index] >= candidate + gap


def occupied_at(post: Post, integration_id: str) -> dt.datetime | None:
    """When this post takes up the account's time, or None when it does not go out there.

    A scheduled post occupies its schedule. A post that is publishing is going out now, whenever it
    was planned: it occupies the moment publishing began. No field records that moment, so it is the
    earlier of its schedule and its last change: a post sent on time changes to publishing at or
    after its schedule, while one sent early with "publish now" (or a draft, which has no schedule)
    changed at the publish request, and later changes only move the estimate towards now."""
    if post.status not in PLANNED:
        return None
    if not any(target.integration_id == integration_id and target.status != "cancelled" for target in post.targets):
        return None
    if post.status == "scheduled":
        return post.scheduled_at
    return min(moment for moment in (post.scheduled_at, post.updated_at) if moment is not None)


@dataclass(frozen=True)
class NextSlot:
    integration: Integration
    date: dt.datetime | None
    searched_until: dt.datetime


class SlotService:
    """Finds an integration's next free slot from the workspace's planned posts."""

    def __init__(self, integrations, post_store, clock, gap: dt.timedelta = GAP, horizon: dt.timedelta = HORIZON):
        self._integrations = integrations
        self._posts = post_store
        self._clock = clock
        self._gap = gap
        self._horizon = horizon

    def next_slot(self, principal: Principal, integration_id: str) -> NextSlot:
        # An id of another workspace or mode is not under the caller's scope: 404, like every id.
        integration = self._integrations.get(principal, integration_id)
        if integration.status != "active":
            # A post cannot be scheduled on it (that is a 422 at POST /v1/posts), so offering a time
            # for one would be a promise the API then refuses; say what to do instead.
            raise ConflictError(
                f"Integration {integration_id} ({integration.platform}) is "
                f"{integration.status.replace('_', ' ')}; reconnect it in the dashboard to schedule posts on it.",
                code="integration_not_active",
            )
        now = self._clock.now()
        busy = list(self._busy_times(principal.scope, integration_id, now))
        return NextSlot(
            integration=integration,
            date=next_free_slot(now, busy, self._gap, self._horizon),
            searched_until=now + self._horizon,
        )

    def _busy_times(self, scope: str, integration_id: str, now: dt.datetime) -> Iterable[dt.datetime]:
        # Only posts within one gap of the candidate window can crowd a candidate; the store filters
        # scheduled posts to that range so a workspace planning months ahead does not ship it all here.
        earliest = now.replace(minute=0, second=0, microsecond=0) + STEP - self._gap
        latest = now + self._horizon + self._gap
        posts = self._posts.all_in_status(
            scope, "scheduled", scheduled_between=(earliest, latest)
        ) + self._posts.all_in_status(scope, "publishing")
        for post in posts:
            moment = occupied_at(post, integration_id)
            if moment is not None:
                yield moment

"""The planner: on its schedule (every few minutes), queue the targets each tier refreshes now.

Each tier's slot is planned once: the planner claims "tier X planned slot S" with a conditional
write before queueing, so overlapping or repeated ticks plan nothing twice (a tick that dies after
the claim loses that slot's refresh, and the next slot comes within the tier's cadence). The due
targets are one range of publication times per shard of a sparse index, never a Scan. Work is
queued grouped by integration, so the refresh reads each group in the platform's largest batches.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from chalicelib.clock import Clock
from chalicelib.domain.analytics.model import Tracked
from chalicelib.domain.analytics.tiers import TIERS
from chalicelib.observability import logger

# Targets per message: a multiple of every platform's batch (100, 25, 20), and well inside SQS's
# 256 KB message (a target is about 300 bytes).
TARGETS_PER_MESSAGE = 300


def slot_name(slot: dt.datetime) -> str:
    return slot.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def refresh_messages(tracked: Iterable[Tracked], slot: str) -> list[dict]:
    """Refresh work for ``tracked`` at ``slot``: one message per integration (more for a big one)."""
    groups: dict[tuple[str, str, str], list[Tracked]] = defaultdict(list)
    for target in tracked:
        groups[(target.workspace_id, target.mode, target.integration_id)].append(target)
    messages = []
    for (workspace_id, mode, integration_id), targets in groups.items():
        for start in range(0, len(targets), TARGETS_PER_MESSAGE):
            messages.append(
                {
                    "kind": "refresh",
                    "workspace_id": workspace_id,
                    "mode": mode,
                    "integration_id": integration_id,
                    "slot": slot,
                    "targets": [target.as_dict() for target in targets[start : start + TARGETS_PER_MESSAGE]],
                }
            )
    return messages


class Planner:
    def __init__(self, store, queue, clock: Clock):
        self._store = store
        self._queue = queue
        self._clock = clock

    def tick(self) -> int:
        """Queue every tier's slot not planned yet; returns how many targets were queued."""
        now = self._clock.now()
        queued = 0
        for tier in TIERS:
            slot = tier.slot(now)
            name = slot_name(slot)
            if not self._store.claim_slot(tier.name, name):
                continue
            start, end = tier.published_between(slot)
            due = list(self._store.published_between(start, end))
            messages = refresh_messages(due, name)
            if messages:
                self._queue.send(messages)
            queued += len(due)
            logger.info("analytics slot planned", extra={"tier": tier.name, "slot": name, "targets": len(due)})
        return queued

"""Putting scheduled posts on the publish queue so each becomes visible at its time, to the second.

Every minute the dispatcher reads the posts due before the next tick plus a margin (the sparse,
sharded ``due`` index) and queues their targets with a delay that ends at ``scheduled_at``. A post
created or rescheduled inside that window is queued at once by the API, so it is never left for a
tick that comes too late. Each dispatch writes a fresh ``dispatch_id`` on the post first, then
sends messages carrying it: a message whose id no longer matches (the post was edited, rescheduled,
cancelled or dispatched again) is dropped by the publisher, so overlapping ticks and repeated
messages are harmless.
"""

from __future__ import annotations

import copy
import datetime as dt
import math

from chalicelib.clock import Clock
from chalicelib.domain.posts import Post
from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.ids import uuid7
from chalicelib.observability import logger

TICK = dt.timedelta(minutes=1)
# How far past the next tick a dispatch reaches, so a late or slow tick never leaves a post behind.
MARGIN = dt.timedelta(seconds=45)
HORIZON = TICK + MARGIN
# A post still scheduled this long after its time although it was dispatched lost its messages
# (a crash between writing the dispatch and sending): it is dispatched again.
REDISPATCH_AFTER = dt.timedelta(minutes=2)


class Dispatcher:
    def __init__(self, posts, queue, clock: Clock):
        self._posts = posts
        self._queue = queue
        self._clock = clock

    def tick(self) -> int:
        """Queue every post due before the next tick (plus the margin). Returns how many."""
        now = self._clock.now()
        queued = 0
        for scope, post_id in self._posts.due(now + HORIZON):
            try:
                post = self._posts.get(scope, post_id)
            except NotFoundError:
                continue
            if self.needs_dispatch(post, now) and self.dispatch(post) is not None:
                queued += 1
        return queued

    @staticmethod
    def needs_dispatch(post: Post, now: dt.datetime) -> bool:
        if post.status != "scheduled" or post.scheduled_at is None or post.scheduled_at > now + HORIZON:
            return False
        return post.dispatch_id is None or post.scheduled_at < now - REDISPATCH_AFTER

    def dispatch(self, post: Post) -> Post | None:
        """Arm the post with a new dispatch id, then queue its targets to appear at its time."""
        armed = copy.deepcopy(post)
        armed.dispatch_id = uuid7()
        try:
            self._posts.replace(post, armed)
        except ConflictError:
            return None  # edited meanwhile: the edit re-armed it, and a later dispatch will see it
        delay = max(0, math.floor((armed.scheduled_at - self._clock.now()).total_seconds()))
        self._queue.send_targets(armed, delay_seconds=delay)
        logger.info(
            "post dispatched", extra={"post_id": armed.id, "delay_seconds": delay, "targets": len(armed.targets)}
        )
        return armed

    def dispatch_if_due_soon(self, post: Post) -> Post:
        """For the API: a post created or rescheduled inside the dispatch window goes out on time."""
        if not self.needs_dispatch(post, self._clock.now()):
            return post
        try:
            return self.dispatch(post) or post
        except Exception:  # noqa: BLE001 - the next tick dispatches it; the request still succeeds
            logger.exception("immediate dispatch failed; the next tick will queue it", extra={"post_id": post.id})
            return post

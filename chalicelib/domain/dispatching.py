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

import contextvars
import copy
import datetime as dt
import math
from concurrent.futures import ThreadPoolExecutor

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
# Posts armed at once by a tick. One at a time, a tick arms about 2,000 posts before its timeout;
# a burst of 50,000 due in one minute needs some 30 (bench/scale_sim.py).
DISPATCH_THREADS = 32


class Dispatcher:
    def __init__(self, posts, queue, clock: Clock):
        self._posts = posts
        self._queue = queue
        self._clock = clock

    def tick(self) -> int:
        """Queue every post due before the next tick (plus the margin). Returns how many.

        Arming a post is three network waits (read, write, send): threads overlap them, so a burst
        of due posts is queued within the horizon rather than one post at a time (docs/scale.md)."""
        now = self._clock.now()
        due = self._posts.due(now + HORIZON)
        if len(due) < 2:
            return sum(self._arm(scope, post_id, now) for scope, post_id in due)
        with ThreadPoolExecutor(max_workers=min(DISPATCH_THREADS, len(due)), thread_name_prefix="dispatch") as pool:
            running = [
                pool.submit(contextvars.copy_context().run, self._arm, scope, post_id, now) for scope, post_id in due
            ]
            return sum(future.result() for future in running)

    def _arm(self, scope: str, post_id: str, now: dt.datetime) -> int:
        try:
            post = self._posts.get(scope, post_id)
        except NotFoundError:
            return 0
        return int(self.needs_dispatch(post, now) and self.dispatch(post) is not None)

    @staticmethod
    def needs_dispatch(post: Post, now: dt.datetime) -> bool:
        if post.status != "scheduled" or post.scheduled_at is None or post.scheduled_at > now + HORIZON:
            return False
        return post.dispatch_id is None or post.scheduled_at < now - REDISPATCH_AFTER

    def dispatch(self, post: Post) -> Post | None:
        """Arm the post with a new dispatch id, then queue its targets to appear at its time."""
        armed = copy.deepcopy(post)
        armed.dispatch_id = uuid7(self._clock)
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

"""Settling what the happy path left behind, so no post stays scheduled or publishing forever.

- A post publishing for a while whose targets are neither finished nor held by a live worker (the
  worker died, or its message was lost): those targets are queued again. The publisher then takes
  them over, resumes after the last part that went out, and fails as ``outcome_unknown`` a part
  that was in flight on a platform that cannot recognise a repeat.
- Messages in the publish queue's dead-letter queue (delivered too often without success): their
  targets are failed as a worker taking them over would (publishing.outcome_unknown: a part in
  flight on a platform that cannot recognise a repeat is ``outcome_unknown``, else
  ``delivery_failed`` with the reason; a target a live worker holds is left to it), and the
  messages removed.
- Scheduled posts that were dispatched but never published are dispatched again by the dispatcher
  itself (see dispatching.REDISPATCH_AFTER); a post past due that was never dispatched is found by
  the dispatcher's query, which reaches back without limit.
"""

from __future__ import annotations

import copy
import datetime as dt

from chalicelib.clock import Clock, format_timestamp
from chalicelib.data.messages import PublishMessage
from chalicelib.domain.posts import derived_status, lease_alive, target_finished
from chalicelib.errors import NotFoundError
from chalicelib.measures import NO_MEASURES, Measures
from chalicelib.observability import logger

STUCK_AFTER = dt.timedelta(minutes=3)


class Reconciler:
    def __init__(self, posts, publish_queue, dead_letters, publisher, clock: Clock, measures: Measures = NO_MEASURES):
        self._posts = posts
        self._measures = measures
        self._queue = publish_queue
        self._dead_letters = dead_letters
        self._publisher = publisher
        self._clock = clock

    def run(self) -> dict:
        settled = {"requeued": self.requeue_stuck(), "dead_letters": self.settle_dead_letters()}
        # Zeros too: a dashboard line that stops means the reconciler stopped, not that all is well.
        self._measures.count("StuckTargetsRequeued", settled["requeued"])
        self._measures.count("PublishDeadLettersSettled", settled["dead_letters"])
        return settled

    def requeue_stuck(self) -> int:
        now = self._clock.now()
        requeued = 0
        for scope, post_id in self._posts.in_flight(started_before=now - STUCK_AFTER):
            try:
                post = self._posts.get(scope, post_id)
            except NotFoundError:
                continue
            stuck = [t for t in post.targets if not target_finished(t) and not lease_alive(t, now)]
            if not stuck:
                continue
            if derived_status(post.targets) is None and post.dispatch_id:
                requeue = copy.deepcopy(post)
                requeue.targets = stuck
                self._queue.send_targets(requeue)
                requeued += len(stuck)
                logger.warning(
                    "stuck targets queued again", extra={"post_id": post.id, "targets": [t.id for t in stuck]}
                )
        return requeued

    def settle_dead_letters(self) -> int:
        settled = 0
        for receipt, body in self._dead_letters.receive():
            try:
                message = PublishMessage.model_validate_json(body)
            except ValueError:
                logger.error("unreadable dead letter removed", extra={"body": body[:200]})
                self._dead_letters.delete(receipt)
                continue
            self._publisher.give_up(
                message.workspace_id,
                message.mode,
                message.post_id,
                message.target_id,
                message.dispatch_id,
                "Publishing was retried until the retry limit without success "
                f"(last seen {format_timestamp(self._clock.now())}).",
            )
            self._dead_letters.delete(receipt)
            settled += 1
        return settled

"""Publishing one post target: claim it, publish it part by part, record each part, tell the world.

Never twice: every step is a conditional write on the post's version, a target is held by one
worker at a time (a lease), and the part being sent is written down before the call. A worker that
finds a part marked in flight by a worker that died knows the platform may have accepted it: on a
platform that recognises a repeated request (our idempotency key or record key) it simply sends it
again; on one that does not (X) it fails the target as ``outcome_unknown`` rather than risk a
duplicate.

Never lost: transient failures come back through the queue after a backoff (or the platform's own
Retry-After), up to MAX_ATTEMPTS; permanent ones fail the target at once with the platform's reason.
A platform's rate limit is not a failure: the account waits for its window (up to
MAX_RATE_LIMIT_WAITS times), and the wait uses up none of the attempts.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import random
from collections.abc import Callable

from chalicelib.clock import Clock, format_timestamp
from chalicelib.domain.attachments import attachments
from chalicelib.domain.platforms import describe, numbered_suffix
from chalicelib.domain.posts import Post, Target, derived_status, lease_alive, target_finished
from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.ids import uuid7
from chalicelib.measures import NO_MEASURES, Measures
from chalicelib.observability import logger
from chalicelib.platforms.base import (
    AuthenticationFailedError,
    Part,
    PermanentError,
    PlatformError,
    PlatformRateLimitedError,
    PostRef,
    TransientError,
)

LEASE = dt.timedelta(seconds=120)  # longer than the publisher's timeout: a live worker keeps it
MAX_ATTEMPTS = 6
# A rate-limited call was refused, not tried: it does not count toward MAX_ATTEMPTS, or an account
# whose 15-minute window keeps running out (a burst of its posts) would fail a post after six
# windows. A platform that still says "later" after this many waits is failing, not limiting: at
# 15-minute windows that is 6 hours; X's daily cap (a wait of up to 24 h, held 12 h at a time by
# the queue) takes two or three.
MAX_RATE_LIMIT_WAITS = 24
EARLY_SLEEP_LIMIT = 2.0  # a message up to this early waits in the worker; more, in the queue
CHANGE_ATTEMPTS = 8
_UNREAD = object()  # the account was not read with the post: read it on its own


class RetryLaterError(Exception):
    """Put the message back on the queue for ``seconds``."""

    def __init__(self, seconds: float, reason: str):
        super().__init__(reason)
        self.seconds = max(1, int(math.ceil(seconds)))
        self.reason = reason


class _SupersededError(Exception):
    """The post moved on (deleted, edited, re-dispatched, or the target taken over): drop the work."""


def backoff_seconds(attempt: int) -> float:
    """5 s, 10 s, 20 s, ... capped at 5 minutes, with jitter so retries of many targets spread out."""
    return min(300.0, 5.0 * 2 ** max(0, attempt - 1)) * random.uniform(0.8, 1.2)


def _parse(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _target(post: Post, target_id: str) -> Target | None:
    return next((target for target in post.targets if target.id == target_id), None)


def _still_dispatched(post: Post | None, dispatch_id: str) -> Post:
    """The post, if this message's work is still its to do; else the work is dropped."""
    if post is None:
        raise _SupersededError("the post was deleted")
    if post.dispatch_id != dispatch_id:
        raise _SupersededError("the post was edited, rescheduled or dispatched again")
    return post


def build_parts(post: Post, target: Target, thread_style: str) -> list[dict]:
    """What goes out on this target, part by part: text and the verified files (post.attachments)."""
    files = post.attachments or []
    media_of = lambda index: list(files[index]) if index < len(files) else []  # noqa: E731
    parts = [{"text": post.text_for(target.platform), "media": media_of(0)}]
    for index, segment in enumerate(post.segments or []):
        parts.append({"text": segment["content"], "media": media_of(index + 1)})
    if thread_style == "numbered" and len(parts) > 1:
        for index, part in enumerate(parts):
            part["text"] += numbered_suffix(index + 1, len(parts))
    return parts


def outcome_unknown(in_flight: int | None, platform: str, idempotent: bool) -> str | None:
    """Why a target whose work was interrupted must fail as ``outcome_unknown``, or None.

    A part marked in flight may have reached the platform (the mark is written before the call, and
    the worker stopped before writing the answer). A platform that recognises a repeat takes it
    again safely; one that does not must not be asked again, and the user must be told. The one
    decision for a worker taking a target over and for a message that reached the dead-letter queue.
    """
    if in_flight is None or idempotent:
        return None
    return (
        f"Publishing part {in_flight + 1} was interrupted after it may have been sent; "
        f"{platform} offers no way to check it, so it was not sent again. "
        "Check the account before publishing this post again."
    )


def post_event(post: Post, now: dt.datetime) -> dict:
    """The post.published / post.failed event. Its id is stable, so a repeated send is recognisable."""
    return {
        "id": f"evt_{post.id}_{post.status}",
        "type": f"post.{post.status}",
        "created_at": format_timestamp(now),
        "workspace_id": post.workspace_id,
        "mode": post.mode,
        "data": {
            "post_id": post.id,
            "status": post.status,
            "published_at": format_timestamp(post.published_at),
            "targets": [
                {
                    "id": t.id,
                    "integration_id": t.integration_id,
                    "platform": t.platform,
                    "status": t.status,
                    "platform_post_id": t.platform_post_id,
                    "platform_post_url": t.platform_post_url,
                    "error": t.error,
                }
                for t in post.targets
            ],
        },
    }


def integration_event(event_type: str, post: Post, target: Target, now: dt.datetime) -> dict:
    """integration.needs_refresh: the account a target went to lost its access."""
    from chalicelib.domain import events

    return events.integration_event(
        event_type, target.integration_id, target.platform, target.username, post.workspace_id, post.mode, now
    )


class TargetPublisher:
    def __init__(
        self,
        posts,
        integrations,
        events,
        clock: Clock,
        adapters: Callable,
        media=None,
        on_published: Callable[[Post, str], None] | None = None,
        measures: Measures = NO_MEASURES,
    ):
        self._posts = posts
        self._measures = measures  # what the operator sees counted (chalicelib/measures.py)
        # Told of each target published (analytics starts reading its counters); never fails one.
        self._on_published = on_published
        self._media = media  # the bucket (MediaObjects): where attachments are read from
        self._integrations = integrations
        self._events = events
        self._clock = clock
        self._adapters = adapters

    # --- the whole job -----------------------------------------------------------------------
    def publish(
        self,
        workspace_id: str,
        mode: str,
        post_id: str,
        target_id: str,
        dispatch_id: str,
        time_left: Callable[[], float],
        integration_id: str | None = None,
    ) -> str:
        """Publish one target; returns what happened ("published", "failed", "dropped", "done").
        Raises RetryLaterError to come back later; any other exception is a crash, retried by the queue.
        ``time_left`` says how many seconds the worker has left (its Lambda context's remaining
        time), so an adapter's waits end before the function does. ``integration_id``, the target's
        account as the message names it, lets the post and the account be read in one call."""
        log = {"post_id": post_id, "target_id": target_id}
        offered = {integration_id} - {None}  # accounts whose read may have offered their credentials
        try:
            post, account = self._read(workspace_id, mode, post_id, dispatch_id, integration_id)
            target = _target(post, target_id)
            if target is None:
                raise _SupersededError("the target is no longer part of the post")
            offered.add(target.integration_id)
            if target_finished(target):
                self._notify(post)
                return "done"
            if target.integration_id != integration_id:
                account = _UNREAD  # the message names another account than the target's now: read it
            self._wait_until_due(post)
            return self._publish_with(post, target, dispatch_id, log, time_left, account)
        except _SupersededError as why:
            logger.info("publish work dropped", extra={**log, "reason": str(why)})
            return "dropped"
        finally:
            # What a read offered and the credential load did not take (the publish ended before its
            # adapter needed credentials) is dropped, so no later load in this thread takes it.
            for offered_id in offered:
                self._integrations.withdraw_offer(workspace_id, mode, offered_id)

    def _read(self, workspace_id: str, mode: str, post_id: str, dispatch_id: str, integration_id: str | None):
        """The post, and the account the message names read in the same call (None if it is gone);
        without one named (a message sent before they were), the post alone and ``_UNREAD``.

        Reading the account with the post reads it before ``_wait_until_due`` waits out the last
        fraction of the post's second (at most EARLY_SLEEP_LIMIT) rather than after. That keeps
        the guarantees: the claim that follows is checked against the post's version, not the
        account's; a disconnect or refresh made after the account was read was never seen before
        the platform call either (the claim and the call come after the read); and credentials are
        only ever replaced on the version they were read at, so a refresh made meanwhile elsewhere
        is found on the adapter's save, never overwritten."""
        if integration_id is None:
            return self._current(f"{workspace_id}#{mode}", post_id, dispatch_id), _UNREAD
        post, account = self._integrations.get_for_publishing_with_post(workspace_id, mode, integration_id, post_id)
        return _still_dispatched(post, dispatch_id), account

    def _publish_with(self, post: Post, target: Target, dispatch_id: str, log, time_left, account) -> str:
        """Claim the target with its account (read now unless it was read with the post) and send its parts."""
        target_id = target.id
        integration = self._integration(post, target, account)
        if integration is None:
            return "failed"
        try:
            adapter = self._adapters(integration)
        except PermanentError as error:  # no live adapter for this platform (yet)
            self._fail(post, target_id, dispatch_id, error.code, error.message)
            return "failed"
        owner = uuid7(self._clock)
        total = len(build_parts(post, target, adapter.thread_style))
        post, taken_over, was_in_flight = self._claim(post, target_id, dispatch_id, owner, total)
        target = _target(post, target_id)
        unknown = outcome_unknown(was_in_flight, target.platform, adapter.idempotent) if taken_over else None
        if unknown is not None:
            self._fail(post, target_id, dispatch_id, "outcome_unknown", unknown)
            return "failed"
        return self._send_parts(post, target_id, dispatch_id, owner, adapter, log, time_left)

    def give_up(
        self, workspace_id: str, mode: str, post_id: str, target_id: str, dispatch_id: str, reason: str
    ) -> None:
        """Fail a target whose work was abandoned (its message reached the dead-letter queue), as a
        worker taking it over would: left to a worker that holds a live lease (should that worker
        die, the reconciler queues the target again); ``outcome_unknown`` if a part is in flight on a
        platform that cannot recognise a repeat (it may have accepted the part); else
        ``delivery_failed`` with ``reason``."""
        try:
            post = self._current(f"{workspace_id}#{mode}", post_id, dispatch_id)
            target = _target(post, target_id)
            if target is None:
                return
            if target_finished(target):
                # Its worker may have died between the finishing write and the event: send it now.
                self._notify(post)
                return
            if lease_alive(target, self._clock.now()):
                logger.info("dead letter left to the worker holding the target", extra={"target_id": target_id})
                return
            unknown = outcome_unknown(target.in_flight, target.platform, describe(target.platform).idempotent)
            if unknown is not None:
                self._fail(post, target_id, dispatch_id, "outcome_unknown", unknown)
            else:
                self._fail(post, target_id, dispatch_id, "delivery_failed", reason)
        except _SupersededError:
            pass

    def _current(self, scope: str, post_id: str, dispatch_id: str) -> Post:
        try:
            post = self._posts.get(scope, post_id)
        except NotFoundError:
            post = None
        return _still_dispatched(post, dispatch_id)

    def _wait_until_due(self, post: Post) -> None:
        if post.status != "scheduled" or post.scheduled_at is None:
            return
        early = (post.scheduled_at - self._clock.now()).total_seconds()
        if early > EARLY_SLEEP_LIMIT:
            raise RetryLaterError(early, "not due yet")
        if early > 0:
            self._clock.sleep(early)  # SQS delays are whole seconds: the last fraction is waited here

    def _integration(self, post: Post, target: Target, account=_UNREAD):
        integration = account
        if integration is _UNREAD:
            try:
                integration = self._integrations.get_for_publishing(post.workspace_id, post.mode, target.integration_id)
            except NotFoundError:
                integration = None
        if integration is None or integration.status == "disconnected":
            self._fail(
                post,
                target.id,
                post.dispatch_id,
                "integration_disconnected",
                f"The {target.platform} account @{target.username} was disconnected before this post "
                "went out. Reconnect it and publish the post again.",
            )
            return None
        if integration.status == "needs_refresh":
            self._fail(
                post,
                target.id,
                post.dispatch_id,
                "integration_needs_refresh",
                f"The {target.platform} account @{target.username} needs to be reconnected: its access has expired.",
            )
            return None
        return integration

    # --- claiming ------------------------------------------------------------------------------
    def _claim(self, post: Post, target_id: str, dispatch_id: str, owner: str, total: int):
        """Take the target's lease and, in the same write, mark its next part in flight (the write
        the first part would otherwise make on its own). Returns the post, whether another worker's
        lease was taken over, and the part that worker had in flight."""
        taken_over = {}

        def claim(current: Post) -> None:
            target = _target(current, target_id)
            now = self._clock.now()
            if target is None or target_finished(target):
                raise _SupersededError("the target was finished by another worker")
            lease_until = _parse(target.lease_until)
            if target.status == "publishing" and target.lease_owner and lease_until and lease_until > now:
                raise RetryLaterError((lease_until - now).total_seconds() + 1, "another worker holds the target")
            taken_over["yes"] = target.status == "publishing"
            taken_over["in_flight"] = target.in_flight
            if current.status == "scheduled":
                current.status = "publishing"
            target.status = "publishing"
            target.lease_owner, target.lease_until = owner, format_timestamp(now + LEASE)
            target.attempts += 1
            if len(target.parts) < total:
                target.in_flight = len(target.parts)

        post = self._change(post, dispatch_id, claim)
        return post, taken_over.get("yes", False), taken_over.get("in_flight")

    # --- sending -------------------------------------------------------------------------------
    def _send_parts(
        self,
        post: Post,
        target_id: str,
        dispatch_id: str,
        owner: str,
        adapter,
        log,
        time_left: Callable[[], float],
    ) -> str:
        target = _target(post, target_id)
        parts = build_parts(post, target, adapter.thread_style)
        unsupported = sorted(
            {item.get("kind", "image") for part in parts[len(target.parts) :] for item in part["media"]}
            - adapter.media_kinds
        )
        if unsupported:
            self._fail(
                post,
                target_id,
                dispatch_id,
                "media_not_supported",
                f"Publishing {' and '.join(kind + 's' for kind in unsupported)} to {target.platform} is not "
                "available yet; nothing was sent. Publish this post without them, or to another platform.",
            )
            return "failed"
        settings = dict(post.platform_settings.get(target.platform) or {})
        for index in range(len(target.parts), len(parts)):
            if _target(post, target_id).in_flight != index:  # the claim marked the first part
                post = self._change(post, dispatch_id, self._mark_in_flight(target_id, owner, index))
            current = _target(post, target_id)
            done = [PostRef.from_dict(item) for item in current.parts]
            latest = {"post": post}  # moved on by each upload the adapter asks us to remember
            part = Part(
                text=parts[index]["text"],
                index=index,
                total=len(parts),
                idempotency_key=f"{target_id}:{index}",
                salt=current.key_salt,
                reply_to=done[-1] if index and adapter.thread_style == "reply" else None,
                root=done[0] if index else None,
                media=attachments(parts[index]["media"], self._media),
                settings=settings,
                uploads=dict(current.uploads.get(str(index)) or {}),
                remember=self._rememberer(latest, target_id, owner, dispatch_id, index),
                time_left=time_left(),
            )
            try:
                ref, failure = adapter.publish(part), None
            except PlatformError as error:
                ref, failure = None, error
            post = latest["post"]
            if failure is not None:
                return self._failed_part(post, target_id, dispatch_id, owner, failure, log)
            if index == len(parts) - 1:  # the last part is recorded in the write that finishes
                logger.info("part published", extra={**log, "part": index, "platform_post_id": ref.id})
                self._finish(post, target_id, dispatch_id, owner, self._record_part(target_id, owner, ref))
                return "published"
            post = self._change(post, dispatch_id, self._record_part(target_id, owner, ref))
            logger.info("part published", extra={**log, "part": index, "platform_post_id": ref.id})
        self._finish(post, target_id, dispatch_id, owner)
        return "published"

    def _failed_part(self, post: Post, target_id: str, dispatch_id: str, owner: str, error: PlatformError, log) -> str:
        """What a part's failure means for the target, by the error's kind (see platforms/base.py)."""
        if isinstance(error, TransientError):
            return self._transient(post, target_id, dispatch_id, owner, error, log)
        if isinstance(error, AuthenticationFailedError):
            target = _target(post, target_id)
            now = self._clock.now()
            self._integrations.set_status(post.workspace_id, post.mode, target.integration_id, "needs_refresh", now=now)
            self._events.send(integration_event("integration.needs_refresh", post, target, now))
        # OutcomeUnknownError, PermanentError and its kinds: the target fails now.
        self._fail(post, target_id, dispatch_id, error.code, error.message)
        return "failed"

    def _rememberer(self, latest: dict, target_id: str, owner: str, dispatch_id: str, index: int):
        """What adapters call with a platform's handle for a file they uploaded, so a retry can take up
        that upload (a video still processing) instead of starting again."""

        def remember(attachment_id: str, handle: dict) -> None:
            def record(current: Post) -> None:
                target = self._owned(current, target_id, owner)
                target.uploads.setdefault(str(index), {})[attachment_id] = dict(handle)

            latest["post"] = self._change(latest["post"], dispatch_id, record)

        return remember

    def _transient(self, post, target_id, dispatch_id, owner, error: TransientError, log) -> str:
        target = _target(post, target_id)
        limited = isinstance(error, PlatformRateLimitedError)
        attempts, waits = target.attempts, target.rate_limit_waits + 1
        if limited and waits > MAX_RATE_LIMIT_WAITS:
            gave_up = f"gave up after {MAX_RATE_LIMIT_WAITS} waits for the platform's rate limit"
            self._fail(post, target_id, dispatch_id, error.code, f"{error.message} ({gave_up})")
            return "failed"
        if not limited and attempts >= MAX_ATTEMPTS:
            self._fail(post, target_id, dispatch_id, error.code, f"{error.message} (gave up after {attempts} attempts)")
            return "failed"

        def release(current: Post) -> None:
            target = self._owned(current, target_id, owner)
            # The outcome is known (refused, or safe to repeat): nothing is in flight any more.
            target.in_flight, target.lease_owner, target.lease_until = None, None, None
            target.error = {"code": error.code, "message": error.message, "retrying": True}
            if limited:  # the claim counted a try the platform refused to make
                target.attempts -= 1
                target.rate_limit_waits += 1

        self._change(post, dispatch_id, release)
        self._measures.count("PublishRetries", platform=target.platform)
        backoff = backoff_seconds(waits if limited else attempts)
        wait = error.retry_after if error.retry_after is not None else backoff
        logger.warning("platform failed, retrying", extra={**log, "code": error.code, "retry_in": wait})
        raise RetryLaterError(wait, error.message)

    # --- recording -----------------------------------------------------------------------------
    @staticmethod
    def _owned(post: Post, target_id: str, owner: str) -> Target:
        target = _target(post, target_id)
        if target is None or target.lease_owner != owner:
            raise _SupersededError("another worker took the target over")
        return target

    def _mark_in_flight(self, target_id: str, owner: str, index: int):
        def mark(current: Post) -> None:
            target = self._owned(current, target_id, owner)
            target.in_flight = index
            target.lease_until = format_timestamp(self._clock.now() + LEASE)

        return mark

    def _record_part(self, target_id: str, owner: str, ref: PostRef):
        def record(current: Post) -> None:
            target = self._owned(current, target_id, owner)
            target.parts.append(ref.as_dict())
            target.uploads.pop(str(len(target.parts) - 1), None)  # attached now: nothing left to resume
            target.in_flight = None
            if len(target.parts) == 1:
                target.platform_post_id, target.platform_post_url = ref.id, ref.url

        return record

    def _finish(self, post: Post, target_id: str, dispatch_id: str, owner: str, record=None) -> None:
        def finish(current: Post) -> None:
            if record is not None:
                record(current)
            target = self._owned(current, target_id, owner)
            target.status, target.error = "published", None
            target.published_at = format_timestamp(self._clock.now())
            target.lease_owner = target.lease_until = None
            self._settle(current)

        after = self._change(post, dispatch_id, finish)
        self._count_published(after, _target(after, target_id))
        if self._on_published is not None:
            try:
                self._on_published(after, target_id)
            except Exception:  # noqa: BLE001 - the post is out; its analytics can be refreshed on request
                logger.exception("could not start analytics for the target", extra={"post_id": post.id})
        self._notify(after)

    def _fail(self, post: Post, target_id: str, dispatch_id: str, code: str, message: str) -> None:
        def fail(current: Post) -> None:
            target = _target(current, target_id)
            if target is None or target_finished(target):
                raise _SupersededError("the target was already finished")
            target.status, target.error = "failed", {"code": code, "message": message}
            target.in_flight = target.lease_owner = target.lease_until = None
            if current.status == "scheduled":
                current.status = "publishing"
            self._settle(current)

        logger.warning("target failed", extra={"post_id": post.id, "target_id": target_id, "code": code})
        after = self._change(post, dispatch_id, fail)
        self._measures.count("TargetsFailed", platform=_target(after, target_id).platform)
        self._measures.count("TargetFailures", code=code)
        self._notify(after)

    def _count_published(self, post: Post, target: Target) -> None:
        """Counted once the write stands (a mutation may be re-applied on a conflict). Lateness is
        the target's published_at against the time the user asked for; a post published now has none
        (nor has one published by hand before its time: its lateness would be negative)."""
        self._measures.count("TargetsPublished", platform=target.platform)
        if post.scheduled_at is not None and target.published_at:
            late = (_parse(target.published_at) - post.scheduled_at).total_seconds()
            if late >= 0:
                self._measures.seconds("PublishLateness", late)

    def _settle(self, post: Post) -> None:
        final = derived_status(post.targets)
        if final is not None:
            post.status = final
            if final == "published":
                post.published_at = self._clock.now()

    def _notify(self, post: Post) -> None:
        """Send the post's final event once: sent, then marked; a crash between the two sends it
        again with the same id, which consumers recognise."""
        if post.status not in ("published", "failed") or post.notified == post.status:
            return
        self._events.send(post_event(post, self._clock.now()))

        def mark(current: Post) -> None:
            current.notified = current.status

        try:
            self._change(post, post.dispatch_id, mark)
        except _SupersededError:
            pass
        logger.info("post finished", extra={"post_id": post.id, "status": post.status})

    # --- the one way to write ------------------------------------------------------------------
    def _change(self, post: Post, dispatch_id: str | None, mutate: Callable[[Post], None]) -> Post:
        """Apply ``mutate`` to a copy of the post and write it if nobody else wrote meanwhile; on a
        conflict, read the post again and re-apply (mutate re-checks what it relies on)."""
        for _ in range(CHANGE_ATTEMPTS):
            after = copy.deepcopy(post)
            mutate(after)
            after.updated_at = self._clock.now()
            try:
                self._posts.replace(post, after)
                return after
            except ConflictError:
                post = self._current(post.scope, post.id, dispatch_id)
        raise RetryLaterError(5, "the post kept changing")

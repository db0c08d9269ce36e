"""The posts use cases: create, read, edit, publish now, duplicate, delete, and groups."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

from chalicelib.clock import Clock
from chalicelib.domain import post_media
from chalicelib.domain.post_rules import Problems, check_content, check_schedule, resolve_targets
from chalicelib.domain.posts import Post
from chalicelib.domain.principal import Principal
from chalicelib.domain.request_keys import AlreadyCreatedError, RequestKey
from chalicelib.errors import ConflictError, ServiceUnavailableError
from chalicelib.ids import uuid7
from chalicelib.observability import logger

EDIT_ATTEMPTS = 3
DELETE_BATCH = 25  # posts per transaction: each also moves a few counters; DynamoDB allows 100 items


class PostService:
    def __init__(self, store, integrations, publish_queue, dispatcher, clock: Clock, media):
        # The queue, the dispatcher and the media service are factories, built when a write first
        # needs one: reading posts (most requests) needs none of them, nor the modules behind them.
        self._store = store
        self._media_of = media
        self._integrations = integrations
        self._queue_of = publish_queue
        self._dispatcher_of = dispatcher
        self._clock = clock

    @property
    def _media(self):
        return self._media_of()

    @property
    def _queue(self):
        return self._queue_of()

    @property
    def _dispatcher(self):
        return self._dispatcher_of()

    # --- reading -------------------------------------------------------------------------------
    def get(self, principal: Principal, post_id: str) -> Post:
        return self._store.get(principal.scope, post_id)

    def page(
        self, principal: Principal, status, limit: int, offset: int, after: str | None = None
    ) -> tuple[list[Post], int, bool]:
        """(posts, exact total, whether more follow), newest first, after the post ``after``."""
        return self._store.page(principal.scope, status, limit, offset, after)

    def group(
        self, principal: Principal, group_id: str, limit: int, offset: int, after: str | None = None
    ) -> tuple[list[Post], int, bool]:
        return self._store.group(principal.scope, group_id, limit, offset, after)

    # --- creating ------------------------------------------------------------------------------
    def create(
        self,
        principal: Principal,
        fields: dict[str, Any],
        key: RequestKey | None = None,
        time_left: Callable[[], float] | None = None,
    ) -> Post:
        """A new post. With ``key`` (the request's Idempotency-Key), a request run again after its
        answer was lost returns the post the first run created instead of a second one. ``time_left``
        (the request's seconds left) bounds the fetching of media the post names by URL."""
        now = self._clock.now()
        post = Post(
            id=uuid7(self._clock),
            workspace_id=principal.workspace_id,
            mode=principal.mode,
            status="draft",
            content=fields.get("content", ""),
            created_at=now,
            updated_at=now,
        )
        self._apply(post, fields, creating=True)
        self._validate(post, fields, creating=True, time_left=time_left)
        try:
            self._store.create(post, key)
        except AlreadyCreatedError as created:
            return self._created_before(principal, created, key)
        logger.info("post created", extra={"post_id": post.id, "status": post.status})
        return self._dispatcher.dispatch_if_due_soon(post)

    def duplicate(self, principal: Principal, post_id: str, key: RequestKey | None = None) -> Post:
        source = self.get(principal, post_id)
        now = self._clock.now()
        post = dataclasses.replace(
            copy.deepcopy(source),
            id=uuid7(self._clock),
            status="draft",
            version=1,
            scheduled_at=None,
            published_at=None,
            dispatch_id=None,
            created_at=now,
            updated_at=now,
            targets=[],
        )
        self._validate(post, {}, creating=True, media_from=source)
        try:
            self._store.create(post, key)
        except AlreadyCreatedError as created:
            return self._created_before(principal, created, key)
        return post

    def _created_before(self, principal: Principal, created: AlreadyCreatedError, key: RequestKey) -> Post:
        post_id = created.check_same_request(key)
        logger.info("post already created under this Idempotency-Key", extra={"post_id": post_id})
        return self.get(principal, post_id)

    # --- editing -------------------------------------------------------------------------------
    def update(
        self, principal: Principal, post_id: str, fields: dict[str, Any], time_left: Callable[[], float] | None = None
    ) -> Post:
        for _ in range(EDIT_ATTEMPTS):
            before = self.get(principal, post_id)
            if not before.editable:
                raise ConflictError(
                    f"This post is {before.status}; only draft and scheduled posts can be edited.",
                    code="post_not_editable",
                )
            after = copy.deepcopy(before)
            after.updated_at = self._clock.now()
            self._apply(after, fields, creating=False)
            self._validate(after, fields, creating=False, previous=before, time_left=time_left)
            # Any edit re-arms the post: messages already queued for it carry the old dispatch id
            # and are dropped, and the post is dispatched again for its (possibly new) time.
            after.dispatch_id = None
            try:
                self._store.replace(before, after)
            except ConflictError:
                continue  # changed meanwhile (by another edit or by the publisher): read again
            logger.info("post updated", extra={"post_id": post_id, "status": after.status})
            return self._dispatcher.dispatch_if_due_soon(after)
        raise ConflictError(
            "The post kept changing while it was being edited; read it again and retry.", code="post_changed"
        )

    def publish_now(self, principal: Principal, post_id: str) -> Post:
        before = self.get(principal, post_id)
        if not before.editable:
            raise ConflictError(
                f"This post is {before.status}; only draft and scheduled posts can be published.",
                code="post_not_publishable",
            )
        after = copy.deepcopy(before)
        self._validate(after, {}, creating=False, previous=before)
        now = self._clock.now()
        after.status, after.dispatch_id, after.updated_at = "publishing", uuid7(self._clock), now
        for target in after.targets:
            target.status, target.error = "pending", None
        try:
            self._store.replace(before, after)
        except ConflictError as exc:
            raise ConflictError(
                "The post changed while it was being published; read it again.", code="post_changed"
            ) from exc
        try:
            self._queue.send_targets(after)
        except Exception as exc:  # noqa: BLE001 - the queue failed: put the post back as it was
            logger.exception("publish queue unavailable", extra={"post_id": post_id})
            self._restore(after, before)
            raise ServiceUnavailableError(
                "Publishing could not be started; the post is unchanged. Retry shortly."
            ) from exc
        logger.info("publish requested", extra={"post_id": post_id, "targets": len(after.targets)})
        return after

    def _restore(self, current: Post, previous: Post) -> None:
        restored = dataclasses.replace(copy.deepcopy(previous), updated_at=self._clock.now())
        try:
            self._store.replace(current, restored)
        except ConflictError:
            logger.error("could not restore post after a failed dispatch", extra={"post_id": current.id})

    # --- deleting ------------------------------------------------------------------------------
    def delete(self, principal: Principal, post_id: str) -> None:
        for _ in range(EDIT_ATTEMPTS):
            post = self.get(principal, post_id)
            self._deletable([post])
            try:
                self._store.delete([post])
            except ConflictError:
                continue
            logger.info("post deleted", extra={"post_id": post_id, "status": post.status})
            return
        raise ConflictError("The post kept changing; read it again and retry.", code="post_changed")

    def delete_group(self, principal: Principal, group_id: str) -> int:
        posts = self._store.all_in_group(principal.scope, group_id)
        self._deletable(posts)
        for start in range(0, len(posts), DELETE_BATCH):
            self._store.delete(posts[start : start + DELETE_BATCH])
        return len(posts)

    @staticmethod
    def _deletable(posts: list[Post]) -> None:
        busy = [post.id for post in posts if post.status == "publishing"]
        if busy:
            raise ConflictError(
                f"Post {busy[0]} is publishing right now; delete it once it has finished.", code="post_publishing"
            )

    # --- the rules -----------------------------------------------------------------------------
    @staticmethod
    def _apply(post: Post, fields: dict[str, Any], creating: bool) -> None:
        """Copy the provided fields onto the post. Omitted fields keep their value."""
        simple = ("content", "tags", "platform_overrides", "platform_settings", "group_id", "media_ids")
        for name in simple:
            if name in fields:
                value = fields[name]
                setattr(
                    post,
                    name,
                    value
                    if value is not None
                    else (
                        []
                        if name in ("tags", "media_ids")
                        else {}
                        if name.startswith("platform_")
                        else None
                        if name == "group_id"
                        else ""
                    ),
                )
        if "platforms" in fields:
            post.platforms = fields["platforms"] or []
        if "integrations" in fields:
            post.integration_ids = list(dict.fromkeys(fields["integrations"] or []))
        if "media" in fields:
            post.media = fields["media"]
        if "segments" in fields:
            post.segments = fields["segments"] or None  # [] and null both turn a thread into one post
        if "schedule_at" in fields:
            post.scheduled_at = fields["schedule_at"]
            post.status = "scheduled" if post.scheduled_at else "draft"
        if fields.get("status") == "draft":
            post.status, post.scheduled_at = "draft", None
        elif fields.get("status") == "scheduled":
            post.status = "scheduled"

    def _validate(
        self,
        post: Post,
        fields: dict[str, Any],
        creating: bool,
        previous: Post | None = None,
        media_from: Post | None = None,
        time_left: Callable[[], float] | None = None,
    ) -> None:
        problems = Problems()
        if fields.get("status") == "draft" and fields.get("schedule_at"):
            problems.add(
                "status", "A draft has no schedule: send schedule_at or status draft, not both.", "status_conflict"
            )
        if post.status == "scheduled" and post.scheduled_at is None:
            problems.add("schedule_at", "A scheduled post needs schedule_at.", "schedule_required")
        schedule_changed = "schedule_at" in fields or fields.get("status") == "scheduled"
        if post.status == "scheduled" and post.scheduled_at is not None and (creating or schedule_changed):
            check_schedule(post.scheduled_at, self._clock.now(), problems)
        previous_targets = previous.targets if previous else ()
        available = self._integrations.list(post.workspace_id, post.mode)
        resolving = Problems()
        post.targets = resolve_targets(post, available, resolving, self._clock, previous_targets)
        if resolving.items:
            # The cached list may predate an account connected elsewhere: look again before refusing.
            available = self._integrations.list(post.workspace_id, post.mode, fresh=True)
            resolving = Problems()
            post.targets = resolve_targets(post, available, resolving, self._clock, previous_targets)
        problems.items.extend(resolving.items)
        check_content(post, {item.id: item for item in available}, problems)
        problems.raise_if_any()
        # Media last: fetching a URL costs time and storage, so only a post otherwise valid pays it.
        problems = Problems()
        post.attachments = post_media.resolve(post, previous or media_from, self._media, problems, time_left)
        problems.raise_if_any()
        post_media.check_platforms(post, [target.platform for target in post.targets], problems)
        problems.raise_if_any()

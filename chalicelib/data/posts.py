"""Posts in DynamoDB, with exact counts kept beside them.

Every write is conditional on the version read, and every change of status moves the counters in
the same transaction, so ``total`` is exact and one read. Access patterns (docs/data-model.md):
get = GetItem on (scope, id); a page = Query on the table or the by_status index, newest first;
a group = Query on by_group; due posts = Query on the sparse, sharded ``due`` index.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Callable, Iterable

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.data.errors import conflict_on_condition
from chalicelib.data.media import MediaStore
from chalicelib.data.models import CounterRecord, PostRecord
from chalicelib.data.request_keys import RequestKeyClaims
from chalicelib.domain.posts import Post, Target
from chalicelib.domain.request_keys import RequestKey
from chalicelib.errors import ConflictError, NotFoundError, PayloadTooLargeError

DUE_SHARDS = 8
ALL = "posts"
_STATUS_COUNTS = {
    status: getattr(CounterRecord, status) for status in ("draft", "scheduled", "publishing", "published", "failed")
}
_CLAIMS = RequestKeyClaims("post")
# DynamoDB refuses an item over 400 KB (names and values, in UTF-8). A post is checked against a
# little less before it is written, so an oversized one is a clear 413, never a failed write.
MAX_ITEM_BYTES = 390 * 1024
CONFLICT_RESENDS = 4  # a transaction cancelled by another one on the same item is sent again this often


def item_bytes(record) -> int:
    """The size DynamoDB counts for ``record``: attribute names and values, strings in UTF-8."""
    total = 0
    for name, value in record.serialize().items():
        total += len(name.encode())
        ((kind, data),) = value.items()
        if kind == "S":
            total += len(data.encode("utf-8", "surrogatepass"))
        elif kind == "B":
            total += len(data)
        else:
            total += len(str(data)) + 1
    return total


def _compact(target: dict) -> dict:
    """A target without the fields at their defaults (None, empty): Target.from_dict restores them."""
    return {name: value for name, value in target.items() if value is not None and value != {} and value != []}


def pack(body: dict, targets: list[dict]) -> bytes:
    """The post's body and targets as one compressed JSON document (about half the bytes of the
    two as text for a post of one target, which keeps its item under DynamoDB's 1 KB write unit)."""
    document = {"body": body, "targets": [_compact(target) for target in targets]}
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: escaped, as TextJSONAttribute does
        data = json.dumps(document, separators=(",", ":")).encode("ascii")
    return zlib.compress(data, 6)


def unpack(record: PostRecord) -> tuple[dict, list[dict]]:
    """Body and targets of a stored post: packed, or as the two JSON texts of items written before."""
    if record.packed is not None:
        document = json.loads(zlib.decompress(record.packed).decode("utf-8"))
        return document["body"], document["targets"]
    return record.body or {}, record.targets or []


def check_item_size(record) -> None:
    size = item_bytes(record)
    if size > MAX_ITEM_BYTES:
        raise PayloadTooLargeError(
            f"This post would take {size} bytes to store; the limit is {MAX_ITEM_BYTES}. "
            "Shorten the content, overrides or segments.",
            code="post_too_large",
        )


def _shard_number(post_id: str) -> int:
    return int(hashlib.sha256(post_id.encode()).hexdigest(), 16) % DUE_SHARDS


def due_shard(post_id: str) -> str:
    return f"due#{_shard_number(post_id)}"


def inflight_shard(post_id: str) -> str:
    return f"inflight#{_shard_number(post_id)}"


def sortable(moment: dt.datetime) -> str:
    """A fixed-width UTC timestamp (always milliseconds), so strings sort as the instants do."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"


def due_key(scheduled_at: dt.datetime, post_id: str) -> str:
    return f"{sortable(scheduled_at)}#{post_id}"


def _to_record(post: Post) -> PostRecord:
    scheduled = post.status == "scheduled" and post.scheduled_at is not None
    publishing = post.status == "publishing"
    return PostRecord(
        scope=post.scope,
        id=post.id,
        version=post.version,
        status=post.status,
        status_key=f"{post.scope}#{post.status}",
        group_id=post.group_id,
        group_key=f"{post.scope}#{post.group_id}" if post.group_id else None,
        due_shard=due_shard(post.id) if scheduled else None,
        due_at=due_key(post.scheduled_at, post.id) if scheduled else None,
        scheduled_at=post.scheduled_at,
        published_at=post.published_at,
        created_at=post.created_at,
        updated_at=post.updated_at,
        dispatch_id=post.dispatch_id,
        inflight_shard=inflight_shard(post.id) if publishing else None,
        inflight_at=f"{sortable(post.updated_at)}#{post.id}" if publishing else None,
        notified=post.notified,
        packed=pack(post.body(), [target.as_dict() for target in post.targets]),
    )


def _to_domain(record: PostRecord) -> Post:
    workspace_id, mode = record.scope.rsplit("#", 1)
    body, targets = unpack(record)
    return Post(
        id=record.id,
        workspace_id=workspace_id,
        mode=mode,
        status=record.status,
        version=int(record.version),
        content=body["content"],
        platforms=body.get("platforms", []),
        integration_ids=body.get("integration_ids", []),
        targets=[Target.from_dict(item) for item in targets],
        scheduled_at=record.scheduled_at,
        published_at=record.published_at,
        tags=body.get("tags", []),
        platform_overrides=body.get("platform_overrides", {}),
        platform_settings=body.get("platform_settings", {}),
        group_id=record.group_id,
        media=body.get("media"),
        media_ids=body.get("media_ids", []),
        segments=body.get("segments"),
        attachments=body.get("attachments") or [],
        created_at=record.created_at,
        updated_at=record.updated_at,
        dispatch_id=record.dispatch_id,
        notified=record.notified,
    )


def post_from_record(record: PostRecord) -> Post:
    """The post an item holds, as ``PostStore.get`` gives it, for an item read with others."""
    return _to_domain(record)


def _counter_names(post: Post) -> list[str]:
    names = [ALL, f"{ALL}#{post.status}"]
    if post.group_id:
        names.append(f"group#{post.group_id}")
    return names


def _deltas(added: Iterable[Post] = (), removed: Iterable[Post] = ()) -> dict[str, int]:
    deltas: dict[str, int] = {}
    for sign, posts in ((+1, added), (-1, removed)):
        for post in posts:
            for name in _counter_names(post):
                deltas[name] = deltas.get(name, 0) + sign
    return deltas


def _met_another_transaction(error: TransactWriteError) -> bool:
    """Cancelled only because another transaction held one of its items (no condition failed)."""
    reasons = [reason.code for reason in getattr(error, "cancellation_reasons", None) or [] if reason is not None]
    return "TransactionConflict" in reasons and "ConditionalCheckFailed" not in reasons


class _media_gone:
    """A post write cancelled because a file it attaches is no longer ready (deleted meanwhile):
    a conflict about the media, not about the post. ``first`` is the index of the first media item
    in the transaction."""

    def __init__(self, first: int, media_ids: list[str]):
        self._first, self._media_ids = first, media_ids

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        cause = getattr(error, "__cause__", None) if isinstance(error, ConflictError) else error
        if not isinstance(cause, TransactWriteError) or not self._media_ids:
            return False
        reasons = getattr(cause, "cancellation_reasons", None) or []
        for index, reason in enumerate(reasons):
            position = index - self._first
            if reason is not None and reason.code == "ConditionalCheckFailed" and 0 <= position < len(self._media_ids):
                raise ConflictError(
                    f"Media {self._media_ids[position]} was deleted or changed meanwhile; nothing was written.",
                    code="media_changed",
                ) from cause
        return False


class PostStore:
    def __init__(self, connection_factory=Connection):
        self._connection_factory = connection_factory

    def _transaction(self) -> TransactWrite:
        return TransactWrite(
            connection=self._connection_factory(region=PostRecord.Meta.region, host=PostRecord.Meta.host)
        )

    def _commit(self, fill: Callable[[TransactWrite], None]) -> None:
        """Write the transaction ``fill`` builds. DynamoDB cancels a transaction that meets another
        one on the same item at that moment (TransactionConflict): a status change of a workspace's
        post and its counter item meet often in a burst. Such a cancellation wrote nothing and
        checked nothing, so the same transaction is sent again, its conditions checked anew."""
        for attempt in range(1 + CONFLICT_RESENDS):
            try:
                with self._transaction() as transaction:
                    fill(transaction)
                return
            except TransactWriteError as error:
                if attempt == CONFLICT_RESENDS or not _met_another_transaction(error):
                    raise

    @staticmethod
    def _count(transaction: TransactWrite, scope: str, deltas: dict[str, int]) -> None:
        """Move each counter by its net change (a transaction may touch an item only once): the
        number of posts and those of each status on the one item "posts", a group's on its own."""
        on_posts = []
        for name, delta in deltas.items():
            if not delta:
                continue
            if name == ALL:
                on_posts.append(CounterRecord.count.add(delta))
            elif name.startswith(f"{ALL}#"):
                on_posts.append(_STATUS_COUNTS[name.split("#", 1)[1]].add(delta))
            else:
                transaction.update(CounterRecord(scope=scope, name=name), actions=[CounterRecord.count.add(delta)])
        if on_posts:
            transaction.update(CounterRecord(scope=scope, name=ALL), actions=on_posts)

    # --- reads ---------------------------------------------------------------------------------
    def get(self, scope: str, post_id: str, consistent: bool = True) -> Post:
        try:
            return _to_domain(PostRecord.get(scope, post_id, consistent_read=consistent))
        except PostRecord.DoesNotExist as exc:
            raise NotFoundError(f"No post {post_id} in this workspace.", code="post_not_found") from exc

    def find(self, scope: str, post_id: str) -> Post | None:
        try:
            return self.get(scope, post_id)
        except NotFoundError:
            return None

    def page(
        self, scope: str, status: str | None, limit: int, offset: int, after: str | None = None
    ) -> tuple[list[Post], int, bool]:
        """Newest first, after the post ``after`` (an id) or skipping ``offset``: one query reading
        offset + limit + 1 items (the one more tells whether a next page exists) and one read for
        the total. Ids are UUIDv7, so "after" is "with a smaller id": one page of reads however deep."""
        older = PostRecord.id < after if after is not None else None
        if status is None:
            records = PostRecord.query(scope, older, scan_index_forward=False, limit=offset + limit + 1)
            counter = ALL
        else:
            records = PostRecord.by_status.query(
                f"{scope}#{status}", older, scan_index_forward=False, limit=offset + limit + 1
            )
            counter = f"{ALL}#{status}"
        return self._page(records, offset, limit, self._total(scope, counter))

    def group(
        self, scope: str, group_id: str, limit: int, offset: int, after: str | None = None
    ) -> tuple[list[Post], int, bool]:
        older = PostRecord.id < after if after is not None else None
        records = PostRecord.by_group.query(
            f"{scope}#{group_id}", older, scan_index_forward=False, limit=offset + limit + 1
        )
        return self._page(records, offset, limit, self._total(scope, f"group#{group_id}"))

    @staticmethod
    def _page(records, offset: int, limit: int, total: int) -> tuple[list[Post], int, bool]:
        read = [_to_domain(record) for record in records]
        return read[offset : offset + limit], total, len(read) > offset + limit

    def all_in_group(self, scope: str, group_id: str) -> list[Post]:
        return [_to_domain(record) for record in PostRecord.by_group.query(f"{scope}#{group_id}")]

    def due(self, until: dt.datetime) -> list[tuple[str, str]]:
        """(scope, post id) of every scheduled post due at or before ``until``, over all shards."""
        found = []
        last = f"{sortable(until)}#~"  # "~" sorts after every id at that instant
        for shard in range(DUE_SHARDS):
            for record in PostRecord.due.query(f"due#{shard}", PostRecord.due_at <= last):
                found.append((record.scope, record.id))
        return found

    def in_flight(self, started_before: dt.datetime) -> list[tuple[str, str]]:
        """(scope, post id) of every post that has been publishing since before the given time."""
        found = []
        last = f"{sortable(started_before)}#~"
        for shard in range(DUE_SHARDS):
            for record in PostRecord.inflight.query(f"inflight#{shard}", PostRecord.inflight_at <= last):
                found.append((record.scope, record.id))
        return found

    def _total(self, scope: str, name: str) -> int:
        if name.startswith(f"{ALL}#"):
            return self._status_total(scope, name.split("#", 1)[1])
        try:
            return max(0, int(CounterRecord.get(scope, name).count))
        except CounterRecord.DoesNotExist:
            return 0

    @staticmethod
    def _status_total(scope: str, status: str) -> int:
        """The status's count on the item "posts", plus what an item "posts#{status}" written before
        the counts moved there still holds: one query of a few small items (one read unit)."""
        total = 0
        for record in CounterRecord.query(scope, CounterRecord.name.startswith(ALL)):
            if record.name == ALL:
                total += int(getattr(record, status) or 0)
            elif record.name == f"{ALL}#{status}":
                total += int(record.count or 0)
        return max(0, total)

    # --- writes --------------------------------------------------------------------------------
    def create(self, post: Post, key: RequestKey | None = None) -> None:
        """Write a new post. With a request key, claim it in the same transaction: a second
        request with that key raises AlreadyCreatedError naming the post the first one wrote."""
        attaching = sorted(post.attached_media_ids())
        record = _to_record(post)
        check_item_size(record)
        claimed = 1 if key is not None else 0
        with (
            _media_gone(1 + claimed, attaching),
            conflict_on_condition(f"Post {post.id} already exists."),
            _CLAIMS.honoured(post.scope, key, 1),
        ):

            def fill(transaction: TransactWrite) -> None:
                transaction.save(record, condition=PostRecord.id.does_not_exist())
                _CLAIMS.claim_in(transaction, post.scope, key, post.id, post.created_at)
                MediaStore.attach_in(transaction, post.scope, attaching, post.id)
                self._count(transaction, post.scope, _deltas(added=[post]))

            self._commit(fill)

    def replace(
        self, before: Post, after: Post, *, conflict: str = "The post changed meanwhile; read it again."
    ) -> None:
        """Write ``after`` if the stored post is still ``before`` (same version). Files the edit
        adds are marked as used in the same transaction (on condition they are still ready)."""
        after.version = before.version + 1
        condition = PostRecord.version == before.version
        deltas = _deltas(added=[after], removed=[before])
        attaching = sorted(after.attached_media_ids() - before.attached_media_ids())
        record = _to_record(after)
        check_item_size(record)
        with _media_gone(1, attaching), conflict_on_condition(conflict, code="post_changed"):
            if not any(deltas.values()) and not attaching:
                record.save(condition=condition)
                return

            def fill(transaction: TransactWrite) -> None:
                transaction.save(record, condition=condition)
                MediaStore.attach_in(transaction, after.scope, attaching, after.id)
                self._count(transaction, after.scope, deltas)

            self._commit(fill)

    def delete(self, posts: list[Post]) -> None:
        """Delete these posts of one scope together, or none of them (at most about 90 per call)."""
        with conflict_on_condition("A post changed meanwhile; nothing was deleted.", code="post_changed"):

            def fill(transaction: TransactWrite) -> None:
                for post in posts:
                    transaction.delete(
                        PostRecord(scope=post.scope, id=post.id), condition=PostRecord.version == post.version
                    )
                self._count(transaction, posts[0].scope, _deltas(removed=posts))

            self._commit(fill)

    def all_in_status(
        self, scope: str, status: str, scheduled_between: tuple[dt.datetime, dt.datetime] | None = None
    ) -> list[Post]:
        """Every post of one status (all pages of the by_status query), optionally only those whose
        ``scheduled_at`` lies within the two times (inclusive). Meant for the in-flight statuses
        (scheduled, publishing), bounded by what a workspace has planned, never for history."""
        condition = None
        if scheduled_between is not None:
            # Stored as fixed-width UTC text, so DynamoDB's comparison of the text is a comparison of times.
            condition = PostRecord.scheduled_at.between(*scheduled_between)
        records = PostRecord.by_status.query(f"{scope}#{status}", filter_condition=condition)
        return [_to_domain(record) for record in records]

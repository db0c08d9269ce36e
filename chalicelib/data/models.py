"""The DynamoDB tables, as PynamoDB models.

These classes are the single definition of every table: the app reads and writes through them, the
CDK stack builds each table from ``Model._get_schema()`` plus ``Meta.ttl`` facts below, and the local
stack calls ``create_table`` on them. ``bind()`` points them at the tables of one deployment.

Every record that belongs to a workspace is keyed by its *scope*, ``"{workspace_id}#{mode}"``: test
and live mode are separate worlds, so an id from the other mode or another workspace is simply not
found under the caller's scope (404), without any check that could be forgotten.
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model


class TextJSONAttribute(JSONAttribute):
    """A JSON document stored as compact UTF-8 text.

    PynamoDB's JSONAttribute escapes every non-ASCII character (6 bytes for "é", 12 for an emoji
    instead of 2 and 4), so a valid post of non-Latin text could outgrow DynamoDB's 400 KB item.
    Documents written escaped before still read back the same.
    """

    def serialize(self, value: Any) -> str | None:
        if value is None:
            return None
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: DynamoDB takes only valid UTF-8
            return json.dumps(value, separators=(",", ":"))
        return text


def scope_of(workspace_id: str, mode: str) -> str:
    return f"{workspace_id}#{mode}"


class _Table(Model):
    """Base for our tables; ``logical_name`` is the table's name within a deployment."""

    logical_name = ""

    class Meta:
        abstract = True
        table_name = ""
        billing_mode = "PAY_PER_REQUEST"


class WorkspaceRecord(_Table):
    logical_name = "workspaces"

    class Meta(_Table.Meta):
        abstract = False

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    # The operator's rate limit overrides: {policy: {"quota": q, "window": w}}; absent ones take the
    # deployment's defaults (chalicelib/settings.py).
    rate_limits = TextJSONAttribute(null=True)


class ApiKeysByScope(GlobalSecondaryIndex):
    """Lists a workspace's keys of one mode and finds one by its public id."""

    class Meta:
        index_name = "by_scope"
        projection = AllProjection()

    scope = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class ApiKeyRecord(_Table):
    """An API key, found by the SHA-256 of its secret (the secret itself is never stored)."""

    logical_name = "api-keys"

    class Meta(_Table.Meta):
        abstract = False
        ttl_attribute = "purge_at"

    key_hash = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute()
    scope = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    mode = UnicodeAttribute()
    name = UnicodeAttribute()
    prefix = UnicodeAttribute()  # the first characters of the secret, to recognise it by
    last_four = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    # Set when the key is rotated: it keeps working until then, and stops after.
    expires_at = UTCDateTimeAttribute(null=True)
    replaced_by = UnicodeAttribute(null=True)
    # DynamoDB TTL removes an expired key some time after it stopped working (epoch seconds).
    purge_at = NumberAttribute(null=True)

    by_scope = ApiKeysByScope()


class IntegrationRecord(_Table):
    logical_name = "integrations"

    class Meta(_Table.Meta):
        abstract = False

    scope = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    platform = UnicodeAttribute()
    username = UnicodeAttribute()
    display_name = UnicodeAttribute()
    status = UnicodeAttribute()  # active | needs_refresh | disconnected
    sandbox = BooleanAttribute(default=False)  # served by the sandbox adapter (test mode)
    avatar_url = UnicodeAttribute(null=True)
    # Platform-specific, non-secret facts (instance URL, character limit, account id, ...).
    profile = MapAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # The account's tokens, sealed with the deployment's KMS key (never readable from the table
    # alone), and a version every save checks, so a rotated refresh token is never overwritten by
    # an older one.
    credentials = UnicodeAttribute(null=True)
    credentials_version = NumberAttribute(default=0)


class PostsByStatus(GlobalSecondaryIndex):
    """A page of one status, newest first: ``status_key`` is "{scope}#{status}"."""

    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status_key = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class PostsByGroup(GlobalSecondaryIndex):
    """The posts of one group: ``group_key`` is "{scope}#{group_id}", present only on grouped posts."""

    class Meta:
        index_name = "by_group"
        projection = AllProjection()

    group_key = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class DuePosts(GlobalSecondaryIndex):
    """Scheduled posts by due time, for the dispatcher. Sparse: only a scheduled post carries
    ``due_shard``; it is removed the moment the post leaves ``scheduled``. Spread over a fixed number
    of shards ("due#0".."due#N-1") so one hot partition never limits the dispatcher."""

    class Meta:
        index_name = "due"
        projection = KeysOnlyProjection()

    due_shard = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)  # "{scheduled_at ISO, UTC}#{post id}": sorts by time


class PostsInFlight(GlobalSecondaryIndex):
    """Posts being published, for the reconciler. Sparse: only a ``publishing`` post carries
    ``inflight_shard`` ("inflight#0".."inflight#N-1"); sorted by when it started."""

    class Meta:
        index_name = "inflight"
        projection = KeysOnlyProjection()

    inflight_shard = UnicodeAttribute(hash_key=True)
    inflight_at = UnicodeAttribute(range_key=True)  # "{updated_at ISO}#{post id}"


class PostRecord(_Table):
    """A post with its targets. One item, so a get is one read and every change to the post and its
    targets is one conditional write on ``version``."""

    logical_name = "posts"

    class Meta(_Table.Meta):
        abstract = False

    scope = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    version = NumberAttribute()
    status = UnicodeAttribute()
    status_key = UnicodeAttribute()
    group_id = UnicodeAttribute(null=True)
    group_key = UnicodeAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    scheduled_at = UTCDateTimeAttribute(null=True)
    published_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # Set each time publishing starts; a publish message carrying another value is stale.
    dispatch_id = UnicodeAttribute(null=True)
    inflight_shard = UnicodeAttribute(null=True)
    inflight_at = UnicodeAttribute(null=True)
    notified = UnicodeAttribute(null=True)
    # The request-shaped parts (content, platforms, overrides, settings, media, segments, tags) and
    # the targets: read and written whole, never queried inside, so stored as one zlib-compressed
    # JSON document (chalicelib/data/posts.py). A post of one target then stays under 1 KB, and
    # every write of it costs one write unit instead of two. Items written before keep ``body``
    # and ``targets`` as JSON text, and read back the same; their next write packs them.
    packed = BinaryAttribute(null=True, legacy_encoding=False)
    body = TextJSONAttribute(null=True)
    targets = TextJSONAttribute(null=True)

    by_status = PostsByStatus()
    by_group = PostsByGroup()
    due = DuePosts()
    inflight = PostsInFlight()


class CounterRecord(_Table):
    """Exact counts per workspace and mode, kept in the same transaction as the change they count,
    so a list's total is one read and never a Scan.

    The item "posts" holds the number of posts (``count``) and, beside it, the number in each status,
    so a change of status moves one counter item, not two (each item in a transaction costs two
    write units). "group#{id}" items count a group's posts. Items "posts#{status}" were written
    before the status counts moved onto "posts": they are no longer moved, and a status's total is
    the sum of the two (chalicelib/data/posts.py)."""

    logical_name = "counters"

    class Meta(_Table.Meta):
        abstract = False

    scope = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)
    count = NumberAttribute(default=0)
    draft = NumberAttribute(null=True)
    scheduled = NumberAttribute(null=True)
    publishing = NumberAttribute(null=True)
    published = NumberAttribute(null=True)
    failed = NumberAttribute(null=True)


class SandboxPostRecord(_Table):
    """What the sandbox platform has published for one test-mode integration, as a real platform
    would keep it; also the sandbox's own idempotency marks ("key#..." items) and attempt counts
    ("attempts#..." items), so failures on demand can say "fail the first two tries"."""

    logical_name = "sandbox"

    class Meta(_Table.Meta):
        abstract = False
        ttl_attribute = "expires_at"

    integration_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="post")  # post | key | attempts
    text = UnicodeAttribute(null=True)
    reply_to = UnicodeAttribute(null=True)
    root = UnicodeAttribute(null=True)
    idempotency_key = UnicodeAttribute(null=True)
    post_id = UnicodeAttribute(null=True)  # on a "key#" item: the post it produced
    count = NumberAttribute(null=True)  # on an "attempts#" item
    media = JSONAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # sandbox posts are kept 30 days


class OAuthStateRecord(_Table):
    """A connection started and not yet finished, found by the hash of its OAuth state (the state
    itself is never stored). Read once: the callback deletes it as it reads it."""

    logical_name = "oauth-states"

    class Meta(_Table.Meta):
        abstract = False
        ttl_attribute = "expires_at"

    state_hash = UnicodeAttribute(hash_key=True)  # "{platform}#{sha256 of the state}"
    workspace_id = UnicodeAttribute()
    mode = UnicodeAttribute()
    key_id = UnicodeAttribute()
    verifier = UnicodeAttribute()  # the PKCE verifier, sealed with the KMS key
    expires_at = NumberAttribute()  # epoch seconds; TTL removes abandoned ones


class MediaRecord(_Table):
    """A media file: uploaded through a presigned URL or fetched from a URL a post named.

    ``pending`` until the verifier has looked at the uploaded bytes, then ``ready`` (the file sits
    under ``media/`` in the bucket) or ``rejected`` (with the reason). ``attached`` holds the ids of
    posts that took the file, added in the same transaction that writes the post, on the condition
    that the file is still ready, so a file cannot be deleted out from under a post."""

    logical_name = "media"

    class Meta(_Table.Meta):
        abstract = False
        ttl_attribute = "expires_at"

    scope = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()  # pending | ready | rejected
    kind = UnicodeAttribute()  # image | video
    content_type = UnicodeAttribute()
    filename = UnicodeAttribute()
    declared_size = NumberAttribute()  # what the client said it would send
    size = NumberAttribute(null=True)  # what arrived
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    alt_text = UnicodeAttribute(null=True)
    source_url = UnicodeAttribute(null=True)  # set for media fetched from a URL
    object_key = UnicodeAttribute(null=True)  # where a ready file is kept
    reason = UnicodeAttribute(null=True)  # why it was rejected, for people
    reason_code = UnicodeAttribute(null=True)  # and for programs
    upload_expires_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    attached = UnicodeSetAttribute(null=True)
    revision = NumberAttribute(default=0)  # moves on every change; deletes check it
    expires_at = NumberAttribute(null=True)  # epoch seconds: TTL removes abandoned and rejected files


class IdempotencyRecord(_Table):
    """Powertools' idempotency table. Powertools reads and writes it; this model only defines it."""

    logical_name = "idempotency"

    class Meta(_Table.Meta):
        abstract = False
        ttl_attribute = "expiration"

    id = UnicodeAttribute(hash_key=True)
    expiration = NumberAttribute(null=True)
    # On a claim ("claim#..." items, see data/request_keys.py): what the request created, and the
    # fingerprint of the request.
    resource_id = UnicodeAttribute(null=True)
    fingerprint = UnicodeAttribute(null=True)


class RateLimitCounterRecord(_Table):
    """Requests counted against an API key's rate limits: one item per key, shard and clock hour.

    ``id`` is "{workspace_id}#{mode}#{key_id}#{hour start, epoch seconds}#{shard}". The counters
    themselves are attributes named "{policy}@{window start}", one per policy and window, added to
    by one conditional UpdateItem per request (chalicelib/data/rate_limits.py writes them with the
    low-level client, since their names are not known in advance). TTL removes an item an hour after
    its hour ended."""

    logical_name = "rate-limits"

    class Meta(_Table.Meta):
        abstract = False
        ttl_attribute = "expires_at"

    id = UnicodeAttribute(hash_key=True)
    expires_at = NumberAttribute(null=True)


class WebhookRecord(_Table):
    """A webhook endpoint of one workspace and mode. Every change is a conditional write on ``version``."""

    logical_name = "webhooks"

    class Meta(_Table.Meta):
        abstract = False

    scope = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    version = NumberAttribute()
    url = UnicodeAttribute()
    events = TextJSONAttribute()  # ["post.published", ...] or ["*"]
    description = UnicodeAttribute(default="")
    enabled = BooleanAttribute()
    # Signing secrets, sealed with the KMS key like platform tokens; after a rotation the previous
    # one signs too, until previous_secret_until.
    secret = UnicodeAttribute()
    previous_secret = UnicodeAttribute(null=True)
    previous_secret_until = UTCDateTimeAttribute(null=True)
    disabled_reason = UnicodeAttribute(null=True)
    failing_since = UTCDateTimeAttribute(null=True)  # the first failure since the last success
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


class WebhookDeliveryRecord(_Table):
    """One event on its way to one endpoint: the delivery log. ``endpoint_key`` is
    "{scope}#{webhook id}"; ids are UUIDv7 of the event's time, so a query lists newest first.
    TTL removes a delivery 30 days after it was made."""

    logical_name = "webhook-deliveries"

    class Meta(_Table.Meta):
        abstract = False
        ttl_attribute = "expires_at"

    endpoint_key = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    body = UnicodeAttribute()  # exactly the bytes signed and sent (under 20 KB)
    status = UnicodeAttribute()  # pending | sending | succeeded | failed
    attempts = NumberAttribute(default=0)
    history = TextJSONAttribute(default=list)  # one entry per attempt, oldest first
    next_attempt_at = UTCDateTimeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)  # set while an attempt is being sent
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    expires_at = NumberAttribute()  # epoch seconds


class SnapshotsByScope(GlobalSecondaryIndex):
    """A workspace's snapshots (one mode), newest first: ``captured_key`` is "{captured_at}#{id}"."""

    class Meta:
        index_name = "by_scope"
        projection = AllProjection()

    scope = UnicodeAttribute(hash_key=True)
    captured_key = UnicodeAttribute(range_key=True)


class SnapshotsByIntegration(GlobalSecondaryIndex):
    """One integration's snapshots, newest first: ``integration_key`` is "{scope}#{integration_id}"."""

    class Meta:
        index_name = "by_integration"
        projection = AllProjection()

    integration_key = UnicodeAttribute(hash_key=True)
    captured_key = UnicodeAttribute(range_key=True)


class AnalyticsSnapshotRecord(_Table):
    """One reading of a published target's counters. Append-only: written once with a condition
    that the item is new, and keyed by (post, "{target_id}#{refresh slot}"), so a refresh message
    delivered twice writes nothing the second time. A post's history is one Query."""

    logical_name = "analytics-snapshots"

    class Meta(_Table.Meta):
        abstract = False

    post_key = UnicodeAttribute(hash_key=True)  # "{scope}#{post_id}"
    slot_key = UnicodeAttribute(range_key=True)  # "{target_id}#{slot}"
    id = UnicodeAttribute()
    scope = UnicodeAttribute()
    integration_key = UnicodeAttribute()
    captured_key = UnicodeAttribute()
    post_id = UnicodeAttribute()
    target_id = UnicodeAttribute()
    integration_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    username = UnicodeAttribute(null=True)
    post_url = UnicodeAttribute(null=True)
    captured_at = UTCDateTimeAttribute()
    # Null when the platform does not count it: never 0 for "unknown".
    impressions = NumberAttribute(null=True)
    likes = NumberAttribute(null=True)
    comments = NumberAttribute(null=True)
    shares = NumberAttribute(null=True)
    platform_data = TextJSONAttribute(null=True)

    by_scope = SnapshotsByScope()
    by_integration = SnapshotsByIntegration()


class TrackedByPublication(GlobalSecondaryIndex):
    """Published targets by publication time, for the analytics planner. Sparse: only tracked
    targets carry ``published_shard`` ("pub#0".."pub#N-1", spread so no partition is hot); a tier's
    due targets are one range of ``published_key`` ("{published_at}#{post_id}#{target_id}")."""

    class Meta:
        index_name = "by_publication"
        projection = AllProjection()

    published_shard = UnicodeAttribute(hash_key=True)
    published_key = UnicodeAttribute(range_key=True)


class AnalyticsTrackingRecord(_Table):
    """What the analytics refresh keeps besides snapshots, one kind per item (``item_key``):

    - "target#{post_id}#{target_id}": a published target on a platform that has metrics, written
      once when it is published; TTL removes it after the last tier;
    - "integration#{id}": an integration's backoff and metered reads this month;
    - "refresh#{post_id}": when the post was last refreshed on request (once per 5 minutes);
    - "export#{id}": a CSV export and where its file is;
    - under scope "planner": the last slot planned per tier, so a repeated tick plans nothing.
    """

    logical_name = "analytics-tracking"

    class Meta(_Table.Meta):
        abstract = False
        ttl_attribute = "expires_at"

    scope = UnicodeAttribute(hash_key=True)
    item_key = UnicodeAttribute(range_key=True)
    published_shard = UnicodeAttribute(null=True)
    published_key = UnicodeAttribute(null=True)
    data = TextJSONAttribute(null=True)
    backoff_until = UTCDateTimeAttribute(null=True)
    month = UnicodeAttribute(null=True)
    reads = NumberAttribute(null=True)
    exhausted = UnicodeAttribute(null=True)  # the month whose budget ran out
    unavailable = UnicodeAttribute(null=True)  # why the platform refuses the account's reads
    at = UTCDateTimeAttribute(null=True)
    slot = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)

    by_publication = TrackedByPublication()


TABLE_MODELS: tuple[type[_Table], ...] = (
    WorkspaceRecord,
    ApiKeyRecord,
    IntegrationRecord,
    PostRecord,
    CounterRecord,
    SandboxPostRecord,
    OAuthStateRecord,
    MediaRecord,
    IdempotencyRecord,
    RateLimitCounterRecord,
    WebhookRecord,
    WebhookDeliveryRecord,
    AnalyticsSnapshotRecord,
    AnalyticsTrackingRecord,
)


def ttl_attribute(model: type[_Table]) -> str | None:
    """The attribute DynamoDB's time-to-live reads on this table, if any."""
    return getattr(model.Meta, "ttl_attribute", None)


def bind(table_name, region: str, host: str | None) -> None:
    """Point every model at one deployment's tables; ``table_name(logical)`` gives each physical name.

    PynamoDB caches a connection per model, so a rebind drops the cached ones.
    """
    from chalicelib.data.sessions import share_with_pynamodb

    share_with_pynamodb()
    for model in TABLE_MODELS:
        model.Meta.table_name = table_name(model.logical_name)
        model.Meta.region = region
        model.Meta.host = host
        model._connection = None

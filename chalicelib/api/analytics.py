"""/v1/analytics: snapshots across the workspace, a post's analytics per target, refresh now, CSV."""

from __future__ import annotations

from typing import Any, Literal

from chalice import Response
from pydantic import ConfigDict, Field

from chalicelib.api.routing import ApiBlueprint, Call, Reply
from chalicelib.api.schemas import RequestModel, ResponseModel, Timestamp
from chalicelib.container import services
from chalicelib.domain.analytics import csv_rows

blueprint = ApiBlueprint(__name__, tag="Analytics")


# Built on first use, not when the API starts: a container that never serves analytics never pays.
class _Request(RequestModel):
    model_config = ConfigDict(defer_build=True)


class _Response(ResponseModel):
    model_config = ConfigDict(defer_build=True)


Days = Field(default=30, ge=1, le=365, description="How many days back to include. Default 30.")
METRIC_NOTE = "null when the platform does not count it (never 0 for unknown)."


class AnalyticsQuery(_Request):
    days: int = Days
    integration_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="Only this integration's snapshots."
    )
    format: Literal["json", "csv"] = Field(default="json", description="csv: the same rows as RFC 4180 CSV.")


class PostAnalyticsQuery(_Request):
    days: int = Field(default=30, ge=1, le=365, description="How many days of snapshot history to include.")


class ExportRequest(_Request):
    days: int = Field(default=30, ge=1, le=3650, description="How many days back to include.")
    integration_id: str | None = Field(default=None, min_length=1, max_length=64)
    post_id: str | None = Field(default=None, min_length=1, max_length=64)


class SnapshotOut(_Response):
    id: str
    post_target_id: str
    integration_id: str
    post_id: str
    platform: str
    impressions: int | None = Field(description=METRIC_NOTE)
    likes: int | None = Field(description=METRIC_NOTE)
    comments: int | None = Field(description=METRIC_NOTE)
    shares: int | None = Field(description=METRIC_NOTE)
    platform_data: dict[str, Any] = Field(description="The platform's own counters, as it gave them.")
    captured_at: Timestamp


class Totals(_Response):
    impressions: int | None
    likes: int | None
    comments: int | None
    shares: int | None


class TargetAnalyticsOut(_Response):
    target_id: str
    platform: str
    username: str
    status: str
    post_url: str | None
    impressions: int | None
    likes: int | None
    comments: int | None
    shares: int | None
    analytics_status: Literal["active", "pending", "unavailable"] = Field(
        description="active: refreshed on the tiers' schedule; pending: no reading yet; unavailable: see the reason."
    )
    analytics_reason: str | None = Field(
        description="platform_has_no_metrics, needs_refresh, integration_disconnected, budget_exhausted, "
        "older_than_90_days, metrics_not_permitted, not_published; null when active."
    )
    snapshots: list[SnapshotOut] = Field(description="Newest first.")


class PostAnalyticsOut(_Response):
    post_id: str
    totals: Totals
    targets: list[TargetAnalyticsOut]


class RefreshOut(_Response):
    post_id: str
    queued_targets: int


class ExportOut(_Response):
    id: str
    status: Literal["pending", "ready", "failed"]
    filters: dict[str, Any]
    rows: int | None
    url: str | None = Field(description="A presigned download URL of the CSV file, once ready.")
    url_expires_at: str | None
    created_at: str
    completed_at: str | None


def snapshot_out(snapshot) -> SnapshotOut:
    return SnapshotOut(
        id=snapshot.id,
        post_target_id=snapshot.target_id,
        integration_id=snapshot.integration_id,
        post_id=snapshot.post_id,
        platform=snapshot.platform,
        impressions=snapshot.impressions,
        likes=snapshot.likes,
        comments=snapshot.comments,
        shares=snapshot.shares,
        platform_data=snapshot.platform_data or {},
        captured_at=snapshot.captured_at,
    )


@blueprint.operation(
    "GET",
    "/v1/analytics",
    summary="List recent analytics snapshots",
    query=AnalyticsQuery,
    response=SnapshotOut,
    listed=True,
    also_serves=("text/csv",),
)
def list_snapshots(call: Call):
    """Up to 500 snapshots across the workspace, newest first. Each is an append-only reading of one
    target's counters. With format=csv the same rows come as text/csv (RFC 4180, UTF-8, a header row)."""
    query = call.query
    snapshots = services().analytics.snapshots(call.principal, query.days, query.integration_id)
    if query.format == "csv":
        text, _ = csv_rows.render(snapshots)
        return Response(
            body=text,
            status_code=200,
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": 'attachment; filename="analytics.csv"',
            },
        )
    return [snapshot_out(s) for s in snapshots]


def _post_analytics(call: Call, post_id: str) -> PostAnalyticsOut:
    analytics = services().analytics
    found, targets = analytics.post(call.principal, post_id, call.query.days)
    totals = analytics.totals(targets)
    return PostAnalyticsOut(
        post_id=found,
        totals=Totals(**totals),
        targets=[
            TargetAnalyticsOut(
                target_id=t.target_id,
                platform=t.platform,
                username=t.username,
                status=t.status,
                post_url=t.post_url,
                impressions=t.latest.impressions if t.latest else None,
                likes=t.latest.likes if t.latest else None,
                comments=t.latest.comments if t.latest else None,
                shares=t.latest.shares if t.latest else None,
                analytics_status=t.analytics_status,
                analytics_reason=t.analytics_reason,
                snapshots=[snapshot_out(s) for s in t.snapshots],
            )
            for t in targets
        ],
    )


@blueprint.operation(
    "GET",
    "/v1/analytics/post/{post_id}",
    summary="Get a post's analytics",
    query=PostAnalyticsQuery,
    response=PostAnalyticsOut,
    errors=(404,),
)
def get_post_analytics(call: Call, post_id: str):
    """Latest metrics per target (platform account), their totals, and each target's snapshots."""
    return _post_analytics(call, post_id)


@blueprint.operation(
    "GET",
    "/v1/analytics/posts/{post_id}",
    summary="Get a post's analytics (alias)",
    query=PostAnalyticsQuery,
    response=PostAnalyticsOut,
    errors=(404,),
)
def get_posts_analytics(call: Call, post_id: str):
    """The same as /v1/analytics/post/{post_id}."""
    return _post_analytics(call, post_id)


@blueprint.operation(
    "POST",
    "/v1/analytics/post/{post_id}/refresh",
    summary="Refresh a post's analytics now",
    status=202,
    response=RefreshOut,
    errors=(404, 429),
)
def refresh_post_analytics(call: Call, post_id: str):
    """Queues an immediate refresh of the post's published targets; once every 5 minutes per post
    (429 with Retry-After otherwise)."""
    return RefreshOut(post_id=post_id, queued_targets=services().analytics.refresh_now(call.principal, post_id))


@blueprint.operation(
    "POST",
    "/v1/analytics/exports",
    summary="Export analytics as CSV",
    status=202,
    body=ExportRequest,
    response=ExportOut,
    errors=(404,),
)
def create_export(call: Call):
    """Writes every snapshot matching the filters (whole histories, beyond 500 rows) to a CSV file;
    poll GET /v1/analytics/exports/{export_id} for its status and download URL."""
    body = call.body
    export = services().analytics.start_export(call.principal, body.days, body.integration_id, body.post_id)
    return Reply(ExportOut(**export), status=202)


@blueprint.operation(
    "GET", "/v1/analytics/exports/{export_id}", summary="Get an analytics export", response=ExportOut, errors=(404,)
)
def get_export(call: Call, export_id: str):
    """The export's status and, once ready, a presigned download URL (valid 15 minutes)."""
    return ExportOut(**services().analytics.export(call.principal, export_id))

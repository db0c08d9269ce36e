"""What the API asks of analytics: snapshots, a post's analytics per target, refresh now, exports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from chalicelib.clock import Clock, format_timestamp
from chalicelib.domain.analytics import csv_rows
from chalicelib.domain.analytics.model import METRICS, Snapshot, Tracked
from chalicelib.domain.analytics.planner import refresh_messages
from chalicelib.domain.analytics.tiers import LAST_REFRESH_AGE
from chalicelib.domain.principal import Principal
from chalicelib.errors import NotFoundError, RateLimitedError
from chalicelib.ids import uuid7
from chalicelib.platforms import registry

MAX_SNAPSHOTS = 500
REFRESH_EVERY = dt.timedelta(minutes=5)
EXPORT_KEPT = dt.timedelta(days=7)
EXPORT_URL_SECONDS = 900


@dataclass
class TargetAnalytics:
    target_id: str
    platform: str
    username: str
    status: str
    post_url: str | None
    analytics_status: str
    analytics_reason: str | None
    latest: Snapshot | None
    snapshots: list[Snapshot] = field(default_factory=list)


def analytics_status(target, integration, state, latest: Snapshot | None, now: dt.datetime) -> tuple[str, str | None]:
    """``active``, ``pending``, or ``unavailable`` with the reason, for one target."""
    descriptor = registry.get(target.platform)
    if descriptor.metrics is None:
        return "unavailable", "platform_has_no_metrics"
    if target.status != "published":
        return "pending", "not_published"
    if integration is None or integration.status == "disconnected":
        return "unavailable", "integration_disconnected"
    if integration.status == "needs_refresh":
        return "unavailable", "needs_refresh"
    if state is not None and state.unavailable:
        return "unavailable", state.unavailable
    if descriptor.metrics.metered and state is not None and state.budget_exhausted(now):
        return "unavailable", "budget_exhausted"
    published = _parse(target.published_at)
    if published is not None and now - published >= LAST_REFRESH_AGE:
        return "unavailable", "older_than_90_days"
    if latest is None:
        return "pending", None
    return "active", None


def _parse(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def tracked_from(post, target) -> Tracked | None:
    """The analytics record of a target just published, if its platform has metrics."""
    if registry.get(target.platform).metrics is None or not target.platform_post_id:
        return None
    return Tracked(
        workspace_id=post.workspace_id,
        mode=post.mode,
        post_id=post.id,
        target_id=target.id,
        integration_id=target.integration_id,
        platform=target.platform,
        platform_post_id=target.platform_post_id,
        published_at=_parse(target.published_at) or post.updated_at,
        username=target.username,
        post_url=target.platform_post_url,
    )


class AnalyticsService:
    def __init__(self, store, posts, integrations, queue, files, clock: Clock):
        self._store = store
        self._posts = posts
        self._integrations = integrations
        self._queue = queue
        self._files = files
        self._clock = clock

    # --- tracking ------------------------------------------------------------------------------
    def track(self, post, target_id: str) -> None:
        """Start reading the counters of a target just published (called by the publisher)."""
        target = next((t for t in post.targets if t.id == target_id), None)
        tracked = tracked_from(post, target) if target is not None else None
        if tracked is not None:
            self._store.track(tracked)

    # --- reads ---------------------------------------------------------------------------------
    def snapshots(self, principal: Principal, days: int, integration_id: str | None) -> list[Snapshot]:
        since = self._clock.now() - dt.timedelta(days=days)
        return self._store.recent(principal.scope, since, integration_id, MAX_SNAPSHOTS)

    def post(self, principal: Principal, post_id: str, days: int) -> tuple[str, list[TargetAnalytics]]:
        post = self._posts.get(principal.scope, post_id)
        now = self._clock.now()
        since = now - dt.timedelta(days=days)
        history: dict[str, list[Snapshot]] = {}
        for snapshot in self._store.of_post(principal.scope, post_id):
            history.setdefault(snapshot.target_id, []).append(snapshot)
        integrations = {i.id: i for i in self._integrations.list(principal.workspace_id, principal.mode)}
        states: dict[str, Any] = {}
        targets = []
        for target in post.targets:
            snapshots = sorted(history.get(target.id, []), key=lambda s: (s.captured_at, s.id), reverse=True)
            latest = snapshots[0] if snapshots else None
            if target.integration_id not in states:
                states[target.integration_id] = self._store.integration_state(principal.scope, target.integration_id)
            status, reason = analytics_status(
                target, integrations.get(target.integration_id), states[target.integration_id], latest, now
            )
            targets.append(
                TargetAnalytics(
                    target_id=target.id,
                    platform=target.platform,
                    username=target.username,
                    status=target.status,
                    post_url=target.platform_post_url,
                    analytics_status=status,
                    analytics_reason=reason,
                    latest=latest,
                    snapshots=[s for s in snapshots if s.captured_at >= since],
                )
            )
        return post.id, targets

    @staticmethod
    def totals(targets: list[TargetAnalytics]) -> dict[str, int | None]:
        """The sum of each metric over the targets' latest readings; null where no target counts it."""
        sums: dict[str, int | None] = {}
        for name in METRICS:
            values = [getattr(t.latest, name) for t in targets if t.latest is not None]
            known = [value for value in values if value is not None]
            sums[name] = sum(known) if known else None
        return sums

    # --- refresh now ---------------------------------------------------------------------------
    def refresh_now(self, principal: Principal, post_id: str) -> int:
        """Queue the post's targets for an immediate refresh, at most once per 5 minutes."""
        post = self._posts.get(principal.scope, post_id)  # 404 for a post that is not the caller's
        now = self._clock.now()
        last = self._store.claim_refresh(principal.scope, post_id, now, REFRESH_EVERY)
        if last is not None:
            wait = max(1, int((last + REFRESH_EVERY - now).total_seconds()) + 1)
            raise RateLimitedError(
                f"This post's analytics were refreshed at {format_timestamp(last)}; a post may be refreshed "
                f"once every {int(REFRESH_EVERY.total_seconds() // 60)} minutes.",
                retry_after=wait,
            )
        found = [tracked_from(post, target) for target in post.targets if target.status == "published"]
        tracked = [t for t in found if t is not None and now - t.published_at < LAST_REFRESH_AGE]
        messages = refresh_messages(tracked, f"{now.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}~now")
        if messages:
            self._queue.send(messages)
        return len(tracked)

    # --- exports -------------------------------------------------------------------------------
    def start_export(self, principal: Principal, days: int, integration_id: str | None, post_id: str | None) -> dict:
        if post_id is not None:
            self._posts.get(principal.scope, post_id)
        now = self._clock.now()
        export = {
            "id": uuid7(self._clock),
            "status": "pending",
            "filters": {"days": days, "integration_id": integration_id, "post_id": post_id},
            "rows": None,
            "created_at": format_timestamp(now),
            "completed_at": None,
            "key": None,
        }
        self._store.save_export(principal.scope, export["id"], export, now + EXPORT_KEPT)
        self._queue.send([{"kind": "export", "scope": principal.scope, "export_id": export["id"]}])
        return self._shown(export)

    def export(self, principal: Principal, export_id: str) -> dict:
        export = self._store.export(principal.scope, export_id)
        if export is None:
            raise NotFoundError(f"No analytics export {export_id} in this workspace.", code="export_not_found")
        return self._shown(export)

    def _shown(self, export: dict) -> dict:
        shown = {key: value for key, value in export.items() if key != "key"}
        shown["url"] = shown["url_expires_at"] = None
        if export["status"] == "ready" and export.get("key"):
            shown["url"] = self._files.url(export["key"], EXPORT_URL_SECONDS)
            shown["url_expires_at"] = format_timestamp(self._clock.now() + dt.timedelta(seconds=EXPORT_URL_SECONDS))
        return shown

    def fail_export(self, scope: str, export_id: str) -> None:
        export = self._store.export(scope, export_id)
        if export is not None and export["status"] == "pending":
            failed = {**export, "status": "failed", "completed_at": format_timestamp(self._clock.now())}
            self._store.save_export(scope, export_id, failed, self._clock.now() + EXPORT_KEPT)

    def run_export(self, scope: str, export_id: str) -> str:
        """Write the export's CSV to the bucket (the refresh function does this from the queue)."""
        export = self._store.export(scope, export_id)
        if export is None or export["status"] != "pending":
            return "nothing_to_do"
        filters = export["filters"]
        since = self._clock.now() - dt.timedelta(days=filters["days"])
        if filters.get("post_id"):
            rows = [
                s
                for s in self._store.of_post(scope, filters["post_id"])
                if s.captured_at >= since
                and (not filters.get("integration_id") or s.integration_id == filters["integration_id"])
            ]
            rows.sort(key=lambda s: (s.captured_at, s.id), reverse=True)
        else:
            rows = self._store.all_since(scope, since, filters.get("integration_id"))
        text, count = csv_rows.render(rows)
        key = f"exports/{scope.replace('#', '/')}/{export_id}.csv"
        self._files.put(key, text.encode("utf-8"))
        done = {
            **export,
            "status": "ready",
            "rows": count,
            "key": key,
            "completed_at": format_timestamp(self._clock.now()),
        }
        self._store.save_export(scope, export_id, done, self._clock.now() + EXPORT_KEPT)
        return "exported"

"""The refresh: one message is one integration's targets at one slot, read in the platform's
largest batches, one append-only snapshot per target.

Idempotent per (target, slot): the snapshots already captured for the slot are read first (a
redelivered message asks the platform nothing) and each snapshot is a conditional put (a race
adds nothing either). The platform is never pushed: a 429 or a spent rate-limit window backs the
whole integration off until the reset; a token the platform refuses marks the integration
``needs_refresh`` and the work is dropped, not retried; on a metered platform each batch is
counted against the deployment's monthly read budget first, and once it is spent the integration's
targets say ``budget_exhausted`` until the month turns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from chalicelib.clock import Clock
from chalicelib.domain.analytics.model import Snapshot, Tracked
from chalicelib.domain.publishing import RetryLaterError
from chalicelib.errors import NotFoundError
from chalicelib.ids import uuid7
from chalicelib.measures import NO_MEASURES, Measures
from chalicelib.observability import logger
from chalicelib.platforms import registry
from chalicelib.platforms.base import (
    AuthenticationFailedError,
    PermanentError,
    PlatformRateLimitedError,
    TransientError,
)
from chalicelib.platforms.metrics import Published

# When a platform limits us without saying until when.
DEFAULT_BACKOFF = 900.0
TRANSIENT_RETRY = 60.0


class Refresher:
    def __init__(
        self,
        store,
        integrations,
        readers: Callable,
        clock: Clock,
        monthly_budget: int,
        events=None,
        measures: Measures = NO_MEASURES,
    ):
        self._store = store
        self._measures = measures
        self._events = events  # where integration.needs_refresh goes (the webhooks' events queue)
        self._integrations = integrations
        self._readers = readers  # integration -> MetricsReader
        self._clock = clock
        self._budget = monthly_budget

    def refresh(self, message: dict) -> str:
        workspace_id, mode, integration_id = message["workspace_id"], message["mode"], message["integration_id"]
        scope, slot = f"{workspace_id}#{mode}", message["slot"]
        targets = [Tracked.from_dict(item) for item in message["targets"]]
        try:
            integration = self._integrations.get(workspace_id, mode, integration_id)
        except NotFoundError:
            return "integration_gone"
        metrics = registry.get(integration.platform).metrics
        if metrics is None:
            return "no_metrics"
        if integration.status != "active":
            return integration.status  # needs_refresh, disconnected: nothing to read with
        now = self._clock.now()
        lag = _lag(slot, now)
        if lag is not None:
            self._measures.seconds("AnalyticsRefreshLag", lag)
        state = self._store.integration_state(scope, integration_id)
        if state.backoff_until is not None and state.backoff_until > now:
            raise RetryLaterError((state.backoff_until - now).total_seconds(), "the platform asked us to wait")
        if metrics.metered and state.budget_exhausted(now) and state.reads >= self._budget:
            return "budget_exhausted"  # (a budget raised since lets reads resume at once)
        done = self._store.captured(scope, [(t.post_id, t.target_id, slot) for t in targets])
        todo = [t for t in targets if (t.target_id, slot) not in done]
        # Youngest first: a platform that tells more of young posts (X, under 30 days) gets them together.
        todo.sort(key=lambda t: t.published_at, reverse=True)
        reader = self._readers(integration)
        written = 0
        for start in range(0, len(todo), metrics.batch):
            chunk = todo[start : start + metrics.batch]
            if metrics.metered and not self._store.meter(scope, integration_id, now, len(chunk), self._budget):
                self._store.mark_exhausted(scope, integration_id, now)
                logger.warning("metered read budget spent", extra={"integration_id": integration_id})
                return "budget_exhausted"
            if metrics.metered and state.exhausted:
                self._store.mark_exhausted(scope, integration_id, None)
                state.exhausted = None
            found = self._read(reader, chunk, scope, integration, now)
            if found is None:
                return "unavailable"
            if state.unavailable:
                self._store.mark_unavailable(scope, integration_id, None)
                state.unavailable = None
            for target in chunk:
                reading = found.get(target.platform_post_id)
                if reading is not None and self._store.append(self._snapshot(target, reading, slot, metrics.exposes)):
                    written += 1
            if reader.wait and start + metrics.batch < len(todo):
                self._back_off(scope, integration_id, now, reader.wait)
                raise RetryLaterError(reader.wait, "the platform's rate limit window is spent")
            if reader.wait:
                self._back_off(scope, integration_id, now, reader.wait)
        logger.info("analytics refreshed", extra={"integration_id": integration_id, "slot": slot, "written": written})
        return f"captured {written}"

    def _read(self, reader, chunk: list[Tracked], scope: str, integration, now: dt.datetime):
        posts = [Published(t.platform_post_id, t.published_at, t.post_url) for t in chunk]
        self._measures.count("AnalyticsPlatformCalls", platform=integration.platform)
        try:
            return reader.read(posts)
        except PlatformRateLimitedError as error:
            wait = error.retry_after or DEFAULT_BACKOFF
            self._back_off(scope, integration.id, now, wait)
            raise RetryLaterError(wait, "the platform is rate limiting this account") from error
        except AuthenticationFailedError:
            self._integrations.set_status(
                integration.workspace_id, integration.mode, integration.id, "needs_refresh", now=now
            )
            if self._events is not None:
                from chalicelib.domain.events import integration_event

                self._events.send(
                    integration_event(
                        "integration.needs_refresh",
                        integration.id,
                        integration.platform,
                        integration.username,
                        integration.workspace_id,
                        integration.mode,
                        now,
                    )
                )
            logger.warning("analytics: the account needs to be reconnected", extra={"integration_id": integration.id})
            return None
        except TransientError as error:
            raise RetryLaterError(error.retry_after or TRANSIENT_RETRY, "the platform is unavailable") from error
        except PermanentError as error:
            # The platform refuses this account's reads (a permission it was not granted): its
            # targets say why until a read works again; publishing is not affected.
            self._store.mark_unavailable(scope, integration.id, error.code)
            logger.warning(
                "analytics: the platform refuses reads", extra={"integration_id": integration.id, "code": error.code}
            )
            return None

    def _back_off(self, scope: str, integration_id: str, now: dt.datetime, seconds: float) -> None:
        self._store.back_off(scope, integration_id, now + dt.timedelta(seconds=seconds))

    def _snapshot(self, target: Tracked, reading, slot: str, exposes) -> Snapshot:
        def exposed(name: str):
            # What the platform does not count is null, whatever a reader made of it.
            return getattr(reading, name) if name in exposes else None

        return Snapshot(
            id=uuid7(self._clock),
            workspace_id=target.workspace_id,
            mode=target.mode,
            post_id=target.post_id,
            target_id=target.target_id,
            integration_id=target.integration_id,
            platform=target.platform,
            slot=slot,
            captured_at=self._clock.now(),
            impressions=exposed("impressions"),
            likes=exposed("likes"),
            comments=exposed("comments"),
            shares=exposed("shares"),
            platform_data=reading.platform_data,
            username=target.username,
            post_url=target.post_url,
        )


def _lag(slot: str, now: dt.datetime) -> float | None:
    """Seconds between the time a refresh was planned for and its reading: a tier's slot
    (``%Y-%m-%dT%H:%MZ``) or a refresh asked for by hand (``%Y-%m-%dT%H:%M:%SZ~now``)."""
    try:
        planned = dt.datetime.fromisoformat(slot.split("~")[0].replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, (now - planned).total_seconds())

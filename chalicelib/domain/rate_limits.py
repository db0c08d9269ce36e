"""Rate limits per API key: which policies apply, counting, and the IETF RateLimit fields.

Policies (chalicelib/settings.py): "default" counts every authenticated request; "posts" and
"media" also count the routes that create posts and media. A workspace may override any policy's
quota and window. Every answer to an authenticated request carries the fields of
draft-ietf-httpapi-ratelimit-headers (revision 10 and later), one list member per policy:

    RateLimit-Policy: "default";q=600;w=60, "posts";q=60;w=60
    RateLimit: "default";r=412;t=17, "posts";r=59;t=17

**Fixed windows**, aligned to the clock (a 60 s window starts on the minute): one counter per policy
and window, so a request is one ADD, and the reset time is the same for every caller. A client can
send up to twice the quota across a window boundary; for quotas meant to protect the service, not
to meter it, that is the accepted price of one write per request.

**Sharding.** A key allowed more requests a second than one counter item should take
(``rate_limit_shard_rate``) is counted on N items; each request picks one at random, and each item
admits ceil(q / N). Remaining is then estimated from that one item as if every shard held what it
holds: r = q - N x (its count), at least 0. Random picks spread requests evenly, so the estimate is
close for the large quotas that get shards; at the default quotas N is 1 and every figure is exact.

**Fail open.** If the counters cannot be reached, the request is served, the failure logged and
counted (metric ``RateLimitCounterFailures``), and the answer carries the policies but no
``RateLimit`` field: we do not know what remains.
"""

from __future__ import annotations

import math
import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from chalicelib.clock import Clock
from chalicelib.data.rate_limits import Counted
from chalicelib.domain.principal import Principal
from chalicelib.errors import RateLimitedError, ServiceUnavailableError, ValidationError
from chalicelib.measures import NO_MEASURES, Measures
from chalicelib.observability import logger, metrics
from chalicelib.settings import RATE_LIMIT_HOUR, RateLimit, Settings

DEFAULT_POLICY = "default"
# A counter item lives past its hour for this long, then TTL removes it.
COUNTER_KEEP_SECONDS = RATE_LIMIT_HOUR
_CACHE_ENTRIES = 1024


@dataclass(frozen=True)
class PolicyCount:
    name: str
    limit: RateLimit
    remaining: int
    reset: int  # whole seconds until the window ends, at least 1
    spent: bool


def policy_field(policies: list[tuple[str, RateLimit]]) -> str:
    return ", ".join(f'"{name}";q={limit.quota};w={limit.window}' for name, limit in policies)


def state_field(counts: list[PolicyCount]) -> str:
    return ", ".join(f'"{count.name}";r={count.remaining};t={count.reset}' for count in counts)


def shard_count(limits: Mapping[str, RateLimit], shard_rate: int, max_shards: int) -> int:
    """How many counter items a key with these limits needs: its highest rate over one item's."""
    busiest = max(limit.quota / limit.window for limit in limits.values())
    return max(1, min(max_shards, math.ceil(busiest / shard_rate)))


class SpentCounters:
    """The counters this container has seen refuse a request, until their window ends.

    A counter at its quota stays there until its window ends (refused requests add nothing, and
    the window is in the counter's name), so a key that keeps calling once refused is refused
    here, with no write, instead of costing DynamoDB a conditional update per request. Kept per
    counter item (one shard of one key), with the counts read when it refused; bounded, oldest
    out first. A raised quota (an operator's override) is checked against those counts.
    """

    def __init__(self, entries: int = _CACHE_ENTRIES):
        self._entries = entries
        self._items: OrderedDict[str, tuple[dict[str, int], float]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, item: str, counts: Mapping[str, int], until: float, now: float) -> None:
        with self._lock:
            known, _ = self._items.get(item, ({}, 0.0))
            self._items[item] = ({**known, **counts}, until)
            self._items.move_to_end(item)
            while self._items and (len(self._items) > self._entries or next(iter(self._items.values()))[1] <= now):
                self._items.popitem(last=False)

    def refusal(self, item: str, quotas: Mapping[str, int], now: float) -> Counted | None:
        """The refusal DynamoDB would answer for a request on ``item``, or None if it may be admitted."""
        with self._lock:
            found = self._items.get(item)
        if found is None or found[1] <= now:
            return None
        counts = {counter: found[0].get(counter, 0) for counter in quotas}
        if not any(counts[counter] >= quota for counter, quota in quotas.items()):
            return None
        return Counted(admitted=False, counts=counts)


class RateLimiter:
    def __init__(
        self,
        counters,
        overrides,
        clock: Clock,
        settings: Settings,
        choose_shard: Callable[[int], int] = random.randrange,
        measures: Measures = NO_MEASURES,
    ):
        self.counters = counters
        self._measures = measures
        self._overrides = overrides
        self._clock = clock
        self._settings = settings
        self._choose_shard = choose_shard
        # workspace id -> (its overrides, when read). Read at most once per auth cache period, as
        # keys are: an operator's change is seen within that time.
        self._cache: OrderedDict[str, tuple[dict[str, dict[str, int]], float]] = OrderedDict()
        self._lock = threading.Lock()
        self._spent = SpentCounters()

    @property
    def enabled(self) -> bool:
        return self._settings.rate_limits_enabled

    # --- counting ------------------------------------------------------------------------------
    def admit(self, principal: Principal, route_policy: str | None) -> dict[str, str]:
        """Count one request; the RateLimit fields for its answer. RateLimitedError when a policy
        that applies is spent (nothing is counted then)."""
        if not self.enabled:
            return {}
        policies = self._applicable(self._settings.rate_limits, route_policy)
        try:
            limits = self._limits(principal.workspace_id)
            policies = self._applicable(limits, route_policy)
            counts = self._count(principal, limits, policies)
        except ServiceUnavailableError as error:
            # Fail open: an outage of the counters must not become an outage of the API.
            logger.warning(
                "rate limit counters unavailable; request served uncounted",
                extra={"error": str(error), "cause": type(error.__cause__).__name__},
            )
            metrics.add_metric(name="RateLimitCounterFailures", unit="Count", value=1)
            return {"RateLimit-Policy": policy_field(policies)}
        headers = {"RateLimit-Policy": policy_field(policies), "RateLimit": state_field(counts)}
        spent = [count for count in counts if count.spent]
        if spent:
            first = max(spent, key=lambda count: count.reset)
            self._measures.count("RateLimitedRequests")
            raise RateLimitedError(
                f"This API key has used its {first.limit.quota} requests of the {first.name!r} policy "
                f"for this {first.limit.window}-second window; the next window starts in {first.reset} s.",
                retry_after=first.reset,
                headers=headers,
                extra={"policy": first.name},
            )
        return headers

    @staticmethod
    def _applicable(limits: Mapping[str, RateLimit], route_policy: str | None) -> list[tuple[str, RateLimit]]:
        policies = [(DEFAULT_POLICY, limits[DEFAULT_POLICY])]
        if route_policy and route_policy in limits:
            policies.append((route_policy, limits[route_policy]))
        return policies

    def _count(
        self, principal: Principal, limits: Mapping[str, RateLimit], policies: list[tuple[str, RateLimit]]
    ) -> list[PolicyCount]:
        now = self._clock.now().timestamp()
        hour = int(now // RATE_LIMIT_HOUR) * RATE_LIMIT_HOUR
        shards = shard_count(limits, self._settings.rate_limit_shard_rate, self._settings.rate_limit_max_shards)
        shard = self._choose_shard(shards)
        quotas, stale, windows = {}, [], {}
        for name, limit in policies:
            start = int(now // limit.window) * limit.window
            counter = f"{name}@{start}"
            quotas[counter] = math.ceil(limit.quota / shards)
            windows[name] = (counter, start + limit.window)
            if start - limit.window >= hour:  # the window before, if it was in this hour's item
                stale.append(f"{name}@{start - limit.window}")
        item = f"{principal.scope}#{principal.key_id}#{hour}#{shard}"
        counted = self._spent.refusal(item, quotas, now)
        if counted is None:
            counted = self.counters.count(item, quotas, stale, expires_at=hour + RATE_LIMIT_HOUR + COUNTER_KEEP_SECONDS)
            if not counted.admitted:
                self._spent.remember(item, counted.counts, until=max(ends for _, ends in windows.values()), now=now)
        result = []
        for name, limit in policies:
            counter, ends = windows[name]
            used = counted.counts[counter]
            spent = not counted.admitted and used >= quotas[counter]
            remaining = 0 if spent else max(0, min(limit.quota, limit.quota - shards * used))
            result.append(
                PolicyCount(
                    name=name, limit=limit, remaining=remaining, reset=max(1, math.ceil(ends - now)), spent=spent
                )
            )
        return result

    # --- the workspace's policies --------------------------------------------------------------
    def _limits(self, workspace_id: str) -> dict[str, RateLimit]:
        limits = dict(self._settings.rate_limits)
        for name, value in self._workspace_overrides(workspace_id).items():
            if name in limits:
                limits[name] = RateLimit(**value)
        return limits

    def _workspace_overrides(self, workspace_id: str) -> dict[str, dict[str, int]]:
        now = self._clock.now().timestamp()
        with self._lock:
            cached = self._cache.get(workspace_id)
            if cached is not None and 0 <= now - cached[1] < self._settings.auth_cache_seconds:
                return cached[0]
        overrides = self._overrides.get(workspace_id)
        with self._lock:
            self._cache[workspace_id] = (overrides, now)
            self._cache.move_to_end(workspace_id)
            while len(self._cache) > _CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return overrides

    def set_override(
        self, workspace_id: str, policy: str, quota: int | None, window: int | None
    ) -> dict[str, dict[str, int]]:
        """An operator's quota and window for one policy of one workspace (None, None: back to the
        deployment's default). Seen by every container within the auth cache period."""
        if policy not in self._settings.rate_limits:
            raise ValidationError(
                f"There is no rate limit policy {policy!r}; the policies are "
                f"{', '.join(sorted(self._settings.rate_limits))}.",
                code="unknown_policy",
            )
        if quota is None and window is None:
            return self._overrides.set(workspace_id, policy, None)
        default = self._settings.rate_limits[policy]
        try:
            limit = RateLimit(
                quota=quota if quota is not None else default.quota,
                window=window if window is not None else default.window,
            )
        except ValueError as error:
            raise ValidationError(f"This is not a rate limit: {error}", code="invalid_rate_limit") from error
        return self._overrides.set(workspace_id, policy, {"quota": limit.quota, "window": limit.window})

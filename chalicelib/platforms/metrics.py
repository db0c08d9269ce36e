"""Reading the counters of published posts: the contract every platform's metrics reader keeps.

A platform with metrics declares ``metrics=Metrics(reader="chalicelib.platforms.<name>.metrics:Reader",
batch=..., exposes=...)`` in its descriptor (descriptor.py). The refresh (chalicelib/domain/analytics/)
hands a reader at most ``batch`` posts per ``read`` call and expects exactly one call to the
platform for them (a platform without a batch read says ``batch=1``). A reader raises the errors of
base.py: ``PlatformRateLimitedError`` (with ``retry_after``), ``AuthenticationFailedError`` (the account's
token no longer works), ``TransientError``; and sets ``wait`` when the platform's rate-limit
headers say the window is spent, so the refresh backs the integration off before a 429.

Test mode reads the sandbox: each platform's reader turns generic counts into its platform's raw
shape (``sample``) and back (``counts``), so the sandbox's numbers travel the same parsing path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from chalicelib.platforms import registry

METRIC_NAMES = ("impressions", "likes", "comments", "shares")


@dataclass(frozen=True)
class Published:
    """A post as the platform knows it: its id there, and when it went out."""

    platform_post_id: str
    published_at: dt.datetime
    url: str | None = None


@dataclass(frozen=True)
class PostMetrics:
    """One reading. A metric the platform does not count is None, never 0."""

    impressions: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    platform_data: dict[str, Any] = field(default_factory=dict)


class MetricsReader:
    """Base of every platform's reader: built for one integration, like an adapter."""

    descriptor: ClassVar[Any] = None

    def __init__(self, integration, credentials=None, deployment=None, now=None, **options: Any):
        self.integration = integration
        # The engine's clock: a post's age is measured on it, as its publication time was.
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self.credentials = credentials
        self.deployment = deployment
        self.options = options
        # The container's one HTTP session, as adapters have (a reader built alone gets its own).
        session = getattr(deployment, "session", None)
        if session is None:
            from chalicelib.platforms import http

            session = http.new_session()
        self.session = session
        # Seconds the platform said to wait before the next call (its window is spent), or None.
        self.wait: float | None = None

    def read(self, posts: list[Published]) -> dict[str, PostMetrics]:
        """Metrics by platform post id; a post the platform no longer has is absent."""
        raise NotImplementedError

    @staticmethod
    def counts(raw: dict[str, Any]) -> PostMetrics:
        """The platform's own counters of one post (``platform_data``) as the API's metrics."""
        raise NotImplementedError

    @staticmethod
    def sample(generic: dict[str, int]) -> dict[str, Any]:
        """The platform's raw shape for generic counts (impressions, likes, replies, reposts,
        quotes, bookmarks): what the sandbox answers in its stead."""
        raise NotImplementedError


def reader_for(integration, credentials=None, deployment=None, now=None, **options: Any) -> MetricsReader:
    """The metrics reader of this integration: the sandbox's in test mode (on the engine's clock,
    ``now()``), else its platform's."""
    descriptor = registry.get(integration.platform)
    if descriptor.metrics is None:
        raise LookupError(f"{integration.platform} has no metrics")
    if integration.sandbox:
        return SandboxMetrics(integration, now=now)
    return registry.load(descriptor.metrics.reader)(integration, credentials, deployment, now=now, **options)


class SandboxMetrics(MetricsReader):
    """Counters that grow with the post's age like real ones (fast at first, then flattening),
    deterministic per post: the same post at the same age always reads the same."""

    def __init__(self, integration, now=None):
        super().__init__(integration)
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self._platform = registry.load(registry.get(integration.platform).metrics.reader)

    def read(self, posts: list[Published]) -> dict[str, PostMetrics]:
        now = self._now()
        return {post.platform_post_id: self._platform.counts(self._platform.sample(curve(post, now))) for post in posts}


def curve(post: Published, now: dt.datetime) -> dict[str, int]:
    """Generic counts of a sandbox post at ``now``: a reach drawn from the post's id, reached along
    1 - e^(-hours/6), with engagement rates drawn the same way."""
    digest = hashlib.sha256(post.platform_post_id.encode()).digest()
    reach = 500 + int.from_bytes(digest[:4], "big") % 20_000
    hours = max(0.0, (now - post.published_at).total_seconds() / 3600)
    grown = 1 - math.exp(-hours / 6)
    impressions = int(reach * grown)

    def rate(byte: int, most: float) -> int:
        return int(impressions * most * (0.3 + digest[byte] / 255 * 0.7))

    return {
        "impressions": impressions,
        "likes": rate(4, 0.05),
        "replies": rate(5, 0.006),
        "reposts": rate(6, 0.004),
        "quotes": rate(7, 0.001),
        "bookmarks": rate(8, 0.003),
    }

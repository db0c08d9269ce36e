"""Bluesky metrics: ``app.bsky.feed.getPosts`` reads up to 25 AT-URIs in one call.

getPosts is an AppView method (a PDS only proxies it), and the public AppView answers it without a
session, so the reader calls the deployment's AppView (``bluesky_appview_url``) over plain HTTP: no
SDK, no login. Bluesky counts likes, reposts, quotes and replies; it shows no impressions (null).
"""

from __future__ import annotations

from typing import Any

from chalicelib.platforms import http
from chalicelib.platforms.bluesky import NAME
from chalicelib.platforms.metrics import MetricsReader, PostMetrics, Published

BATCH = 25
DEFAULT_APPVIEW = "https://public.api.bsky.app"


class BlueskyMetrics(MetricsReader):
    def read(self, posts: list[Published]) -> dict[str, PostMetrics]:
        settings = getattr(self.deployment, "settings", None)
        base = (getattr(settings, "bluesky_appview_url", None) or DEFAULT_APPVIEW).rstrip("/")
        response = http.call(
            "GET",
            f"{base}/xrpc/app.bsky.feed.getPosts",
            platform=NAME,
            session=self.session,
            idempotent=True,
            params=[("uris", post.platform_post_id) for post in posts],
        )
        answer = http.json_body(response)
        if response.status_code >= 400:
            message = answer.get("message") if isinstance(answer, dict) else ""
            http.raise_for_answer(NAME, response.status_code, message or "", wait=_reset(response.headers))
        if response.headers.get("RateLimit-Remaining") == "0":
            self.wait = _reset(response.headers)
        return {item["uri"]: self.counts(item) for item in (answer or {}).get("posts", []) if "uri" in item}

    @staticmethod
    def counts(raw: dict[str, Any]) -> PostMetrics:
        kept = {key: raw[key] for key in ("likeCount", "repostCount", "replyCount", "quoteCount") if key in raw}
        shares = None
        if "repostCount" in kept or "quoteCount" in kept:
            shares = int(kept.get("repostCount") or 0) + int(kept.get("quoteCount") or 0)
        return PostMetrics(
            impressions=None,
            likes=kept.get("likeCount"),
            comments=kept.get("replyCount"),
            shares=shares,
            platform_data=kept,
        )

    @staticmethod
    def sample(generic: dict[str, int]) -> dict[str, Any]:
        return {
            "likeCount": generic["likes"],
            "repostCount": generic["reposts"],
            "replyCount": generic["replies"],
            "quoteCount": generic["quotes"],
        }


def _reset(headers) -> float | None:
    """Bluesky's limits say when they reset in ``RateLimit-Reset`` (epoch seconds)."""
    import time

    wait = http.retry_after(headers)
    if wait is not None:
        return wait
    reset = headers.get("RateLimit-Reset") or ""
    return max(1.0, float(reset) - time.time()) if reset.isdigit() else None

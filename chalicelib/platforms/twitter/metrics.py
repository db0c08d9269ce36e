"""X metrics: ``GET /2/tweets?ids=`` reads up to 100 posts in one call, on the account's user token.

``public_metrics`` (impressions, likes, replies, reposts, quotes, bookmarks) come for any post;
``non_public_metrics`` only for the token owner's posts under 30 days old, so a batch asks for them
only when every post in it is that young (the refresh batches the young together). X charges per
post read: the descriptor declares the reader metered, and the refresh counts reads against the
deployment's monthly budget.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from chalicelib.platforms.metrics import MetricsReader, PostMetrics, Published
from chalicelib.platforms.twitter.adapter import Twitter

BATCH = 100
PRIVATE_METRICS_DAYS = 30


class XMetrics(MetricsReader):
    def __init__(self, integration, credentials=None, deployment=None, now=None, **options: Any):
        super().__init__(integration, credentials, deployment, now=now, **options)
        self._adapter = Twitter.build(integration, credentials, deployment=deployment, **options)

    def read(self, posts: list[Published]) -> dict[str, PostMetrics]:
        now = self.now()
        fields = "public_metrics"
        if all(now - post.published_at < dt.timedelta(days=PRIVATE_METRICS_DAYS) for post in posts):
            fields += ",non_public_metrics"
        params = {"ids": ",".join(post.platform_post_id for post in posts[:BATCH]), "tweet.fields": fields}
        response = self._adapter.read_as_account("/2/tweets", params)
        if response.headers.get("x-rate-limit-remaining") == "0":
            reset = response.headers.get("x-rate-limit-reset") or ""
            if reset.isdigit():
                self.wait = max(1.0, float(reset) - self._adapter.clock.time())
        found = {}
        for item in response.json().get("data") or []:
            raw = {key: item[key] for key in ("public_metrics", "non_public_metrics") if key in item}
            found[str(item["id"])] = self.counts(raw)
        return found

    @staticmethod
    def counts(raw: dict[str, Any]) -> PostMetrics:
        public = raw.get("public_metrics") or {}
        private = raw.get("non_public_metrics") or {}
        impressions = private.get("impression_count", public.get("impression_count"))
        shares = None
        if "retweet_count" in public or "quote_count" in public:
            shares = int(public.get("retweet_count") or 0) + int(public.get("quote_count") or 0)
        return PostMetrics(
            impressions=impressions,
            likes=public.get("like_count"),
            comments=public.get("reply_count"),
            shares=shares,
            platform_data=raw,
        )

    @staticmethod
    def sample(generic: dict[str, int]) -> dict[str, Any]:
        return {
            "public_metrics": {
                "retweet_count": generic["reposts"],
                "reply_count": generic["replies"],
                "like_count": generic["likes"],
                "quote_count": generic["quotes"],
                "bookmark_count": generic["bookmarks"],
                "impression_count": generic["impressions"],
            }
        }

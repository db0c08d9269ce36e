"""Threads metrics: the media insights edge, ``GET /{threads-media-id}/insights?metric=views,likes,
replies,reposts,quotes,shares``, one post a call (Threads has no batch read). It needs the
``threads_manage_insights`` permission, which accounts connected before openpost asked for it do
not have: Threads then answers "permission denied", and their targets say
``metrics_not_permitted`` until the account is reconnected; publishing is not affected.
"""

from __future__ import annotations

from typing import Any

from chalicelib.platforms.base import PermanentError
from chalicelib.platforms.metrics import MetricsReader, PostMetrics, Published
from chalicelib.platforms.threads.adapter import PERMISSION_DENIED, GraphAnswerError, Threads, ThreadsClient

INSIGHTS = "views,likes,replies,reposts,quotes,shares"


class ThreadsMetrics(MetricsReader):
    def __init__(self, integration, credentials=None, deployment=None, now=None, **options: Any):
        super().__init__(integration, credentials, deployment, now=now, **options)
        self._adapter = Threads.build(integration, credentials, deployment=deployment, **options)

    def read(self, posts: list[Published]) -> dict[str, PostMetrics]:
        found = {}
        for post in posts:
            answer = self._insights(post.platform_post_id)
            raw = {
                item["name"]: (item.get("values") or [{}])[0].get("value")
                for item in answer.get("data") or []
                if isinstance(item, dict) and item.get("name")
            }
            found[post.platform_post_id] = self.counts(raw)
        return found

    def _insights(self, media_id: str) -> dict[str, Any]:
        try:
            return self._adapter.read_as_account(f"{media_id}/insights", {"metric": INSIGHTS})
        except GraphAnswerError as answer:
            if answer.code == PERMISSION_DENIED:
                raise PermanentError(
                    f"Threads does not let openpost read this account's insights ({answer.words}); reconnect "
                    "the account to grant threads_manage_insights.",
                    code="metrics_not_permitted",
                ) from None
            raise ThreadsClient.error_for(answer, refused="the insights read") from None
        except ValueError:
            return {}

    @staticmethod
    def counts(raw: dict[str, Any]) -> PostMetrics:
        shares = None
        if any(name in raw for name in ("reposts", "quotes", "shares")):
            shares = sum(int(raw.get(name) or 0) for name in ("reposts", "quotes", "shares"))
        return PostMetrics(
            impressions=raw.get("views"),
            likes=raw.get("likes"),
            comments=raw.get("replies"),
            shares=shares,
            platform_data=raw,
        )

    @staticmethod
    def sample(generic: dict[str, int]) -> dict[str, Any]:
        return {
            "views": generic["impressions"],
            "likes": generic["likes"],
            "replies": generic["replies"],
            "reposts": generic["reposts"],
            "quotes": generic["quotes"],
            "shares": generic["bookmarks"],
        }

"""Mastodon metrics: ``GET /api/v1/statuses?id[]=`` reads up to 20 statuses in one call (Mastodon
4.3.0 and later); older instances answer one status per ``GET /api/v1/statuses/:id``. The version
comes from ``/api/v2/instance``, asked once per instance per container.

Mastodon counts favourites, boosts and replies; it shows no impressions (null).
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.platforms import http
from chalicelib.platforms.mastodon import NAME
from chalicelib.platforms.mastodon.adapter import raise_for, rate_limit_wait
from chalicelib.platforms.metrics import MetricsReader, PostMetrics, Published

BATCH = 20
MANY_SINCE = (4, 3)
_versions: dict[str, tuple[int, int]] = {}


def version_of(text: str) -> tuple[int, int]:
    found = re.match(r"(\d+)\.(\d+)", text or "")
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


class MastodonMetrics(MetricsReader):
    def read(self, posts: list[Published]) -> dict[str, PostMetrics]:
        credentials = self.credentials.value
        base = credentials["instance_url"].rstrip("/")
        auth = {"Authorization": f"Bearer {credentials['access_token']}"}
        if self._version(base) >= MANY_SINCE:
            answer = self._get(f"{base}/api/v1/statuses", auth, [("id[]", post.platform_post_id) for post in posts])
            statuses = answer if isinstance(answer, list) else []
        else:
            statuses = [
                self._get(f"{base}/api/v1/statuses/{post.platform_post_id}", auth, missing_ok=True) for post in posts
            ]
        return {
            str(status["id"]): self.counts(status) for status in statuses if isinstance(status, dict) and "id" in status
        }

    def _version(self, base: str) -> tuple[int, int]:
        if base not in _versions:
            answer = self._get(f"{base}/api/v2/instance", {})
            _versions[base] = version_of((answer or {}).get("version", ""))
        return _versions[base]

    def _get(self, url: str, auth: dict[str, str], params=None, missing_ok: bool = False) -> Any:
        response = http.call(
            "GET", url, platform=NAME, session=self.session, idempotent=True, params=params, headers=auth
        )
        answer = http.json_body(response)
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise_for(response, answer)
        if response.headers.get("X-RateLimit-Remaining") == "0":
            self.wait = rate_limit_wait(response.headers)
        return answer

    @staticmethod
    def counts(raw: dict[str, Any]) -> PostMetrics:
        kept = {
            key: raw.get(key)
            for key in ("favourites_count", "reblogs_count", "replies_count", "quotes_count")
            if key in raw
        }
        return PostMetrics(
            impressions=None,
            likes=kept.get("favourites_count"),
            comments=kept.get("replies_count"),
            shares=kept.get("reblogs_count"),
            platform_data=kept,
        )

    @staticmethod
    def sample(generic: dict[str, int]) -> dict[str, Any]:
        return {
            "favourites_count": generic["likes"],
            "reblogs_count": generic["reposts"],
            "replies_count": generic["replies"],
        }

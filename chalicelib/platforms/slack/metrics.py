"""Slack metrics: ``reactions.get`` (channel, timestamp) answers the message with its ``reactions``
(count per emoji) and, for a thread's parent, ``reply_count``: likes (all reactions) and comments.
It needs the ``reactions:read`` scope, which a bot token made for posting may lack: Slack then
answers ``missing_scope``, and the targets say ``metrics_not_permitted`` (publishing is not
affected, unlike a revoked token). One message a call."""

from __future__ import annotations

from typing import Any

from chalicelib.platforms import http
from chalicelib.platforms.base import PermanentError
from chalicelib.platforms.metrics import MetricsReader, PostMetrics, Published
from chalicelib.platforms.slack.adapter import AUTH_ERRORS, NAME, RATE_LIMIT_ERRORS


class SlackMetrics(MetricsReader):
    def read(self, posts: list[Published]) -> dict[str, PostMetrics]:
        settings = getattr(self.deployment, "settings", None)
        api_url = (getattr(settings, "slack_api_url", None) or "https://slack.com/api").rstrip("/")
        token = self.credentials.value["bot_token"]
        channel = (self.integration.profile or {}).get("channel_id")
        found = {}
        for post in posts:
            response = http.call(
                "POST",
                f"{api_url}/reactions.get",
                platform=NAME,
                session=self.session,
                idempotent=True,
                data={"channel": channel, "timestamp": post.platform_post_id, "full": "true"},
                headers={"Authorization": f"Bearer {token}"},
            )
            answer = http.json_body(response)
            if response.status_code == 200 and isinstance(answer, dict) and answer.get("ok"):
                found[post.platform_post_id] = self.counts(answer.get("message") or {})
                continue
            error = str(answer.get("error") or "") if isinstance(answer, dict) else ""
            if error in ("message_not_found", "no_item_specified"):
                continue
            if error == "missing_scope":
                raise PermanentError(
                    "Slack does not let this bot read reactions (missing_scope: reactions:read); add the scope "
                    "to the Slack app and reconnect to see them.",
                    code="metrics_not_permitted",
                )
            status = response.status_code
            if error in RATE_LIMIT_ERRORS or status == 429:
                status = 429
            elif status == 200:
                status = 401 if error in AUTH_ERRORS else 400
            http.raise_for_answer(NAME, status, error, wait=http.retry_after(response.headers))
        return found

    @staticmethod
    def counts(raw: dict[str, Any]) -> PostMetrics:
        reactions = [
            {"name": item.get("name"), "count": int(item.get("count") or 0)} for item in raw.get("reactions") or []
        ]
        replies = int(raw.get("reply_count") or 0)
        return PostMetrics(
            likes=sum(item["count"] for item in reactions),
            comments=replies,
            platform_data={"reactions": reactions, "reply_count": replies},
        )

    @staticmethod
    def sample(generic: dict[str, int]) -> dict[str, Any]:
        return {"reactions": [{"name": "+1", "count": generic["likes"]}], "reply_count": generic["replies"]}

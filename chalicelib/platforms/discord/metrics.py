"""Discord metrics: reactions, through the webhook openpost posts with. "Get Webhook Message"
(``GET /webhooks/{id}/{token}/messages/{message.id}``) answers the message object, whose
``reactions`` count each emoji; a webhook can read nothing else (no views, no replies), so only
``likes`` (all reactions) is counted. One message a call."""

from __future__ import annotations

from typing import Any

from chalicelib.platforms import http
from chalicelib.platforms.discord.adapter import NAME, raise_for, webhook_url
from chalicelib.platforms.metrics import MetricsReader, PostMetrics, Published


class DiscordMetrics(MetricsReader):
    def read(self, posts: list[Published]) -> dict[str, PostMetrics]:
        base = webhook_url(self.credentials.value["webhook_url"])
        found = {}
        for post in posts:
            response = http.call(
                "GET", f"{base}/messages/{post.platform_post_id}", platform=NAME, session=self.session, idempotent=True
            )
            answer = http.json_body(response)
            if response.status_code == 404 and isinstance(answer, dict) and answer.get("code") == UNKNOWN_MESSAGE:
                continue  # deleted from the channel
            if response.status_code >= 400:
                raise_for(response, answer)
            if isinstance(answer, dict):
                found[post.platform_post_id] = self.counts({"reactions": answer.get("reactions") or []})
        return found

    @staticmethod
    def counts(raw: dict[str, Any]) -> PostMetrics:
        reactions = [
            {"emoji": (item.get("emoji") or {}).get("name"), "count": int(item.get("count") or 0)}
            for item in raw.get("reactions") or []
        ]
        return PostMetrics(likes=sum(item["count"] for item in reactions), platform_data={"reactions": reactions})

    @staticmethod
    def sample(generic: dict[str, int]) -> dict[str, Any]:
        thumbs, hearts = generic["likes"] // 2, generic["likes"] - generic["likes"] // 2
        return {"reactions": [{"emoji": {"name": "👍"}, "count": thumbs}, {"emoji": {"name": "❤️"}, "count": hearts}]}


UNKNOWN_MESSAGE = 10008

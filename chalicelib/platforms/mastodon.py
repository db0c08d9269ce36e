"""Mastodon: statuses on the account's own instance.

The account is an instance URL and an access token, sealed together (a token must only ever be sent
to the instance it belongs to). A thread is a reply chain through ``in_reply_to_id``. Each status
carries an ``Idempotency-Key`` derived from the target and the part, so when an answer is lost the
engine asks again and the instance returns the status it already made instead of a second one.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional

from chalicelib.platforms import http
from chalicelib.platforms.base import Part, Platform, PostRef

NAME = "Mastodon"
# The settings a post may carry for Mastodon (platform_settings.mastodon), sent as they are.
STATUS_SETTINGS = ("visibility", "spoiler_text", "sensitive", "language")


class Mastodon(Platform):
    name = "mastodon"
    thread_style = "reply"
    idempotent = True
    max_images = 4
    timeout = http.TIMEOUT

    def publish(self, part: Part) -> PostRef:
        credentials = self.credentials.value
        body: Dict[str, Any] = {"status": part.text}
        for key in STATUS_SETTINGS:
            if part.settings.get(key) not in (None, ""):
                body[key] = part.settings[key]
        if part.reply_to is not None:
            body["in_reply_to_id"] = part.reply_to.id
        response = http.call(
            "POST", f"{credentials['instance_url']}/api/v1/statuses", platform=NAME, idempotent=True,
            timeout=self.timeout, json=body,
            headers={"Authorization": f"Bearer {credentials['access_token']}",
                     # Stable for this target and part: a repeat is recognised by the instance.
                     "Idempotency-Key": part.idempotency_key})
        answer = http.json_body(response)
        if response.status_code >= 400:
            raise_for(response, answer)
        if not isinstance(answer, dict) or not answer.get("id"):
            raise http.unreadable_answer(NAME, idempotent=True)
        return PostRef(id=str(answer["id"]), url=answer.get("url") or answer.get("uri"))


def raise_for(response, answer) -> None:
    message = answer.get("error") if isinstance(answer, dict) else ""
    http.raise_for_answer(NAME, response.status_code, message or "", wait=rate_limit_wait(response.headers))


def rate_limit_wait(headers) -> Optional[float]:
    """Mastodon says when its window resets in ``X-RateLimit-Reset`` (an ISO 8601 time; some
    servers send epoch seconds); a proxy in front may send ``Retry-After`` instead."""
    wait = http.retry_after(headers)
    if wait is not None:
        return wait
    reset = headers.get("X-RateLimit-Reset")
    if not reset:
        return None
    try:
        when = dt.datetime.fromisoformat(reset.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = dt.datetime.fromtimestamp(float(reset), dt.timezone.utc)
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return min(max((when - dt.datetime.now(dt.timezone.utc)).total_seconds(), 0.0), http.MAX_RETRY_AFTER)

"""Slack: messages a bot posts to one channel.

The account is a bot token and a channel. A thread is a Slack thread: the first part is posted to
the channel, later parts reply under it with ``thread_ts`` set to the first part's ``ts`` (Slack asks
for the parent's ts, never a reply's). Permalinks are built from the workspace URL learned when the
account was connected, in the shape ``chat.getPermalink`` returns, so publishing a part is exactly
one call: a second call that failed after the message went out would leave us unable to say so.

Slack answers most failures with HTTP 200 and ``{"ok": false, "error": "..."}``; the error names
decide the kind. It takes no idempotency key, so a lost answer is "outcome unknown".
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from chalicelib.platforms import http
from chalicelib.platforms.base import OutcomeUnknownError, Part, Platform, PostRef

NAME = "Slack"
# The token no longer works, or lacks what posting needs: only reconnecting the account helps.
AUTH_ERRORS = frozenset({"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired",
                         "missing_scope", "not_allowed_token_type", "no_permission", "team_access_not_granted"})
# Slack failed before doing anything: safe to try again.
TRANSIENT_ERRORS = frozenset({"service_unavailable", "request_timeout", "team_added_to_org"})
# Slack documents these as "some aspect of the operation may have succeeded".
MAYBE_DONE_ERRORS = frozenset({"internal_error", "fatal_error"})

# Slack's error names, with what the user can do about them.
HINTS = {
    "not_in_channel": "not_in_channel (invite the app to the channel)",
    "channel_not_found": "channel_not_found (the channel was deleted, or the app cannot see it)",
    "is_archived": "is_archived (the channel is archived)",
    "msg_too_long": "msg_too_long (the message is too long for Slack)",
    "restricted_action": "restricted_action (the workspace does not let this app post here)",
}


class Slack(Platform):
    name = "slack"
    thread_style = "reply"
    idempotent = False
    max_images = 10
    timeout = http.TIMEOUT

    def __init__(self, integration, credentials=None, api_url: Optional[str] = None):
        super().__init__(integration, credentials)
        self._api_url = api_url

    def publish(self, part: Part) -> PostRef:
        profile = self.integration.profile
        body: Dict[str, Any] = {"channel": profile["channel_id"], "text": escape(part.text)}
        thread_ts = part.root.id if part.root is not None else None
        if thread_ts:
            body["thread_ts"] = thread_ts
        answer = api_call(self._api_url or http.current_settings().slack_api_url, "chat.postMessage",
                          self.credentials.value["bot_token"], body, timeout=self.timeout, sends=True)
        ts, channel = answer.get("ts"), answer.get("channel") or profile["channel_id"]
        if not ts:
            raise http.unreadable_answer(NAME, idempotent=False)
        return PostRef(id=str(ts), url=permalink(profile.get("team_url"), channel, ts, thread_ts),
                       extra={"channel": channel})


def api_call(api_url: str, method: str, token: str, body: Dict[str, Any], *, timeout=http.TIMEOUT,
             sends: bool = False) -> Dict[str, Any]:
    """One Web API method; returns its answer when ``ok``, else raises the engine's error.
    ``sends`` marks a method that publishes (a lost answer may mean it did)."""
    # Form-encoded, which every Web API method accepts (some reading methods refuse JSON). A method
    # that only reads is safe to repeat whatever happened to its answer.
    response = http.call("POST", f"{api_url.rstrip('/')}/{method}", platform=NAME, idempotent=not sends,
                         timeout=timeout, data=body, headers={"Authorization": f"Bearer {token}"})
    answer = http.json_body(response)
    if response.status_code == 200 and isinstance(answer, dict) and answer.get("ok"):
        return answer
    if response.status_code == 200 and not isinstance(answer, dict):
        if sends:
            raise http.unreadable_answer(NAME, idempotent=False)
        http.raise_for_answer(NAME, 502, "an answer that could not be read")
    error = str(answer.get("error") or "") if isinstance(answer, dict) else ""
    status = response.status_code
    if error == "ratelimited" or status == 429:
        status = 429
    elif error in TRANSIENT_ERRORS:
        status = 503
    elif error in MAYBE_DONE_ERRORS and sends:
        raise OutcomeUnknownError(
            f"Slack answered {error}, which it says may follow a message that was in fact posted. It was not "
            "sent again: check the channel before publishing this post again.")
    elif error in MAYBE_DONE_ERRORS:
        status = 503
    elif status == 200:
        status = 400
    http.raise_for_answer(NAME, status, HINTS.get(error, error) or f"HTTP {response.status_code}",
                          wait=http.retry_after(response.headers), auth_failed=error in AUTH_ERRORS)


def escape(text: str) -> str:
    """Slack reads ``&``, ``<`` and ``>`` as markup (links, mentions); escaped, they show as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def permalink(team_url: Optional[str], channel: str, ts: str, thread_ts: Optional[str] = None) -> Optional[str]:
    """A message's permalink, as Slack builds it: the ts without its dot, after a "p"; a reply also
    names its thread so the link opens the thread."""
    if not team_url:
        return None
    url = f"{team_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
    if thread_ts:
        url += f"?thread_ts={thread_ts}&cid={channel}"
    return url

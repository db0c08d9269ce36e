"""The X adapter: posts and threads through X API v2, on the account's OAuth 2.0 user tokens.

X offers no idempotency key for ``POST /2/tweets``, so the one thing this adapter must never do is
repeat a call that may have reached X: a timeout after the request was sent is reported as
``outcome_unknown`` and the engine fails the target rather than risk a second post. A call X refused
before acting (a 401, a 429, a 5xx, a connection that never opened) is safe to repeat.

Access tokens last two hours and refresh tokens rotate: each refresh token works once and the answer
carries the next one. Losing that answer, or overwriting it with an older one, disconnects the
account. So a refresh is stored with the credentials' compare-and-set (``AccountCredentials.replace``),
and a worker whose refresh token was already spent by another worker reads the winner's tokens
instead of giving up.
"""
from __future__ import annotations

import base64
import time
from typing import Any, Callable, Dict, Optional, Tuple

import requests

from chalicelib.observability import logger
from chalicelib.platforms.base import (
    AuthenticationFailedError,
    OutcomeUnknownError,
    Part,
    PermanentError,
    Platform,
    PostRef,
    RateLimitedError,
    TransientError,
)

SCOPES = "tweet.read tweet.write users.read offline.access"
# Refresh a token that has less than this left: a post must not start on a token that dies mid-call.
REFRESH_MARGIN_SECONDS = 300
# (connect, read) seconds. Connecting is quick or hopeless; X can take a few seconds to create a
# post. Both stay well under the publisher's 60 s Lambda timeout, so a slow call ends as an error
# we classify rather than as a killed worker.
TIMEOUTS: Tuple[float, float] = (3.05, 15.0)
# When X refuses our refresh token, another worker may have just rotated it and be about to save
# the new one: read the stored tokens again after these pauses before declaring the account lost.
RACE_WAITS = (0.0, 0.3, 1.0)


class XGrantRejected(Exception):
    """X's token endpoint refused a code or refresh token (used, expired, revoked)."""


class XUnauthorized(Exception):
    """X answered 401 to a bearer call: the access token is not (or no longer) valid."""


def _nothing_was_sent(error: requests.RequestException) -> bool:
    """True when the connection failed before the request left: repeating it cannot duplicate."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(error, requests.exceptions.ConnectionError):
        reason = getattr(error.args[0], "reason", None) if error.args else None
        from urllib3.exceptions import NameResolutionError, NewConnectionError

        return isinstance(reason, (NewConnectionError, NameResolutionError))
    return False


def _message(response: requests.Response) -> str:
    """X's own words for a refusal: the first error's message, else the problem's detail."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors and isinstance(errors, list) and isinstance(errors[0], dict) and errors[0].get("message"):
        return errors[0]["message"]
    if isinstance(body, dict):
        return body.get("detail") or body.get("error_description") or body.get("title") or response.reason
    return response.reason


class XClient:
    """The few X API v2 calls openpost makes, with X's answers turned into the adapter's errors."""

    def __init__(self, api_url: str, client_id: str, client_secret: str = "",
                 timeouts: Optional[Tuple[float, float]] = None, session: Optional[requests.Session] = None,
                 clock: Callable[[], float] = time.time):
        self._api_url = api_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._timeouts = timeouts or TIMEOUTS
        self._session = session or requests.Session()
        self._clock = clock

    @classmethod
    def from_settings(cls) -> "XClient":
        from chalicelib.container import services

        settings = services().settings
        return cls(settings.x_api_url, settings.x_client_id, settings.x_client_secret)

    # --- OAuth 2.0 -------------------------------------------------------------------------------
    def exchange_code(self, code: str, verifier: str, redirect_uri: str) -> Dict[str, Any]:
        return self._token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                            "code_verifier": verifier})

    def refresh(self, refresh_token: str) -> Dict[str, Any]:
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def _token(self, form: Dict[str, str]) -> Dict[str, Any]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self._client_secret:   # a confidential client authenticates with HTTP Basic
            pair = f"{self._client_id}:{self._client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:                     # a public client names itself in the form
            form = {**form, "client_id": self._client_id}
        # A timeout here is not "outcome unknown" for a post, but a refresh X performed and we never
        # heard of has spent the refresh token: the next try will find it refused and ask the user
        # to reconnect. Nothing better is possible without X's answer.
        response = self._call("POST", "/2/oauth2/token", data=form, headers=headers, may_have_acted=False)
        if response.status_code in (400, 401):
            raise XGrantRejected(_message(response))
        self._raise_for(response)
        body = response.json()
        return {"access_token": body["access_token"], "refresh_token": body.get("refresh_token"),
                "expires_at": int(self._clock()) + int(body.get("expires_in") or 7200)}

    # --- bearer calls ----------------------------------------------------------------------------
    def me(self, access_token: str) -> Dict[str, str]:
        response = self._call("GET", "/2/users/me", headers=_bearer(access_token), may_have_acted=False)
        self._raise_for(response)
        return response.json()["data"]

    def create_tweet(self, access_token: str, body: Dict[str, Any]) -> Dict[str, str]:
        response = self._call("POST", "/2/tweets", json=body, headers=_bearer(access_token), may_have_acted=True)
        self._raise_for(response)
        try:
            return response.json()["data"]
        except (ValueError, KeyError, TypeError):
            # X said it created the post but we cannot tell which one: as unknown as a timeout.
            raise OutcomeUnknownError("X accepted the post but its answer could not be read; it was not sent "
                                      "again. Check the account before publishing this post again.")

    # --- plumbing --------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, may_have_acted: bool, **kwargs) -> requests.Response:
        try:
            return self._session.request(method, self._api_url + path, timeout=self._timeouts, **kwargs)
        except requests.RequestException as error:
            if _nothing_was_sent(error) or not may_have_acted:
                raise TransientError(f"X could not be reached ({type(error).__name__}); nothing was sent.") from None
            raise OutcomeUnknownError(
                "X did not answer after the post was sent, and X offers no way to recognise a repeated "
                "request, so it was not sent again. Check the account before publishing this post again.") from None

    def _raise_for(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        if status == 401:
            raise XUnauthorized(_message(response))
        if status == 429:
            # X says when the window reopens (epoch seconds) and sends no Retry-After.
            reset = response.headers.get("x-rate-limit-reset")
            wait = max(1.0, float(reset) - self._clock()) if reset and reset.isdigit() else None
            raise RateLimitedError("X's rate limit for this account is used up until the window resets.",
                                   retry_after=wait)
        if status >= 500:
            raise TransientError(f"X answered HTTP {status}: {_message(response)}")
        raise PermanentError(f"X refused the post (HTTP {status}): {_message(response)}", code="platform_rejected")


def _bearer(access_token: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def tweet_body(part: Part) -> Dict[str, Any]:
    """The POST /2/tweets body for one part."""
    body: Dict[str, Any] = {"text": part.text}
    if part.reply_to is not None:
        body["reply"] = {"in_reply_to_tweet_id": part.reply_to.id}
    # X's default is everyone and it has no value for it: everyone means leaving the field out.
    # Every tweet of a thread gets the same setting, so no part is more open than the first.
    who = part.settings.get("who_can_reply")
    if who and who != "everyone":
        body["reply_settings"] = who
    return body


class Twitter(Platform):
    name = "twitter"
    thread_style = "reply"
    idempotent = False
    max_images = 4

    def __init__(self, integration, credentials=None, client: Optional[XClient] = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], Any] = time.sleep):
        super().__init__(integration, credentials)
        self._client = client or XClient.from_settings()
        # Token expiry and X's rate-limit reset are on X's (wall) clock, not the engine's.
        self._clock = clock
        self._sleep = sleep

    def publish(self, part: Part) -> PostRef:
        self._check_length(part.text)
        body = tweet_body(part)
        tokens = self._current_tokens()
        try:
            data = self._client.create_tweet(tokens["access_token"], body)
        except XUnauthorized:
            # X refused the token before doing anything, so one repeat with a fresh token is safe.
            tokens = self._refresh(tokens)
            try:
                data = self._client.create_tweet(tokens["access_token"], body)
            except XUnauthorized:
                raise self._needs_reconnect("X refused the account's newly refreshed token") from None
        username = (self.integration.username or "i").lstrip("@")
        return PostRef(id=data["id"], url=f"https://x.com/{username}/status/{data['id']}")

    # --- tokens ----------------------------------------------------------------------------------
    def _current_tokens(self) -> Dict[str, Any]:
        tokens = self.credentials.value if self.credentials is not None else {}
        if not tokens or not tokens.get("access_token"):
            raise self._needs_reconnect("no X tokens are stored for this account")
        if float(tokens.get("expires_at") or 0) - self._clock() < REFRESH_MARGIN_SECONDS:
            tokens = self._refresh(tokens)
        return tokens

    def _refresh(self, stale: Dict[str, Any]) -> Dict[str, Any]:
        """New tokens for ``stale`` ones, stored before use; the newest stored tokens if another
        worker (or a reconnect) replaced them first."""
        stored = self._reread()
        if stored.get("access_token") and stored.get("access_token") != stale.get("access_token") and \
                float(stored.get("expires_at") or 0) - self._clock() >= REFRESH_MARGIN_SECONDS:
            return stored   # someone refreshed already: their tokens are good, ours are spent
        refresh_token = stored.get("refresh_token")
        if not refresh_token:
            raise self._needs_reconnect("X gave this account no refresh token")
        try:
            fresh = self._client.refresh(refresh_token)
        except XGrantRejected:
            winner = self._winner_of_a_race(refresh_token)
            if winner is None:
                raise self._needs_reconnect("X no longer accepts the account's refresh token") from None
            return winner
        if not fresh.get("refresh_token"):
            fresh["refresh_token"] = refresh_token
        kept = self.credentials.replace(fresh)
        logger.info("x tokens refreshed", extra={"integration_id": self.integration.id,
                                                 "kept_ours": kept.get("access_token") == fresh["access_token"]})
        return kept

    def _winner_of_a_race(self, spent: str) -> Optional[Dict[str, Any]]:
        """X refused ``spent``: if another worker rotated it, its save shows up in the table within
        moments. None when nobody did (the user revoked access, or the token expired)."""
        for pause in RACE_WAITS:
            if pause:
                self._sleep(pause)
            stored = self._reread()
            if stored.get("refresh_token") and stored["refresh_token"] != spent:
                return stored
        return None

    def _reread(self) -> Dict[str, Any]:
        """The credentials as stored now, not as this adapter first read them."""
        return self.credentials.reload()

    def _needs_reconnect(self, why: str) -> AuthenticationFailedError:
        return AuthenticationFailedError(f"The X account @{self.integration.username} needs to be reconnected: "
                                         f"{why}.")

    def _check_length(self, text: str) -> None:
        from chalicelib.text.limits import check

        # Refusing here costs nothing; X would refuse it too, after a call against the rate limit.
        violations = check("twitter", text, field="text")
        if violations:
            raise PermanentError(violations[0].message, code="text_too_long")

"""X, end to end against a local server that behaves as the X API v2 documents
(tests/platform_servers/x_api.py): connecting an account through OAuth 2.0 with PKCE, then posts and
threads through the real publisher path (the API, moto's queues, the publisher's Lambda handler),
and the failures X users meet: expired tokens, rotated refresh tokens, rate limits, outages, and a
post accepted whose answer never came back."""

from __future__ import annotations

import json
import logging
import time
import zlib
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from chalicelib.data.integrations import IntegrationStore
from chalicelib.domain.publishing import RetryLaterError
from chalicelib.observability import logger
from chalicelib.platforms.base import Part
from chalicelib.platforms.twitter import adapter as twitter
from tests.conftest import TIME_LEFT, ApiClient, RunningClock, problem, services_with
from tests.integration.conftest import (
    ASKS_FOR_JSON,
    callback_path,
    held,
    oauth_connect,
    publish_directly,
    start_oauth_connect,
)
from tests.platform_servers.x_api import XApiServer, s256
from tools.provision import put_app_credentials

PUBLIC_URL = "https://api.openpost.test"
CALLBACK = f"{PUBLIC_URL}/api/platforms/twitter/callback"


@pytest.fixture
def x():
    with XApiServer(client_id="openpost-client", client_secret="openpost-secret") as server:
        server.add_user(id="1460000000000000001", username="openpost", name="openpost HQ")
        yield server


def x_settings(x) -> dict:
    """The settings that point a deployment at the local X server."""
    return {"x_api_url": x.url, "x_authorize_url": f"{x.url}/i/oauth2/authorize", "public_base_url": PUBLIC_URL}


def register_x_app(aws, x) -> None:
    """Put the local X server's registered app into the deployment's X app secret (in moto), as an
    operator does with `aws secretsmanager put-secret-value`."""
    put_app_credentials(aws, "twitter", {"client_id": x.client_id, "client_secret": x.client_secret})


@pytest.fixture
def clock():
    """X's local server keeps real time (token lifetimes, rate-limit resets): the deployment's
    clock runs with it, and further when a test moves it."""
    return RunningClock()


@pytest.fixture
def services(aws, clock, x):
    """The conftest's services, pointed at the local X server, with its app in the secret."""
    register_x_app(aws, x)
    with services_with(aws, clock, **x_settings(x)) as built:
        yield built


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch):
    # A lost refresh race is re-read at once here: the waits are for a slower worker in production.
    monkeypatch.setattr(twitter, "RACE_WAITS", (0.0,))


@pytest.fixture
def key(workspace):
    return workspace.live_key


def start_connect(api, key):
    return start_oauth_connect(api, key, "twitter")


def connect(api, key, x, user_id=None):
    return oauth_connect(api, key, "twitter", x, user_id)


@pytest.fixture
def account(api, key, x):
    """A connected X account; the calls the connection made are forgotten."""
    connected = connect(api, key, x)
    x.requests.clear()
    return connected


def publish_now(api, key, **fields):
    answer = api.post("/v1/posts", key, {"content": "Hello X", "platforms": ["twitter"], **fields})
    assert answer.status == 201, answer
    post_id = answer.json["data"]["id"]
    assert api.post(f"/v1/posts/{post_id}/publish", key).status == 202
    return post_id


def read(api, key, post_id):
    return api.get(f"/v1/posts/{post_id}", key).json["data"]


def tweets_posted(x):
    return [call for call in x.requests if call == ("POST", "/2/tweets")]


# --- connecting ---------------------------------------------------------------------------------------
def test_connect_answers_a_pkce_authorization_url(api, key, services):
    started = start_connect(api, key)
    assert started["auth_type"] == "oauth" and started["redirect_uri"] == CALLBACK
    url = urlsplit(started["url"])
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert url.path == "/i/oauth2/authorize"
    assert query == {
        "response_type": "code",
        "client_id": "openpost-client",
        "redirect_uri": CALLBACK,
        "scope": "tweet.read tweet.write users.read media.write offline.access",
        "state": started["state"],
        "code_challenge": s256(started["code_verifier"]),
        "code_challenge_method": "S256",
    }
    assert 43 <= len(started["code_verifier"]) <= 128
    assert start_connect(api, key)["state"] != started["state"]  # a fresh attempt each time


def test_connect_needs_a_live_key(api, workspace):
    answer = api.get("/v1/integrations/twitter/connect", workspace.test_key)
    assert answer.status == 422 and answer.json["code"] == "live_mode_required"


def test_the_callback_creates_the_integration_with_its_tokens(api, key, x, services, workspace):
    started = start_connect(api, key)
    redirect = x.authorize(started["url"])
    answer = api.get(callback_path(redirect), headers=ASKS_FOR_JSON)  # no API key: X's redirect carries none
    assert answer.status == 200, answer
    integration = answer.json["data"]
    assert (integration["platform"], integration["username"], integration["display_name"]) == (
        "twitter",
        "openpost",
        "openpost HQ",
    )
    assert integration["status"] == "active" and integration["sandbox"] is False
    listed = api.get("/v1/integrations", key).json["data"]
    assert [item["id"] for item in listed] == [integration["id"]]
    tokens = held(services, workspace, integration["id"]).value
    assert set(tokens) == {"access_token", "refresh_token", "expires_at"}
    assert 7000 < tokens["expires_at"] - time.time() <= 7200  # X's two hours
    # The state works once: a replayed redirect finds nothing.
    replay = api.get(callback_path(redirect), headers=ASKS_FOR_JSON)
    assert replay.status == 400 and replay.json["code"] == "oauth_state_invalid"


def test_a_callback_with_an_unknown_or_expired_state_is_refused(api, key, x, clock):
    answer = api.get("/api/platforms/twitter/callback?state=made-up&code=abc", headers=ASKS_FOR_JSON)
    assert answer.status == 400 and answer.json["code"] == "oauth_state_invalid"
    redirect = x.authorize(start_connect(api, key)["url"])
    clock.advance(minutes=11)
    answer = api.get(callback_path(redirect), headers=ASKS_FOR_JSON)
    assert answer.status == 400 and answer.json["code"] == "oauth_state_invalid"
    assert x.requests == []  # nothing was asked of X


def test_a_declined_consent_is_refused(api, key):
    state = start_connect(api, key)["state"]
    answer = api.get(f"/api/platforms/twitter/callback?state={state}&error=access_denied", headers=ASKS_FOR_JSON)
    assert answer.status == 400 and answer.json["code"] == "oauth_declined"


def test_a_wrong_verifier_is_refused_by_x(api, key, x, services):
    started = start_connect(api, key)
    # Someone else's challenge: the verifier our server holds does not match it.
    tampered = started["url"].replace(s256(started["code_verifier"]), s256("another-verifier-" + "x" * 40))
    redirect = x.authorize(tampered)
    answer = api.get(callback_path(redirect), headers=ASKS_FOR_JSON)
    assert answer.status == 400 and answer.json["code"] == "oauth_code_invalid"
    assert api.get("/v1/integrations", key).json["total"] == 0


def test_a_browser_gets_a_page_saying_the_account_is_connected(api, key, x):
    x.add_user(id="1460000000000000009", username="shop", name='<img src=x onerror="alert(1)"> & Co')
    answer = api.get(
        callback_path(x.authorize(start_connect(api, key)["url"], "1460000000000000009")),
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/html")
    page = answer.raw.decode()
    assert "Your X account is connected" in page and "@shop" in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; Co" in page and "<img" not in page
    assert [item["username"] for item in api.get("/v1/integrations", key).json["data"]] == ["shop"]


def test_a_browser_gets_a_page_saying_why_connecting_failed(api, key, x):
    answer = api.get("/api/platforms/twitter/callback?state=made-up&code=abc")  # no Accept at all
    assert answer.status == 400 and answer.headers["content-type"].startswith("text/html")
    page = answer.raw.decode()
    assert "was not connected" in page and "oauth_state_invalid" in page and "start connecting" in page
    state = start_connect(api, key)["state"]
    declined = api.get(f"/api/platforms/twitter/callback?state={state}&error=access_denied")
    assert declined.status == 400 and "oauth_declined" in declined.raw.decode()


def test_a_client_asking_for_json_gets_the_problem(api, key):
    answer = api.get("/api/platforms/twitter/callback?state=made-up&code=abc", headers=ASKS_FOR_JSON)
    assert answer.status == 400 and answer.headers["content-type"] == "application/problem+json"
    assert answer.json["code"] == "oauth_state_invalid"


def test_reconnecting_keeps_the_integration_and_takes_the_new_tokens(api, key, x, services, workspace, account):
    before = held(services, workspace, account["id"]).value
    again = connect(api, key, x)
    assert again["id"] == account["id"]
    after = held(services, workspace, account["id"]).value
    assert after["refresh_token"] != before["refresh_token"]
    assert api.get("/v1/integrations", key).json["total"] == 1


# --- publishing -----------------------------------------------------------------------------------------
def test_a_post_reaches_x_with_its_reply_settings(api, key, x, runtime, account):
    post_id = publish_now(api, key, content="Hello X", platform_settings={"twitter": {"who_can_reply": "following"}})
    runtime.drain()
    (tweet,) = x.tweets
    assert (tweet["text"], tweet["reply_settings"], tweet["in_reply_to_tweet_id"]) == ("Hello X", "following", None)
    post = read(api, key, post_id)
    assert post["status"] == "published"
    target = post["post_targets"][0]
    assert target["platform_post_id"] == tweet["id"]
    assert target["platform_post_url"] == f"https://x.com/openpost/status/{tweet['id']}"


def test_a_thread_is_a_reply_chain(api, key, x, runtime, account):
    post_id = publish_now(
        api,
        key,
        content="One",
        segments=[{"content": "Two"}, {"content": "Three"}],
        platform_settings={"twitter": {"who_can_reply": "everyone"}},
    )
    runtime.drain()
    assert [t["text"] for t in x.tweets] == ["One", "Two", "Three"]  # native chain: no (1/3) suffixes
    assert [t["in_reply_to_tweet_id"] for t in x.tweets] == [None, x.tweets[0]["id"], x.tweets[1]["id"]]
    assert {t["reply_settings"] for t in x.tweets} == {None}  # everyone: the field is left out
    parts = read(api, key, post_id)["post_targets"][0]
    assert parts["status"] == "published" and parts["platform_post_id"] == x.tweets[0]["id"]


def test_x_refusing_a_post_fails_it_with_x_words(api, key, x, runtime, account):
    publish_now(api, key, content="Same words")
    runtime.drain()
    post_id = publish_now(api, key, content="Same words")
    runtime.drain()
    target = read(api, key, post_id)["post_targets"][0]
    assert target["status"] == "failed" and target["error"]["code"] == "platform_rejected"
    assert "duplicate content" in target["error"]["message"]
    assert len(x.tweets) == 1


# --- tokens ------------------------------------------------------------------------------------------------
def test_an_expired_token_is_refreshed_and_the_rotated_refresh_token_stored(
    api, key, x, runtime, services, workspace, account
):
    before = held(services, workspace, account["id"]).value
    x.expire_access_tokens()  # X says 401; our clock still thinks it is valid
    post_id = publish_now(api, key)
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published" and len(x.tweets) == 1
    assert x.requests == [("POST", "/2/tweets"), ("POST", "/2/oauth2/token"), ("POST", "/2/tweets")]
    after = held(services, workspace, account["id"]).value
    assert after["access_token"] != before["access_token"] and after["refresh_token"] != before["refresh_token"]
    # The old refresh token was spent by the rotation: only the stored one works now.
    assert (
        x.token(
            {"grant_type": "refresh_token", "refresh_token": before["refresh_token"]},
            ("openpost-client", "openpost-secret"),
        )[0]
        == 400
    )


def test_a_token_about_to_expire_is_refreshed_before_posting(api, key, x, runtime, services, workspace, account):
    credentials = held(services, workspace, account["id"])
    credentials.replace({**credentials.value, "expires_at": int(time.time()) + 120})
    publish_now(api, key)
    runtime.drain()
    assert x.requests == [("POST", "/2/oauth2/token"), ("POST", "/2/tweets")]  # no 401 on the way
    assert held(services, workspace, account["id"]).value["expires_at"] > time.time() + 7000


def _adapter(services, workspace, account):
    integration = IntegrationStore().get(workspace.workspace.id, "live", account["id"])
    adapter = services.adapter(integration)
    adapter.credentials.value  # noqa: B018 - this worker has read the tokens
    return adapter


def _part(text):
    return Part(text=text, index=0, total=1, idempotency_key=f"{text}:0", time_left=TIME_LEFT)


def test_a_refresh_that_loses_the_race_uses_the_winners_tokens(x, services, workspace, account):
    credentials = held(services, workspace, account["id"])
    credentials.replace({**credentials.value, "expires_at": int(time.time()) + 60})
    first, second = _adapter(services, workspace, account), _adapter(services, workspace, account)
    spent = second.credentials.value["refresh_token"]
    real_refresh = second._client.refresh

    def refresh_after_the_first_worker(refresh_token):
        first.publish(_part("From the first worker"))  # rotates the refresh token and stores the new one
        return real_refresh(refresh_token)  # X refuses the spent token

    second._client.refresh = refresh_after_the_first_worker
    second.publish(_part("From the second worker"))
    assert [t["text"] for t in x.tweets] == ["From the first worker", "From the second worker"]
    stored = held(services, workspace, account["id"]).value
    assert stored["refresh_token"] != spent
    assert second.credentials.value == stored == first.credentials.value  # one set of tokens, the winner's
    assert x.requests.count(("POST", "/2/oauth2/token")) == 2  # the winner's, and the refused one


def test_a_reconnect_during_a_refresh_is_never_overwritten(api, key, x, services, workspace, account):
    credentials = held(services, workspace, account["id"])
    credentials.replace({**credentials.value, "expires_at": int(time.time()) + 60})
    worker = _adapter(services, workspace, account)
    real_refresh = worker._client.refresh

    reconnected = {}

    def refresh_while_the_user_reconnects(refresh_token):
        fresh = real_refresh(refresh_token)
        connect(api, key, x)  # the user reconnects meanwhile
        reconnected.update(held(services, workspace, account["id"]).value)
        assert reconnected["access_token"] != fresh["access_token"]
        return fresh

    worker._client.refresh = refresh_while_the_user_reconnects
    worker.publish(_part("Hello"))
    # The worker's save came second: it was refused, and the reconnect's tokens were kept and used.
    assert held(services, workspace, account["id"]).value == reconnected == worker.credentials.value
    assert len(x.tweets) == 1


def test_a_refused_refresh_flags_the_integration(api, key, x, runtime, services, workspace, account):
    x.revoke_refresh_tokens()  # the user revoked openpost in X's settings
    post_id = publish_now(api, key)
    runtime.drain()
    target = read(api, key, post_id)["post_targets"][0]
    assert target["status"] == "failed" and target["error"]["code"] == "integration_needs_refresh"
    assert "reconnect" in target["error"]["message"]
    assert api.get(f"/v1/integrations/{account['id']}", key).json["data"]["status"] == "needs_refresh"
    assert x.tweets == []


# --- the X app, from the deployment's secret ----------------------------------------------------------
def connect_query(started) -> dict:
    return {name: values[0] for name, values in parse_qs(urlsplit(started["url"]).query).items()}


def test_the_x_app_is_read_from_its_secret_and_a_change_is_seen_after_the_cache_age(api, key, x, aws, clock, services):
    """The settings hold only where the X app's secret is; its client id and secret come from the
    secret (moto's Secrets Manager). A new value is not read again while the container's copy is
    younger than the cache age, and is in use once that age has passed."""
    from chalicelib.platforms.app_credentials import APP_CREDENTIALS

    # One secret per platform that declares app credentials (X and Threads), named, never held.
    assert services.settings.app_secrets == {name: aws.app_secrets[name] for name in APP_CREDENTIALS}
    assert "twitter" in APP_CREDENTIALS
    assert aws.app_secrets["twitter"].startswith("arn:aws:secretsmanager:")
    assert connect_query(start_connect(api, key))["client_id"] == "openpost-client"

    # The operator moves the deployment to another X app: X knows only the new one from now on.
    x.client_id, x.client_secret = "openpost-client-2", "second-secret"
    put_app_credentials(aws, "twitter", {"client_id": "openpost-client-2", "client_secret": "second-secret"})
    clock.advance(seconds=services.settings.app_secrets_max_age - 1)
    assert connect_query(start_connect(api, key))["client_id"] == "openpost-client"  # still the cached copy

    clock.advance(seconds=1)  # the cache age, reached
    started = start_connect(api, key)
    assert connect_query(started)["client_id"] == "openpost-client-2"
    answer = api.get(
        callback_path(x.authorize(started["url"])), headers=ASKS_FOR_JSON
    )  # X checks the new id and secret
    assert answer.status == 200, answer
    assert answer.json["data"]["username"] == "openpost"


def test_a_client_secret_rotated_at_x_is_used_at_once_when_x_refuses_the_cached_one(
    api, key, x, aws, runtime, services, workspace, account
):
    """X's portal replaces the secret at once; until the cache age passes a container still holds
    the old one. X's refusal makes it read the secret afresh, so a refresh in that window works."""
    x.client_secret = "rotated-secret"
    put_app_credentials(aws, "twitter", {"client_id": "openpost-client", "client_secret": "rotated-secret"})
    x.expire_access_tokens()
    post_id = publish_now(api, key)
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published"
    assert x.requests == [
        ("POST", "/2/tweets"),
        ("POST", "/2/oauth2/token"),
        ("POST", "/2/oauth2/token"),
        ("POST", "/2/tweets"),
    ]
    assert api.get(f"/v1/integrations/{account['id']}", key).json["data"]["status"] == "active"


@pytest.mark.parametrize(
    "value",
    [{}, {"client_id": "openpost-client"}, {"client_id": "", "client_secret": "s"}],
    ids=["empty", "no-secret", "blank-id"],
)
def test_without_a_complete_x_app_connecting_is_a_clear_problem(api, key, aws, value):
    put_app_credentials(aws, "twitter", value)
    body = problem(api.get("/v1/integrations/twitter/connect", key), 503, "platform_not_configured")
    assert "no X app configured" in body["detail"] and "secret" in body["detail"]


def test_a_callback_after_the_x_app_was_removed_is_a_clear_problem(api, key, x, aws, clock, services):
    started = start_connect(api, key)
    put_app_credentials(aws, "twitter", {})
    clock.advance(seconds=services.settings.app_secrets_max_age)
    problem(api.get(callback_path(x.authorize(started["url"])), headers=ASKS_FOR_JSON), 503, "platform_not_configured")


def test_a_refresh_without_an_x_app_fails_the_target_and_leaves_the_account_connected(
    api, key, x, aws, clock, runtime, services, account
):
    """The deployment lost its X app, not the user their authorization: the account stays active."""
    put_app_credentials(aws, "twitter", {})
    clock.advance(seconds=services.settings.app_secrets_max_age)
    x.expire_access_tokens()
    post_id = publish_now(api, key)
    runtime.drain()
    target = read(api, key, post_id)["post_targets"][0]
    assert target["status"] == "failed" and target["error"]["code"] == "platform_not_configured"
    assert api.get(f"/v1/integrations/{account['id']}", key).json["data"]["status"] == "active"
    assert ("POST", "/2/oauth2/token") not in x.requests


def test_an_unreadable_x_app_secret_is_a_503_to_retry(aws, clock, x, workspace):
    from chalice.test import Client

    import app as application

    missing = aws.app_secrets["twitter"][:-6] + "gone00"
    with (
        services_with(aws, clock, **x_settings(x), app_secrets={"twitter": missing}),
        Client(application.app) as client,
    ):
        answer = ApiClient(client).get("/v1/integrations/twitter/connect", workspace.live_key)
    problem(answer, 503, "temporarily_unavailable")
    assert answer.headers["retry-after"] == "2"


# --- failures ---------------------------------------------------------------------------------------


def test_429_waits_for_x_rate_limit_reset(api, key, x, runtime, services, account):
    post_id = publish_now(api, key)
    x.rate_limit_next(reset_in=42)
    with pytest.raises(RetryLaterError) as later:
        publish_directly(services, runtime)
    assert later.value.seconds == 42  # x-rate-limit-reset minus now; X sends no Retry-After
    assert read(api, key, post_id)["post_targets"][0]["error"]["code"] == "rate_limited"
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published" and len(x.tweets) == 1


def test_the_rate_limit_window_itself_is_honoured(api, key, x, runtime, services, account):
    x.tweet_limit = 1
    publish_now(api, key, content="First")
    runtime.drain()
    publish_now(api, key, content="Second")
    with pytest.raises(RetryLaterError) as later:
        publish_directly(services, runtime)
    assert 890 <= later.value.seconds <= 901  # the 15-minute window X announced
    assert [t["text"] for t in x.tweets] == ["First"]


@pytest.mark.parametrize("cap, whose", [("daily_user_limit", "this account"), ("daily_app_limit", "openpost's X app")])
def test_a_24_hour_cap_waits_for_its_reset_not_the_15_minute_window(
    api, key, x, runtime, services, account, cap, whose
):
    # X caps posts per 24 hours as well as per 15 minutes; over the daily cap the 15-minute window
    # still has room, and only x-user-limit-24hour-reset (or x-app-...) says when posting reopens.
    setattr(x, cap, 1)
    publish_now(api, key, content="First")
    runtime.drain()
    post_id = publish_now(api, key, content="Second")
    with pytest.raises(RetryLaterError) as later:
        publish_directly(services, runtime)
    assert 24 * 3600 - 60 <= later.value.seconds <= 24 * 3600 + 1
    error = read(api, key, post_id)["post_targets"][0]["error"]
    assert error["code"] == "rate_limited" and "24-hour" in error["message"] and whose in error["message"]
    assert "Too Many Requests" in error["message"]  # X's own words are kept
    assert [t["text"] for t in x.tweets] == ["First"]


def test_a_post_held_back_20_hours_by_the_daily_cap_is_published_after_it(api, key, x, runtime, clock, account):
    # "Come back in 20 hours": a queue holds a message 12 hours at most, so the target is tried once
    # more on the way (X still says no, and when), then published; no spinning, no early failure.
    x.daily_user_limit = 1
    publish_now(api, key, content="First")
    runtime.drain()
    x.advance(4 * 3600)  # the cap was spent 4 hours ago: 20 hours left
    clock.advance(hours=4)
    post_id = publish_now(api, key, content="Second")
    assert len(runtime.deliver()["batchItemFailures"]) == 1
    assert runtime.peek() == []  # held back, not visible again at once
    for hours in (12, 8):  # SQS's 12-hour ceiling, then what X says is left
        x.advance(hours * 3600 + 1)
        clock.advance(hours=hours, seconds=1)
        runtime.time_passes()
        runtime.drain()
    post = read(api, key, post_id)
    assert post["status"] == "published" and post["post_targets"][0]["status"] == "published"
    assert [t["text"] for t in x.tweets] == ["First", "Second"]
    assert tweets_posted(x) == [("POST", "/2/tweets")] * 4  # one refused call per wake-up, no more


def test_x_error_shape_keeps_x_words(api, key, x, runtime, services, account):
    # X's OpenAPI document answers failures as a problem or as Error {"code", "message"}; both say why.
    post_id = publish_now(api, key, content="Locked")
    x.fail_next(1, status=403, on="tweets", error_code=326)
    runtime.drain()
    target = read(api, key, post_id)["post_targets"][0]
    assert target["status"] == "failed" and target["error"]["code"] == "platform_rejected"
    assert "this account is temporarily locked" in target["error"]["message"]
    post_id = publish_now(api, key, content="Limited")
    x.fail_next(1, status=429, on="tweets", error_code=88)
    with pytest.raises(RetryLaterError):
        publish_directly(services, runtime)
    error = read(api, key, post_id)["post_targets"][0]["error"]
    assert error["code"] == "rate_limited" and "Rate limit exceeded" in error["message"]


def test_5xx_then_success(api, key, x, runtime, account):
    post_id = publish_now(api, key)
    x.fail_next(1, status=503)
    response = runtime.deliver()
    assert len(response["batchItemFailures"]) == 1
    target = read(api, key, post_id)["post_targets"][0]
    assert target["status"] == "publishing" and target["error"]["code"] == "platform_unavailable"
    runtime.time_passes()
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published" and len(x.tweets) == 1


def test_a_timeout_after_x_accepted_is_outcome_unknown_and_never_repeated(api, key, x, runtime, monkeypatch, account):
    monkeypatch.setattr(twitter.XClient, "default_timeouts", (2.0, 0.5))
    x.hang_after_accept_next(seconds=3)
    post_id = publish_now(api, key)
    runtime.drain()
    runtime.time_passes()
    runtime.drain()
    post = read(api, key, post_id)
    assert post["status"] == "failed" and post["post_targets"][0]["error"]["code"] == "outcome_unknown"
    assert len(x.tweets) == 1 and len(tweets_posted(x)) == 1  # one call, one tweet: never sent again
    (event,) = runtime.events()
    assert event["type"] == "post.failed"


def test_x_unreachable_is_retried_later(api, key, x, runtime, monkeypatch, services, account):
    post_id = publish_now(api, key)
    x.stop()  # connection refused: nothing was sent
    with pytest.raises(RetryLaterError):
        publish_directly(services, runtime)
    assert read(api, key, post_id)["post_targets"][0]["error"]["code"] == "platform_unavailable"


# --- secrets --------------------------------------------------------------------------------------------
class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(f"{record.getMessage()} {record.__dict__}")


def _as_text(value: bytes) -> str:
    return zlib.decompress(value).decode()


def test_tokens_never_leave_in_answers_logs_events_or_the_table(api, key, x, runtime, services, workspace, capfd):
    collected = _Collect()
    watched = [logging.getLogger(), logging.getLogger("openpost"), logging.getLogger("urllib3")]
    levels = [item.level for item in watched]
    for item in watched:
        item.addHandler(collected)
        item.setLevel(logging.DEBUG)
    logger.setLevel("DEBUG")
    try:
        answers = []
        started = api.get("/v1/integrations/twitter/connect", key)
        callback = api.get(callback_path(x.authorize(started.json["data"]["url"])), headers=ASKS_FOR_JSON)
        answers += [started, callback]
        integration_id = callback.json["data"]["id"]
        x.expire_access_tokens()  # a refresh, and its rotation, happen too
        post_id = publish_now(api, key)
        runtime.drain()
        answers += [
            api.get("/v1/integrations", key),
            api.get(f"/v1/integrations/{integration_id}", key),
            api.get(f"/v1/posts/{post_id}", key),
        ]
    finally:
        for item, level in zip(watched, levels, strict=True):
            item.removeHandler(collected)
            item.setLevel(level)
        logger.setLevel("WARNING")
    tokens = x.issued
    assert len(tokens) == 4 and read(api, key, post_id)["status"] == "published"
    stored = held(services, workspace, integration_id).value
    assert stored["access_token"] in tokens and stored["refresh_token"] in tokens
    printed = capfd.readouterr()
    dynamodb = boto3.client("dynamodb")
    tables = [services.settings.table_name(name) for name in ("integrations", "counters", "posts")]
    # A post's body and targets are stored compressed (binary): searched as the text they hold.
    rows = [json.dumps(dynamodb.scan(TableName=table)["Items"], default=_as_text) for table in tables]
    seen = (
        [answer.raw.decode() for answer in answers]
        + collected.lines
        + [printed.out, printed.err]
        + rows
        + [json.dumps(runtime.events())]
    )
    assert any("x tokens refreshed" in line for line in collected.lines)  # the logs were captured at all
    for token in tokens:
        assert not any(token in text for text in seen)

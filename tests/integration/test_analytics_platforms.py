"""Analytics against local servers that answer the platforms' documented metrics reads, counting
each call at the server: X (tests/platform_servers/x_api.py, ``GET /2/tweets?ids=``), Mastodon
(tests/platform_servers/mastodon_media.py, ``GET /api/v1/statuses?id[]=`` and the per-status
fallback) and Bluesky. Bluesky's ``app.bsky.feed.getPosts`` is an AppView method that the official
PDS on loopback cannot answer by itself (it proxies AppView methods), so Bluesky's counters come from
an AppView-shaped server (tests/platform_servers/bluesky_appview.py), shaped as the lexicon says.

The planner's schedule and the refresh function run as Lambda runs them, fed from moto's queues.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time

import pytest

from chalicelib.clock import ManualClock
from chalicelib.data.analytics import AnalyticsStore
from chalicelib.data.integrations import IntegrationStore
from chalicelib.domain.analytics.model import Tracked
from chalicelib.domain.analytics.tiers import TIERS
from chalicelib.domain.records import Integration
from chalicelib.ids import uuid7
from chalicelib.platforms.twitter import adapter as twitter
from tests.conftest import services_with
from tests.platform_servers.bluesky_appview import AppViewServer
from tests.platform_servers.mastodon_media import TOKEN as MASTODON_TOKEN
from tests.platform_servers.mastodon_media import MediaProcessingServer
from tests.platform_servers.x_api import XApiServer
from tools.provision import put_app_credentials

X_USER = "1460000000000000001"
DID = "did:plc:openposttest0000000000000"


@pytest.fixture
def clock():
    # The platforms' servers keep real time (token expiry, rate-limit resets): so does this clock.
    return ManualClock(dt.datetime.now(dt.UTC))


@pytest.fixture
def x():
    with XApiServer() as server:
        server.add_user(id=X_USER, username="openpost", name="openpost HQ")
        yield server


@pytest.fixture
def mastodon():
    with MediaProcessingServer() as server:
        yield server


@pytest.fixture
def appview():
    with AppViewServer() as server:
        yield server


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch):
    monkeypatch.setattr(twitter, "RACE_WAITS", (0.0,))


@pytest.fixture
def services(aws, clock, x, appview):
    put_app_credentials(aws, "twitter", {"client_id": x.client_id, "client_secret": x.client_secret})
    with services_with(
        aws,
        clock,
        x_api_url=x.url,
        bluesky_appview_url=appview.url,
        allow_loopback_platforms=True,
        metered_reads_per_month=10_000,
    ) as built:
        yield built


def live_account(services, workspace, clock, platform, username, credentials) -> Integration:
    now = clock.now()
    integration = Integration(
        id=uuid7(clock),
        workspace_id=workspace.workspace.id,
        mode="live",
        platform=platform,
        username=username,
        display_name=username,
        status="active",
        created_at=now,
        updated_at=now,
    )
    sealed = services.credentials.seal(integration.workspace_id, "live", integration.id, credentials)
    IntegrationStore().upsert(integration, sealed, replaces_version=None)
    return integration


def x_account(services, workspace, clock, x):
    tokens = x.issue_tokens(X_USER)
    tokens["expires_at"] = int(time.time()) + tokens.pop("expires_in")
    return live_account(services, workspace, clock, "twitter", "openpost", tokens)


def mastodon_account(services, workspace, clock, mastodon):
    credentials = {"instance_url": mastodon.base_url, "access_token": MASTODON_TOKEN}
    return live_account(services, workspace, clock, "mastodon", "openpost", credentials)


def bluesky_account(services, workspace, clock):
    credentials = {"service": "http://127.0.0.1:1", "identifier": "openpost.test", "session": ""}
    return live_account(services, workspace, clock, "bluesky", "openpost.test", credentials)


def track(integration, platform_post_ids, clock) -> list[Tracked]:
    """Published targets, as the publisher records them, 5 minutes before the current slot."""
    published = TIERS[0].slot(clock.now()) - dt.timedelta(minutes=5)
    tracked = []
    for platform_post_id in platform_post_ids:
        target = Tracked(
            workspace_id=integration.workspace_id,
            mode="live",
            post_id=uuid7(clock),
            target_id=uuid7(clock),
            integration_id=integration.id,
            platform=integration.platform,
            platform_post_id=platform_post_id,
            published_at=published,
            username=integration.username,
        )
        AnalyticsStore().track(target)
        tracked.append(target)
    return tracked


def plan_and_refresh(runtime, clock):
    runtime.tick("analytics_planner", clock.now())
    runtime.drain("analytics", rounds=100)


def latest(target: Tracked):
    snapshots = AnalyticsStore().of_post(target.scope, target.post_id)
    return max(snapshots, key=lambda s: s.captured_at) if snapshots else None


# --- batches: exactly ceil(N / batch) calls, counted at the server -------------------------------------
def test_x_reads_100_posts_a_call_and_keeps_the_servers_numbers(services, workspace, clock, runtime, x):
    account = x_account(services, workspace, clock, x)
    ids = [x.seed_tweet(X_USER, age_seconds=600) for _ in range(250)]
    for index, tweet_id in enumerate(ids):
        x.set_metrics(
            tweet_id, like_count=index, reply_count=2, retweet_count=3, quote_count=1, impression_count=1000 + index
        )
    tracked = track(account, ids, clock)
    plan_and_refresh(runtime, clock)
    assert len(x.lookups) == math.ceil(250 / 100) and sorted(len(call) for call in x.lookups) == [50, 100, 100]
    for index, target in enumerate(tracked):
        reading = latest(target)
        assert (reading.impressions, reading.likes, reading.comments, reading.shares) == (1000 + index, index, 2, 4)
        # Under 30 days and the author's own: X's non-public counters came too, kept raw.
        assert reading.platform_data["non_public_metrics"]["impression_count"] == 1000 + index
        assert reading.platform_data["public_metrics"]["like_count"] == index


def test_bluesky_reads_25_uris_a_call(services, workspace, clock, runtime, appview):
    account = bluesky_account(services, workspace, clock)
    uris = [f"at://{DID}/app.bsky.feed.post/3l{index:011d}" for index in range(60)]
    for index, uri in enumerate(uris):
        appview.add_post(uri, likeCount=index, repostCount=2, replyCount=3, quoteCount=1)
    tracked = track(account, uris, clock)
    plan_and_refresh(runtime, clock)
    assert len(appview.calls) == math.ceil(60 / 25) and sorted(len(call) for call in appview.calls) == [10, 25, 25]
    for index, target in enumerate(tracked):
        reading = latest(target)
        assert (reading.impressions, reading.likes, reading.comments, reading.shares) == (None, index, 3, 3)
        assert reading.platform_data == {"likeCount": index, "repostCount": 2, "replyCount": 3, "quoteCount": 1}


def test_mastodon_reads_20_statuses_a_call(services, workspace, clock, runtime, mastodon):
    account = mastodon_account(services, workspace, clock, mastodon)
    ids = [mastodon.seed_status(f"status {index}") for index in range(45)]
    for index, status_id in enumerate(ids):
        mastodon.set_counts(status_id, favourites_count=index, reblogs_count=2, replies_count=1)
    tracked = track(account, ids, clock)
    plan_and_refresh(runtime, clock)
    assert mastodon.calls.count("statuses") == math.ceil(45 / 20) and "status_read" not in mastodon.calls
    for index, target in enumerate(tracked):
        reading = latest(target)
        assert (reading.impressions, reading.likes, reading.comments, reading.shares) == (None, index, 1, 2)


def test_mastodon_before_4_3_is_read_one_status_at_a_time(services, workspace, clock, runtime):
    with MediaProcessingServer(version="4.2.10") as old:
        account = mastodon_account(services, workspace, clock, old)
        ids = [old.seed_status() for _ in range(3)]
        old.set_counts(ids[0], favourites_count=7)
        tracked = track(account, ids, clock)
        plan_and_refresh(runtime, clock)
        assert old.calls.count("status_read") == 3 and "statuses" not in old.calls
        assert latest(tracked[0]).likes == 7


# --- never a runaway bill or a ban ---------------------------------------------------------------------
def test_a_429_backs_the_integration_off_until_the_reset(services, workspace, clock, runtime, x):
    account = x_account(services, workspace, clock, x)
    ids = [x.seed_tweet(X_USER, age_seconds=600) for _ in range(3)]
    tracked = track(account, ids, clock)
    x.rate_limit_next(reset_in=600, on="tweets/lookup")
    plan_and_refresh(runtime, clock)
    reads = [call for call in x.requests if call == ("GET", "/2/tweets")]
    assert len(reads) == 1 and latest(tracked[0]) is None
    state = AnalyticsStore().integration_state(account.workspace_id + "#live", account.id)
    assert dt.timedelta(seconds=590) < state.backoff_until - clock.now() <= dt.timedelta(seconds=601)
    # The message comes back before the reset (another integration's work, a short visibility): X is
    # not asked while the integration is backed off.
    runtime.time_passes("analytics")
    runtime.drain("analytics")
    assert len([call for call in x.requests if call == ("GET", "/2/tweets")]) == 1
    clock.advance(seconds=601)
    runtime.time_passes("analytics")
    runtime.drain("analytics")
    assert len(x.lookups) == 1 and all(latest(target) is not None for target in tracked)


def test_an_expired_token_marks_the_integration_needs_refresh_and_is_not_retried(
    services, workspace, clock, runtime, x
):
    account = x_account(services, workspace, clock, x)
    track(account, [x.seed_tweet(X_USER, age_seconds=600)], clock)
    x.expire_access_tokens()
    x.revoke_refresh_tokens()
    plan_and_refresh(runtime, clock)
    assert IntegrationStore().get(account.workspace_id, "live", account.id).status == "needs_refresh"
    assert x.lookups == [] and runtime.receive("analytics") == [] and runtime.receive("analytics-dlq") == []
    # Webhook receivers hear of it, as when publishing finds the refusal.
    (sent,) = [json.loads(message["Body"]) for message in runtime.receive("events")]
    assert sent["type"] == "integration.needs_refresh" and sent["id"].startswith(f"evt_{account.id}_needs_refresh_")
    assert sent["data"] == {"integration_id": account.id, "platform": "twitter", "username": account.username}


def test_x_reads_stop_at_the_monthly_budget(services, workspace, clock, runtime, x, api):
    services.__dict__["settings"] = services.settings.model_copy(update={"metered_reads_per_month": 150})
    services.__dict__.pop("analytics_refresher", None)
    account = x_account(services, workspace, clock, x)
    tracked = track(account, [x.seed_tweet(X_USER, age_seconds=600) for _ in range(250)], clock)
    plan_and_refresh(runtime, clock)
    assert len(x.lookups) == 1
    assert sum(latest(target) is not None for target in tracked) == 100
    state = AnalyticsStore().integration_state(account.workspace_id + "#live", account.id)
    assert state.reads == 100 and state.budget_exhausted(clock.now())
    # Next slot: nothing is read this month.
    clock.advance(minutes=30)
    plan_and_refresh(runtime, clock)
    assert len(x.lookups) == 1


# --- the whole path: published through X, tracked by the publisher, read through the API ---------------
def test_a_post_published_to_x_shows_xs_numbers_then_needs_refresh(services, workspace, clock, runtime, x, api):
    from tests.integration.test_x import PUBLIC_URL, connect, publish_now

    services.__dict__["settings"] = services.settings.model_copy(
        update={"public_base_url": PUBLIC_URL, "x_authorize_url": f"{x.url}/i/oauth2/authorize"}
    )
    key = workspace.live_key
    connect(api, key, x)
    post_id = publish_now(api, key, content="Counting on it")
    runtime.drain()
    (tweet,) = x.tweets
    x.set_metrics(tweet["id"], like_count=42, reply_count=5, retweet_count=7, quote_count=2, impression_count=3281)
    pending = api.get(f"/v1/analytics/post/{post_id}", key).json["data"]["targets"][0]
    assert (pending["analytics_status"], pending["impressions"]) == ("pending", None)
    clock.advance(minutes=30)
    plan_and_refresh(runtime, clock)
    data = api.get(f"/v1/analytics/post/{post_id}", key).json["data"]
    (target,) = data["targets"]
    assert target["analytics_status"] == "active" and target["post_url"].endswith(tweet["id"])
    assert (target["impressions"], target["likes"], target["comments"], target["shares"]) == (3281, 42, 5, 9)
    assert data["totals"] == {"impressions": 3281, "likes": 42, "comments": 5, "shares": 9}
    x.expire_access_tokens()
    x.revoke_refresh_tokens()
    clock.advance(minutes=30)
    plan_and_refresh(runtime, clock)
    target = api.get(f"/v1/analytics/post/{post_id}", key).json["data"]["targets"][0]
    assert (target["analytics_status"], target["analytics_reason"]) == ("unavailable", "needs_refresh")
    assert target["likes"] == 42  # the last reading stays


def test_a_redelivered_message_asks_x_nothing_and_writes_nothing(services, workspace, clock, runtime, x):
    account = x_account(services, workspace, clock, x)
    tracked = track(account, [x.seed_tweet(X_USER, age_seconds=600) for _ in range(3)], clock)
    runtime.tick("analytics_planner", clock.now())
    (message,) = runtime.receive("analytics")
    runtime.deliver("analytics", messages=[message])
    runtime.sqs.send_message(QueueUrl=runtime.queues["analytics"], MessageBody=message["Body"])  # SQS's duplicate
    runtime.drain("analytics")
    assert len(x.lookups) == 1
    assert all(len(AnalyticsStore().of_post(t.scope, t.post_id)) == 1 for t in tracked)


def test_a_spent_rate_limit_window_backs_off_before_any_429(services, workspace, clock, runtime, x):
    x.read_limit = 2  # two reads per 15 minutes for this account
    account = x_account(services, workspace, clock, x)
    tracked = track(account, [x.seed_tweet(X_USER, age_seconds=600) for _ in range(250)], clock)
    plan_and_refresh(runtime, clock)
    # A third read in the window would have been X's 429 (a request, but no lookup): none was made.
    assert len(x.lookups) == 2 and x.requests.count(("GET", "/2/tweets")) == 2
    assert sum(latest(target) is not None for target in tracked) == 200
    state = AnalyticsStore().integration_state(account.workspace_id + "#live", account.id)
    assert state.backoff_until > clock.now() + dt.timedelta(minutes=14)
    x.advance(901)
    # X's server kept real time while the refresh ran; this clock stood still: catch up, then 901 s.
    clock.set(max(clock.now(), dt.datetime.now(dt.UTC)) + dt.timedelta(seconds=901))
    runtime.time_passes("analytics")
    runtime.drain("analytics")
    assert len(x.lookups) == 3 and all(latest(target) is not None for target in tracked)


def test_thousands_of_targets_are_queued_in_batches_sqs_takes(services, workspace, clock, runtime, appview):
    # 300 targets a message make about 100 KB; ten of them would pass SQS's batch limit.
    account = bluesky_account(services, workspace, clock)
    uris = [f"at://{DID}/app.bsky.feed.post/3l{index:011d}" for index in range(3100)]
    track(account, uris, clock)
    runtime.tick("analytics_planner", clock.now())
    bodies = []
    while True:
        batch = runtime.receive("analytics")
        if not batch:
            break
        bodies += batch
    assert len(bodies) == 11 and max(len(m["Body"].encode()) for m in bodies) < 256 * 1024
    assert sorted(len(json.loads(m["Body"])["targets"]) for m in bodies) == [100] + [300] * 10


def test_a_budget_raised_mid_month_lets_reads_resume(services, workspace, clock, runtime, x):
    services.__dict__["settings"] = services.settings.model_copy(update={"metered_reads_per_month": 150})
    services.__dict__.pop("analytics_refresher", None)
    account = x_account(services, workspace, clock, x)
    tracked = track(account, [x.seed_tweet(X_USER, age_seconds=600) for _ in range(250)], clock)
    plan_and_refresh(runtime, clock)
    assert len(x.lookups) == 1
    services.__dict__["settings"] = services.settings.model_copy(update={"metered_reads_per_month": 1000})
    services.__dict__.pop("analytics_refresher", None)
    clock.advance(minutes=30)
    plan_and_refresh(runtime, clock)
    assert len(x.lookups) == 1 + 3
    state = AnalyticsStore().integration_state(account.workspace_id + "#live", account.id)
    assert state.reads == 100 + 250 and not state.budget_exhausted(clock.now())
    assert all(latest(target) is not None for target in tracked)


def test_the_read_budget_starts_over_each_month(services):
    store, may = AnalyticsStore(), dt.datetime(2026, 5, 31, 23, 0, tzinfo=dt.UTC)
    assert store.meter("w#live", "i", may, 100, 150) and not store.meter("w#live", "i", may, 100, 150)
    assert store.meter("w#live", "i", may, 50, 150) and not store.meter("w#live", "i", may, 1, 150)
    june = may + dt.timedelta(hours=2)
    assert store.meter("w#live", "i", june, 100, 150) and store.integration_state("w#live", "i").reads == 100

"""Bluesky analytics for posts published to the official Bluesky server (the PDS) on loopback.

The PDS cannot answer ``app.bsky.feed.getPosts`` itself: it is an AppView method, which a PDS only
proxies to the AppView it is configured with, and the test PDS has none (the first test shows it).
So the counters come from an AppView-shaped server (tests/platform_servers/bluesky_appview.py) that
indexes the posts it is asked about from this PDS, as the real AppView indexes the network, and
answers getPosts as the lexicon says, counting each call.
"""

from __future__ import annotations

import math

import pytest

from tests.integration import test_bluesky as bluesky_tests
from tests.integration.test_bluesky import publish_now
from tests.platform_servers.bluesky_appview import AppViewServer

pds = bluesky_tests.pds
key = bluesky_tests.key
alice = bluesky_tests.alice
integration = bluesky_tests.integration
POSTS = 30


@pytest.fixture
def appview(pds):
    with AppViewServer(records=pds.get_record) as server:
        yield server


@pytest.fixture
def services(aws, clock, pds, appview):
    from tests.conftest import services_with

    with services_with(
        aws, clock, bluesky_service_url=pds.url, bluesky_appview_url=appview.url, allow_loopback_platforms=True
    ) as built:
        yield built


def test_the_pds_does_not_serve_get_posts_itself(pds, alice):
    answer = pds.xrpc(
        "GET", "app.bsky.feed.getPosts", alice.access_jwt, params={"uris": f"at://{alice.did}/app.bsky.feed.post/x"}
    )
    assert answer.status_code >= 400


def test_posts_on_the_pds_are_read_25_uris_a_call(api, key, runtime, clock, pds, appview, integration, alice):
    post_ids = [publish_now(api, key, content=f"Counting on Bluesky {index}") for index in range(POSTS)]
    runtime.drain(rounds=20)
    uris = [
        api.get(f"/v1/posts/{post_id}", key).json["data"]["post_targets"][0]["platform_post_id"] for post_id in post_ids
    ]
    assert all(uri.startswith(f"at://{alice.did}/app.bsky.feed.post/") for uri in uris)
    for index, uri in enumerate(uris):
        appview.set_counts(uri, likeCount=index, repostCount=1, replyCount=2, quoteCount=3)
    clock.advance(minutes=30)
    runtime.tick("analytics_planner", clock.now())
    runtime.drain("analytics")
    assert len(appview.calls) == math.ceil(POSTS / 25)
    for index, post_id in enumerate(post_ids):
        (target,) = api.get(f"/v1/analytics/post/{post_id}", key).json["data"]["targets"]
        assert target["analytics_status"] == "active"
        assert (target["impressions"], target["likes"], target["comments"], target["shares"]) == (None, index, 2, 4)

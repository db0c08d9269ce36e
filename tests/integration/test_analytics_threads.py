"""Threads analytics against the local Threads server (tests/platform_servers/threads_api.py): posts
published through the real path, then their insights read one post a call (Threads has no batch
read), counted at the server; an account whose token lacks threads_manage_insights says so and
keeps publishing."""

from __future__ import annotations

import pytest

from chalicelib.data.integrations import IntegrationStore
from tests.integration import test_threads as threads_tests
from tests.integration.test_threads import held, publish_now

# The Threads tests' fixtures (the local server, moto's S3 on loopback, a connected account),
# found by pytest under these names.
threads = threads_tests.threads
bucket_endpoint = threads_tests.bucket_endpoint
services = threads_tests.services
key = threads_tests.key
account = threads_tests.account


@pytest.fixture
def published(api, key, runtime, threads, account):
    post_ids = [publish_now(api, key, content=f"Counting {index}") for index in range(3)]
    runtime.drain()
    return post_ids


def plan_and_refresh(runtime, clock):
    runtime.tick("analytics_planner", clock.now())
    runtime.drain("analytics")


def insight_reads(threads):
    return [call for call in threads.calls if call[1] == "insights"]


def test_insights_are_read_one_post_a_call(api, key, runtime, clock, threads, published):
    media = {
        post_id: api.get(f"/v1/posts/{post_id}", key).json["data"]["post_targets"][0]["platform_post_id"]
        for post_id in published
    }
    for index, media_id in enumerate(media.values()):
        threads.set_insights(media_id, views=100 * (index + 1), likes=index, replies=2, reposts=1, quotes=1, shares=3)
    clock.advance(minutes=30)
    plan_and_refresh(runtime, clock)
    assert len(insight_reads(threads)) == 3
    for index, post_id in enumerate(published):
        (target,) = api.get(f"/v1/analytics/post/{post_id}", key).json["data"]["targets"]
        assert target["analytics_status"] == "active"
        assert (target["impressions"], target["likes"], target["comments"], target["shares"]) == (
            100 * (index + 1),
            index,
            2,
            5,
        )
        assert target["snapshots"][0]["platform_data"]["views"] == 100 * (index + 1)


def test_a_token_without_the_insights_permission_says_so_and_keeps_publishing(
    api, key, runtime, clock, threads, published, services, workspace, account
):
    credentials = held(services, workspace, account["id"])
    narrow = threads.issue_token(scope="threads_basic,threads_content_publish")
    credentials.replace({**credentials.value, "access_token": narrow})
    clock.advance(minutes=30)
    plan_and_refresh(runtime, clock)
    target = api.get(f"/v1/analytics/post/{published[0]}", key).json["data"]["targets"][0]
    assert (target["analytics_status"], target["analytics_reason"]) == ("unavailable", "metrics_not_permitted")
    assert IntegrationStore().get(workspace.workspace.id, "live", account["id"]).status == "active"

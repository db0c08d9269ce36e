"""Test mode publishes end to end in the local stack: API, queue, publisher, sandbox, events."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import requests

pytestmark = pytest.mark.e2e


def call(stack, method, path, body=None):
    headers = {"Authorization": f"Bearer {stack.state['test_key']}"}
    return requests.request(method, f"{stack.base_url}{path}", json=body, headers=headers, timeout=15)


def wait_for_status(stack, post_id, wanted, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        post = call(stack, "GET", f"/v1/posts/{post_id}").json()["data"]
        if post["status"] == wanted:
            return post
        time.sleep(0.2)
    raise AssertionError(f"post {post_id} is {post['status']}, not {wanted}, after {seconds} s")


def test_publish_now_goes_out_within_seconds(stack):
    post = call(
        stack,
        "POST",
        "/v1/posts",
        {
            "content": "Shipping today",
            "platforms": ["twitter", "bluesky"],
            "segments": [{"content": "Details in the thread"}],
        },
    ).json()["data"]
    assert call(stack, "POST", f"/v1/posts/{post['id']}/publish").status_code == 202
    published = wait_for_status(stack, post["id"], "published")
    assert {k: v["success"] for k, v in published["platform_results"].items()} == {"twitter": True, "bluesky": True}
    for target in published["post_targets"]:
        assert target["platform_post_url"].startswith("https://sandbox.openpost.dev/")


def test_a_post_scheduled_seconds_ahead_goes_out_at_its_time(stack):
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=4)).replace(microsecond=0)
    post = call(
        stack,
        "POST",
        "/v1/posts",
        {"content": "On the dot", "platforms": ["bluesky"], "schedule_at": when.strftime("%Y-%m-%dT%H:%M:%SZ")},
    ).json()["data"]
    assert post["status"] == "scheduled"
    published = wait_for_status(stack, post["id"], "published", seconds=20)
    went_out = dt.datetime.fromisoformat(published["post_targets"][0]["published_at"].replace("Z", "+00:00"))
    # Never early. How late is a figure, not a test: bench/lateness.py measures it.
    assert went_out >= when


def test_a_failure_on_demand_reads_clearly(stack):
    post = call(stack, "POST", "/v1/posts", {"content": "[sandbox:reject] Nope", "platforms": ["twitter"]}).json()
    post_id = post["data"]["id"]
    call(stack, "POST", f"/v1/posts/{post_id}/publish")
    failed = wait_for_status(stack, post_id, "failed")
    assert failed["post_targets"][0]["error"]["code"] == "platform_rejected"
    assert failed["platform_results"]["twitter"] == {
        "success": False,
        "post_id": None,
        "post_url": None,
        "error": failed["post_targets"][0]["error"]["message"],
    }

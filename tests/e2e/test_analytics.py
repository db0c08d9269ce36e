"""003's analytics examples over real HTTP in the local stack (test mode, sandbox metrics): a post
published, refreshed on request through the analytics queue and the refresh function the stack
delivers to, then both documented answers field for field, and the CSV.

The post goes to Threads and Mastodon (one platform that counts impressions, one that does not):
other e2e modules count what the sandbox holds for the X and Bluesky accounts of the one stack."""

from __future__ import annotations

import csv
import io
import time

import pytest
import requests

pytestmark = pytest.mark.e2e

# 003's examples, field for field (our answers may add fields; these are all there, typed as shown).
SNAPSHOT_FIELDS = {
    "id": str,
    "post_target_id": str,
    "integration_id": str,
    "impressions": (int, type(None)),
    "likes": int,
    "comments": int,
    "shares": int,
    "platform_data": dict,
    "captured_at": str,
}
TARGET_FIELDS = {
    "target_id": str,
    "platform": str,
    "username": str,
    "status": str,
    "post_url": str,
    "impressions": (int, type(None)),
    "likes": int,
    "comments": int,
    "shares": int,
    "snapshots": list,
}


def call(stack, method, path, body=None):
    headers = {"Authorization": f"Bearer {stack.state['test_key']}"}
    return requests.request(method, f"{stack.base_url}{path}", json=body, headers=headers, timeout=15)


def wait_until(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"not true after {seconds} s")


def has_fields(item, fields):
    missing = set(fields) - set(item)
    assert not missing, f"missing {missing} in {item}"
    for name, kind in fields.items():
        assert isinstance(item[name], kind), (name, item[name])


@pytest.fixture(scope="module")
def published(stack):
    post = call(stack, "POST", "/v1/posts", {"content": "Metrics, please", "platforms": ["threads", "mastodon"]})
    post_id = post.json()["data"]["id"]
    assert call(stack, "POST", f"/v1/posts/{post_id}/publish").status_code == 202
    wait_until(lambda: call(stack, "GET", f"/v1/posts/{post_id}").json()["data"]["status"] == "published")
    time.sleep(2)  # the sandbox's counters grow with the post's age
    refresh = call(stack, "POST", f"/v1/analytics/post/{post_id}/refresh")
    assert refresh.status_code == 202, refresh.text
    assert refresh.json()["data"] == {"post_id": post_id, "queued_targets": 2}

    def both_read():
        targets = call(stack, "GET", f"/v1/analytics/post/{post_id}").json()["data"]["targets"]
        return all(t["analytics_status"] == "active" for t in targets)

    wait_until(both_read)
    return post_id


def test_workspace_snapshots_as_003_shows_them(stack, published):
    answer = call(stack, "GET", "/v1/analytics?days=30")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    rows = answer.json()["data"]
    ours = [row for row in rows if row["post_id"] == published]
    assert len(ours) == 2
    for row in ours:
        has_fields(row, SNAPSHOT_FIELDS)
        assert row["captured_at"].endswith("Z")
    threads = next(row for row in ours if row["platform"] == "threads")
    mastodon = next(row for row in ours if row["platform"] == "mastodon")
    assert isinstance(threads["impressions"], int) and "views" in threads["platform_data"]
    assert mastodon["impressions"] is None  # Mastodon counts no impressions: null, never 0
    assert [row["captured_at"] for row in rows] == sorted((row["captured_at"] for row in rows), reverse=True)


def test_per_post_metrics_as_003_shows_them(stack, published):
    for path in (f"/v1/analytics/post/{published}", f"/v1/analytics/posts/{published}?days=30"):
        data = call(stack, "GET", path).json()["data"]
        assert set(data) == {"post_id", "totals", "targets"} and data["post_id"] == published
        assert set(data["totals"]) == {"impressions", "likes", "comments", "shares"}
        targets = {t["platform"]: t for t in data["targets"]}
        assert set(targets) == {"threads", "mastodon"}
        for target in targets.values():
            has_fields(target, TARGET_FIELDS)
            assert target["status"] == "published" and target["analytics_status"] == "active"
            (snapshot,) = target["snapshots"]
            has_fields(snapshot, SNAPSHOT_FIELDS)
            assert snapshot["post_target_id"] == target["target_id"] and snapshot["likes"] == target["likes"]
        assert targets["threads"]["username"] == "openpost_sandbox"
        assert data["totals"]["likes"] == targets["threads"]["likes"] + targets["mastodon"]["likes"]
        assert data["totals"]["impressions"] == targets["threads"]["impressions"]


def test_refresh_now_again_within_5_minutes_is_429(stack, published):
    again = call(stack, "POST", f"/v1/analytics/post/{published}/refresh")
    assert again.status_code == 429 and again.headers["Content-Type"] == "application/problem+json"
    assert 0 < int(again.headers["Retry-After"]) <= 300


def test_csv_opens_in_pythons_csv_module(stack, published):
    answer = call(stack, "GET", "/v1/analytics?format=csv")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8"), newline="")))
    ours = [row for row in rows if row["post_id"] == published]
    assert {row["platform"] for row in ours} == {"threads", "mastodon"}
    assert next(row for row in ours if row["platform"] == "mastodon")["impressions"] == ""


def test_an_export_file_downloads_from_its_presigned_url(stack, published):
    started = call(stack, "POST", "/v1/analytics/exports", {"post_id": published})
    assert started.status_code == 202
    export_id = started.json()["data"]["id"]
    ready = wait_until(
        lambda: (lambda e: e if e["status"] == "ready" else None)(
            call(stack, "GET", f"/v1/analytics/exports/{export_id}").json()["data"]
        )
    )
    assert ready["rows"] == 2
    download = requests.get(ready["url"], timeout=15)
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8"), newline="")))
    assert rows[0][:3] == ["captured_at", "snapshot_id", "post_id"] and len(rows) == 3


def test_the_local_stack_runs_the_planner_on_its_schedule(stack):
    # The local stack fires each schedule once at start-up, then at its rate, as EventBridge would.
    tick = stack.wait_for_log("analytics plan tick")
    assert tick["scheduled_time"].endswith("Z") and isinstance(tick["queued"], int)

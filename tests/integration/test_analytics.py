"""Analytics in test mode, through the real path: posts published to the sandbox by the publisher
Lambda, the planner's schedule and the refresh function fed from moto's queues, the API reading
the snapshots back. The sandbox's metrics grow with the post's age, deterministically per post."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import boto3
import pytest

from chalicelib.data.analytics import AnalyticsStore
from chalicelib.data.integrations import IntegrationStore
from chalicelib.data.models import AnalyticsSnapshotRecord
from tests.conftest import problem

PLATFORMS = ["twitter", "bluesky", "mastodon", "telegram"]


@pytest.fixture
def key(workspace):
    return workspace.test_key


def publish(api, key, runtime, platforms=PLATFORMS, content="Hello analytics"):
    answer = api.post("/v1/posts", key, {"content": content, "platforms": platforms})
    assert answer.status == 201, answer
    post_id = answer.json["data"]["id"]
    assert api.post(f"/v1/posts/{post_id}/publish", key).status == 202
    runtime.drain()
    assert api.get(f"/v1/posts/{post_id}", key).json["data"]["status"] == "published"
    return post_id


def plan_and_refresh(runtime, clock):
    runtime.tick("analytics_planner", clock.now())
    runtime.drain("analytics", rounds=50)


def snapshots_of(workspace, post_id):
    return AnalyticsStore().of_post(f"{workspace.workspace.id}#test", post_id)


def snapshot_count(workspace, post_id):
    """How many snapshots the post has, counted by DynamoDB: a loop over 90 days asks after every
    step, and reading the growing list back each time made the loop quadratic."""
    return AnalyticsSnapshotRecord.count(f"{workspace.workspace.id}#test#{post_id}")


def analytics(api, key, post_id, **query):
    suffix = "&".join(f"{name}={value}" for name, value in query.items())
    answer = api.get(f"/v1/analytics/post/{post_id}" + (f"?{suffix}" if suffix else ""), key)
    assert answer.status == 200, answer
    return answer.json["data"]


def by_platform(data):
    return {target["platform"]: target for target in data["targets"]}


def test_a_published_post_is_pending_then_active_with_null_for_what_a_platform_does_not_count(
    api, key, runtime, clock, workspace
):
    post_id = publish(api, key, runtime)
    before = by_platform(analytics(api, key, post_id))
    assert {name: (t["analytics_status"], t["analytics_reason"]) for name, t in before.items()} == {
        "twitter": ("pending", None),
        "bluesky": ("pending", None),
        "mastodon": ("pending", None),
        "telegram": ("unavailable", "platform_has_no_metrics"),
    }
    clock.advance(minutes=30)
    plan_and_refresh(runtime, clock)
    data = analytics(api, key, post_id)
    after = by_platform(data)
    assert {name: t["analytics_status"] for name, t in after.items()} == {
        "twitter": "active",
        "bluesky": "active",
        "mastodon": "active",
        "telegram": "unavailable",
    }
    x = after["twitter"]
    assert x["impressions"] > 0 and x["likes"] >= 0 and x["status"] == "published"
    assert set(x["snapshots"][0]["platform_data"]["public_metrics"]) >= {"impression_count", "like_count"}
    for platform in ("bluesky", "mastodon"):
        assert after[platform]["impressions"] is None and after[platform]["likes"] is not None
    assert after["telegram"]["snapshots"] == [] and after["telegram"]["likes"] is None
    assert data["totals"]["impressions"] == x["impressions"]
    assert data["totals"]["likes"] == sum(after[p]["likes"] for p in ("twitter", "bluesky", "mastodon"))
    # The alias answers the same.
    assert api.get(f"/v1/analytics/posts/{post_id}", key).json["data"] == data


def test_sandbox_metrics_grow_and_are_the_same_for_the_same_post_and_age(api, key, runtime, clock, workspace):
    post_id = publish(api, key, runtime, ["twitter"])
    readings = []
    for _ in range(3):
        clock.advance(minutes=30)
        plan_and_refresh(runtime, clock)
        readings.append(analytics(api, key, post_id)["targets"][0]["impressions"])
    assert readings[0] < readings[1] < readings[2]
    snapshots = analytics(api, key, post_id)["targets"][0]["snapshots"]
    assert [s["impressions"] for s in snapshots] == readings[::-1]  # newest first


def test_tiers_every_30_minutes_then_6_hours_then_daily_and_never_after_90_days(api, key, runtime, clock, workspace):
    post_id = publish(api, key, runtime, ["twitter"])
    published = clock.now()
    seen = []
    count = snapshot_count(workspace, post_id)
    # The planner runs every 5 minutes; stepping by 30 minutes, 6 hours or a day visits every slot.
    for until, step in (
        (dt.timedelta(days=1), dt.timedelta(minutes=30)),
        (dt.timedelta(days=7), dt.timedelta(hours=6)),
        (dt.timedelta(days=92), dt.timedelta(days=1)),
    ):
        while clock.now() - published < until:
            clock.advance(seconds=step.total_seconds())
            before = count
            plan_and_refresh(runtime, clock)
            count = snapshot_count(workspace, post_id)
            if count > before:
                seen.append(clock.now() - published)
    fresh = [age for age in seen if age <= dt.timedelta(days=1)]
    recent = [age for age in seen if dt.timedelta(days=1) < age <= dt.timedelta(days=7)]
    tail = [age for age in seen if age > dt.timedelta(days=7)]
    assert len(fresh) == 48 and fresh[0] == dt.timedelta(minutes=30)
    assert len(recent) == 24
    assert len(tail) == 83 and max(tail) < dt.timedelta(days=90) + dt.timedelta(days=1)
    target = analytics(api, key, post_id)["targets"][0]
    assert (target["analytics_status"], target["analytics_reason"]) == ("unavailable", "older_than_90_days")


def test_a_repeated_tick_plans_nothing_twice(api, key, runtime, clock, workspace):
    publish(api, key, runtime, ["twitter", "mastodon"])
    clock.advance(minutes=30)
    runtime.tick("analytics_planner", clock.now())
    runtime.tick("analytics_planner", clock.now() + dt.timedelta(minutes=5))
    assert len(runtime.peek("analytics")) == 2  # one message per integration, once


def test_a_redelivered_refresh_message_appends_nothing(api, key, runtime, clock, workspace):
    post_id = publish(api, key, runtime, ["twitter", "bluesky"])
    clock.advance(minutes=30)
    runtime.tick("analytics_planner", clock.now())
    messages = runtime.receive("analytics")
    assert len(messages) == 2
    runtime.deliver("analytics", messages=messages)
    assert len(snapshots_of(workspace, post_id)) == 2
    for message in messages:  # SQS delivers it again (at-least-once)
        runtime.sqs.send_message(QueueUrl=runtime.queues["analytics"], MessageBody=message["Body"])
    clock.advance(minutes=2)
    runtime.drain("analytics")
    assert len(snapshots_of(workspace, post_id)) == 2


def test_workspace_snapshots_newest_first_filtered_by_integration_and_days(api, key, runtime, clock, workspace):
    publish(api, key, runtime, ["twitter", "mastodon"])
    for _ in range(2):
        clock.advance(minutes=30)
        plan_and_refresh(runtime, clock)
    rows = api.get("/v1/analytics", key).json["data"]
    assert len(rows) == 4
    assert [row["captured_at"] for row in rows] == sorted((row["captured_at"] for row in rows), reverse=True)
    x = next(i for i in IntegrationStore().list(workspace.workspace.id, "test") if i.platform == "twitter")
    only_x = api.get(f"/v1/analytics?integration_id={x.id}", key).json["data"]
    assert len(only_x) == 2 and {row["integration_id"] for row in only_x} == {x.id}
    clock.advance(days=2)
    assert len(api.get("/v1/analytics?days=1", key).json["data"]) == 0
    assert len(api.get("/v1/analytics?days=3", key).json["data"]) == 4


def test_the_other_mode_and_other_workspaces_see_nothing(api, key, runtime, clock, workspace, services):
    post_id = publish(api, key, runtime, ["twitter"])
    clock.advance(minutes=30)
    plan_and_refresh(runtime, clock)
    assert api.get("/v1/analytics", workspace.live_key).json["data"] == []
    assert api.get(f"/v1/analytics/post/{post_id}", workspace.live_key).status == 404
    other = services.workspaces.create("Other")
    assert api.get("/v1/analytics", other.test_key).json["data"] == []


def test_bad_queries_are_problems(api, key):
    for query in ("days=0", "days=abc", "format=xml"):
        answer = api.get(f"/v1/analytics?{query}", key)
        assert answer.status == 400 and answer.json["code"] == "invalid_query", answer
    problem(api.get("/v1/analytics/post/nope", key), 404, "post_not_found")
    problem(api.get("/v1/analytics/exports/nope", key), 404, "export_not_found")
    problem(api.post("/v1/analytics/exports", key, {"days": 1, "color": "red"}), 422, "validation_failed")


def test_refresh_now_once_per_five_minutes(api, key, runtime, clock, workspace):
    post_id = publish(api, key, runtime, ["twitter", "bluesky", "telegram"])
    answer = api.post(f"/v1/analytics/post/{post_id}/refresh", key)
    assert answer.status == 202 and answer.json["data"] == {"post_id": post_id, "queued_targets": 2}
    runtime.drain("analytics")
    assert len(snapshots_of(workspace, post_id)) == 2
    clock.advance(minutes=3)
    again = api.post(f"/v1/analytics/post/{post_id}/refresh", key)
    assert again.status == 429 and again.json["code"] == "rate_limited"
    assert int(again.headers["retry-after"]) == 121
    clock.advance(minutes=2, seconds=1)
    assert api.post(f"/v1/analytics/post/{post_id}/refresh", key).status == 202
    runtime.drain("analytics")
    assert len(snapshots_of(workspace, post_id)) == 4


def test_csv_is_rfc_4180_with_a_header_and_neutralised_cells(api, key, runtime, clock, workspace):
    post_id = publish(api, key, runtime, ["twitter", "mastodon"])
    clock.advance(minutes=30)
    plan_and_refresh(runtime, clock)
    answer = api.get("/v1/analytics?format=csv", key)
    assert answer.status == 200 and answer.headers["content-type"] == "text/csv; charset=utf-8"
    text = answer.raw.decode("utf-8")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == [
        "captured_at",
        "snapshot_id",
        "post_id",
        "target_id",
        "integration_id",
        "platform",
        "username",
        "post_url",
        "impressions",
        "likes",
        "comments",
        "shares",
        "platform_data",
    ]
    assert len(rows) == 3 and {row[2] for row in rows[1:]} == {post_id}
    json_rows = api.get("/v1/analytics", key).json["data"]
    assert [row[1] for row in rows[1:]] == [row["id"] for row in json_rows]
    mastodon = next(row for row in rows[1:] if row[5] == "mastodon")
    assert mastodon[8] == ""  # Mastodon counts no impressions: empty, not 0
    assert json.loads(mastodon[12])["favourites_count"] == int(mastodon[9])


def test_an_export_is_written_to_the_bucket_and_handed_out_by_presigned_url(
    api, key, runtime, clock, workspace, services
):
    post_id = publish(api, key, runtime, ["twitter", "bluesky"])
    for _ in range(3):
        clock.advance(minutes=30)
        plan_and_refresh(runtime, clock)
    started = api.post("/v1/analytics/exports", key, {"days": 30, "post_id": post_id})
    assert started.status == 202, started
    export = started.json["data"]
    assert export["status"] == "pending" and export["url"] is None
    assert api.get(f"/v1/analytics/exports/{export['id']}", key).json["data"]["status"] == "pending"
    runtime.drain("analytics")
    ready = api.get(f"/v1/analytics/exports/{export['id']}", key).json["data"]
    assert ready["status"] == "ready" and ready["rows"] == 6 and ready["url"]
    # The URL is a presigned GET of the one file the export wrote.
    s3 = boto3.client("s3", region_name="us-east-1")
    (stored,) = s3.list_objects_v2(Bucket=services.settings.media_bucket, Prefix="exports/")["Contents"]
    assert stored["Key"] in ready["url"] and "Signature" in ready["url"]
    body = s3.get_object(Bucket=services.settings.media_bucket, Key=stored["Key"])
    rows = list(csv.reader(io.StringIO(body["Body"].read().decode("utf-8"), newline="")))
    assert rows[0][0] == "captured_at" and len(rows) == 7
    assert api.get(f"/v1/analytics/exports/{export['id']}", workspace.live_key).status == 404


def test_csv_neutralises_cells_a_spreadsheet_would_run(api, key, runtime, clock, workspace):
    from chalicelib.domain.analytics import csv_rows

    assert csv_rows.neutralised('=HYPERLINK("http://evil")') == '\'=HYPERLINK("http://evil")'
    for start in ("+", "-", "@", "\t", "\r"):
        assert csv_rows.neutralised(f"{start}cmd") == f"'{start}cmd"
    assert csv_rows.neutralised(12) == "12" and csv_rows.neutralised(None) == ""


def test_an_export_that_cannot_be_written_ends_failed_not_pending(api, key, runtime, clock, workspace, services):
    publish(api, key, runtime, ["twitter"])
    clock.advance(minutes=30)
    plan_and_refresh(runtime, clock)
    services.__dict__["settings"] = services.settings.model_copy(update={"media_bucket": "no-such-bucket"})
    services.__dict__.pop("analytics", None)
    export_id = api.post("/v1/analytics/exports", key, {}).json["data"]["id"]
    for _ in range(3):
        runtime.deliver("analytics")
        assert api.get(f"/v1/analytics/exports/{export_id}", key).json["data"]["status"] in ("pending", "failed")
        runtime.time_passes("analytics")
    export = api.get(f"/v1/analytics/exports/{export_id}", key).json["data"]
    assert export["status"] == "failed" and export["url"] is None
    assert runtime.receive("analytics") == []

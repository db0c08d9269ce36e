"""Webhooks: endpoints over the API, and deliveries through the real events queue and worker, to a
receiver on loopback that checks every signature with the reference verifier (tests/webhook_receiver.py).

Time: the schedule runs on the test clock. SQS delays are real seconds in moto, so the queue is
made instant (``instant_queue``): each delay a message asks for is recorded, dropped, and the test
clock moved on by it, as if the wait had passed.
"""

from __future__ import annotations

import datetime as dt
import socket

import pytest

from chalicelib.domain.events import event
from tests.conftest import problem, services_with
from tests.webhook_receiver import WebhookReceiver


@pytest.fixture
def hooks(aws, clock, services):
    """Services as the local stack has them: webhooks may go to loopback over http."""
    with services_with(aws, clock, allow_local_webhooks=True, allow_loopback_media_urls=True) as built:
        yield built


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def key(workspace):
    return workspace.test_key


@pytest.fixture
def instant_queue(hooks, clock):
    delays: list[int] = []

    def instant(params, **_):
        asked = [int(entry.get("DelaySeconds") or 0) for entry in params.get("Entries", [])]
        for entry in params.get("Entries", []):
            entry["DelaySeconds"] = 0
        if max(asked, default=0):
            delays.append(max(asked))
            clock.advance(seconds=max(asked))

    events = hooks.events.client.meta.events
    events.register("before-parameter-build.sqs.SendMessageBatch", instant)
    yield delays
    events.unregister("before-parameter-build.sqs.SendMessageBatch", instant)


def register(api, key, receiver, path, **fields):
    answer = api.post("/v1/webhooks", key, {"url": receiver.url(path), **fields})
    assert answer.status == 201, answer
    created = answer.json["data"]
    receiver.trust(path, created["secret"])
    return created


def emit(hooks, workspace, event_id="evt_1", type="integration.disconnected", mode="test", data=None):
    hooks.events.send(
        event(
            event_id,
            type,
            hooks.clock.now(),
            workspace.workspace.id,
            mode,
            data or {"integration_id": "i1", "platform": "mastodon", "username": "someone"},
        )
    )


def settle(runtime, rounds=400):
    return runtime.drain("events", rounds)


def deliveries(api, key, webhook_id):
    answer = api.get(f"/v1/webhooks/{webhook_id}/deliveries", key)
    assert answer.status == 200, answer
    return answer.json


# --- the endpoints API ---------------------------------------------------------------------------


def test_an_endpoint_is_created_listed_changed_and_deleted(api, key, hooks, receiver):
    created = register(api, key, receiver, "/a", events=["post.published", "post.failed"], description="CRM")
    assert created["secret"].startswith("whsec_") and created["enabled"] is True
    assert created["failing_since"] is None and created["disabled_reason"] is None
    shown = api.get(f"/v1/webhooks/{created['id']}", key).json["data"]
    assert "secret" not in shown and shown["events"] == ["post.published", "post.failed"]
    listed = api.get("/v1/webhooks", key).json
    assert listed["total"] == 1 and [item["id"] for item in listed["data"]] == [created["id"]]
    changed = api.request("PATCH", f"/v1/webhooks/{created['id']}", key, body={"events": ["*"], "enabled": False})
    assert changed.status == 200 and changed.json["data"]["events"] == ["*"]
    assert changed.json["data"]["disabled_reason"] == "disabled_by_user"
    assert api.delete(f"/v1/webhooks/{created['id']}", key).status == 204
    problem(api.get(f"/v1/webhooks/{created['id']}", key), 404, "webhook_not_found")


def test_endpoints_belong_to_one_workspace_and_mode(api, workspace, hooks, receiver):
    created = register(api, workspace.test_key, receiver, "/a")
    problem(api.get(f"/v1/webhooks/{created['id']}", workspace.live_key), 404)
    assert api.get("/v1/webhooks", workspace.live_key).json["total"] == 0


def test_unknown_event_types_are_refused(api, key, hooks, receiver):
    answer = api.post("/v1/webhooks", key, {"url": receiver.url("/a"), "events": ["post.exploded"]})
    assert problem(answer, 422, "unknown_event_type")["errors"][0]["field"] == "events"


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/hook",
        "https://192.168.1.20/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:10.0.0.1]/hook",
        "https://internal.example.com/hook",  # resolves to 10.1.2.3 below
        "https://2130706433/hook",
        "https://user:pass@example.com/hook",
        "ftp://example.com/hook",
    ],
)
def test_urls_into_private_networks_are_refused_at_registration(api, key, hooks, url, monkeypatch):
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        if host == "internal.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    answer = api.post("/v1/webhooks", key, {"url": url})
    assert problem(answer, 422, "webhook_url_not_allowed")["errors"][0]["field"] == "url"
    assert api.get("/v1/webhooks", key).json["total"] == 0


@pytest.mark.parametrize(
    "location, why",
    [
        ("http://10.0.0.1/hook", "not allowed"),
        ("http://169.254.169.254/latest", "not allowed"),
        ("/elsewhere", "leads to"),
    ],
)
def test_a_url_that_redirects_is_refused_at_registration(api, key, hooks, receiver, location, why):
    receiver.script("/moved", always=(301, {"Location": location}, 0.0))
    answer = api.post("/v1/webhooks", key, {"url": receiver.url("/moved")})
    assert why in problem(answer, 422, "webhook_url_not_allowed")["detail"]
    assert receiver.at("/moved") == []  # a HEAD, never an event


def test_http_and_loopback_need_the_local_switch(api, key, services, receiver):
    # services (not hooks): a deployment's settings, where the switch is off.
    answer = api.post("/v1/webhooks", key, {"url": receiver.url("/a")})
    assert "https" in problem(answer, 422, "webhook_url_not_allowed")["detail"]
    answer = api.post("/v1/webhooks", key, {"url": "https://127.0.0.1/hook"})
    problem(answer, 422, "webhook_url_not_allowed")


# --- delivery ------------------------------------------------------------------------------------


def test_an_event_reaches_every_subscribed_endpoint_signed(api, key, hooks, workspace, runtime, receiver):
    everything = register(api, key, receiver, "/all")
    register(api, key, receiver, "/posts-only", events=["post.published"])
    emit(hooks, workspace, "evt_disc_1")
    settle(runtime)
    [got] = receiver.at("/all")
    assert got.verified_by == receiver.secrets["/all"]  # the reference verifier accepted it
    assert got.webhook_id == "evt_disc_1" and got.type == "integration.disconnected"
    assert got.payload["data"]["platform"] == "mastodon" and "workspace_id" not in got.payload
    assert got.headers["user-agent"].startswith("openpost-webhooks/")
    assert receiver.at("/posts-only") == []
    log = deliveries(api, key, everything["id"])
    assert log["total"] == 1
    item = log["data"][0]
    assert (item["event_id"], item["status"], item["attempts"], item["status_code"]) == (
        "evt_disc_1",
        "succeeded",
        1,
        200,
    )


def test_500_then_200_is_one_event_delivered_twice_with_one_id(
    api, key, hooks, workspace, runtime, receiver, instant_queue
):
    created = register(api, key, receiver, "/a")
    receiver.script("/a", 500)
    emit(hooks, workspace, "evt_retry")
    settle(runtime)
    got = receiver.at("/a")
    assert [item.webhook_id for item in got] == ["evt_retry", "evt_retry"]
    assert all(item.verified_by for item in got)
    assert 4 <= instant_queue[0] <= 6  # the second attempt waited about 5 s
    [item] = deliveries(api, key, created["id"])["data"]
    assert item["status"] == "succeeded" and item["attempts"] == 2
    assert [h["status_code"] for h in item["history"]] == [500, 200]
    assert api.get(f"/v1/webhooks/{created['id']}", key).json["data"]["failing_since"] is None


def test_429_with_retry_after_waits_what_it_asks(api, key, hooks, workspace, runtime, receiver, instant_queue):
    created = register(api, key, receiver, "/a")
    receiver.script("/a", (429, {"Retry-After": "120"}, 0.0))
    emit(hooks, workspace, "evt_429")
    settle(runtime)
    assert instant_queue[0] == 120
    [item] = deliveries(api, key, created["id"])["data"]
    assert item["status"] == "succeeded" and [h["status_code"] for h in item["history"]] == [429, 200]


def test_410_disables_the_endpoint_at_once(api, key, hooks, workspace, runtime, receiver, instant_queue):
    gone = register(api, key, receiver, "/gone")
    other = register(api, key, receiver, "/other", events=["webhook.disabled"])
    receiver.script("/gone", always=410)
    emit(hooks, workspace, "evt_410")
    settle(runtime)
    assert len(receiver.at("/gone")) == 1
    shown = api.get(f"/v1/webhooks/{gone['id']}", key).json["data"]
    assert shown["enabled"] is False and shown["disabled_reason"] == "endpoint_gone"
    [told] = receiver.at("/other")
    assert told.type == "webhook.disabled" and told.payload["data"]["webhook_id"] == gone["id"]
    assert told.verified_by and deliveries(api, key, other["id"])["total"] == 1
    emit(hooks, workspace, "evt_after")
    settle(runtime)
    assert len(receiver.at("/gone")) == 1  # nothing more is sent to it


def test_an_exhausted_schedule_fails_and_can_be_retried_by_hand(
    api, key, hooks, workspace, runtime, receiver, instant_queue, clock
):
    created = register(api, key, receiver, "/a")
    receiver.script("/a", *([503] * 8))
    started = clock.now()
    emit(hooks, workspace, "evt_exhaust")
    settle(runtime)
    assert len(receiver.at("/a")) == 8 and {item.webhook_id for item in receiver.at("/a")} == {"evt_exhaust"}
    # 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, each within 20%, chained in hops of at most 15 min.
    assert max(instant_queue) <= 900
    assert dt.timedelta(hours=22) < clock.now() - started < dt.timedelta(hours=34)
    [item] = deliveries(api, key, created["id"])["data"]
    assert item["status"] == "failed" and item["attempts"] == 8 and item["next_attempt_at"] is None
    assert api.get(f"/v1/webhooks/{created['id']}", key).json["data"]["failing_since"] is not None
    retried = api.post(f"/v1/webhooks/{created['id']}/deliveries/{item['id']}/retry", key)
    assert retried.status == 202 and retried.json["data"]["status"] == "pending"
    settle(runtime)
    assert [got.webhook_id for got in receiver.at("/a")][-1] == "evt_exhaust" and len(receiver.at("/a")) == 9
    [item] = deliveries(api, key, created["id"])["data"]
    assert item["status"] == "succeeded" and item["attempts"] == 9
    assert api.get(f"/v1/webhooks/{created['id']}", key).json["data"]["failing_since"] is None


def test_five_days_of_failures_disable_the_endpoint_and_tell_the_others(
    api, key, hooks, workspace, runtime, receiver, instant_queue, clock
):
    failing = register(api, key, receiver, "/down", events=["integration.disconnected"])
    register(api, key, receiver, "/ops", events=["post.published"])  # webhook.disabled reaches it all the same
    receiver.script("/down", always=500)
    first = clock.now()
    for day in range(6):
        emit(hooks, workspace, f"evt_day_{day}")
        settle(runtime, rounds=80)
        shown = api.get(f"/v1/webhooks/{failing['id']}", key).json["data"]
        assert shown["failing_since"] == first.strftime("%Y-%m-%dT%H:%M:%SZ")
        if not shown["enabled"]:
            break
        clock.advance(days=1)
    assert shown["enabled"] is False and shown["disabled_reason"] == "failing_for_5_days"
    assert clock.now() - first >= dt.timedelta(days=5)
    [told] = [item for item in receiver.at("/ops") if item.type == "webhook.disabled"]
    assert told.payload["data"]["webhook_id"] == failing["id"] and told.verified_by
    # Re-enabling resumes delivery of new events.
    receiver.script("/down")
    enabled = api.request("PATCH", f"/v1/webhooks/{failing['id']}", key, body={"enabled": True}).json["data"]
    assert enabled["enabled"] and enabled["disabled_reason"] is None and enabled["failing_since"] is None
    emit(hooks, workspace, "evt_back")
    settle(runtime)
    assert receiver.at("/down")[-1].webhook_id == "evt_back"


def test_a_worker_killed_after_sending_and_before_recording_loses_nothing(
    api, key, hooks, workspace, runtime, receiver, clock
):
    from botocore.exceptions import EndpointConnectionError

    from chalicelib.data.models import WebhookDeliveryRecord

    created = register(api, key, receiver, "/a")
    emit(hooks, workspace, "evt_kill")
    runtime.deliver("events")  # the fan-out: one delivery message queued

    def dies_after_the_send(**_):
        if receiver.at("/a"):
            raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    events = WebhookDeliveryRecord._get_connection().connection.client.meta.events
    events.register("before-call.dynamodb.PutItem", dies_after_the_send)
    try:
        response = runtime.deliver("events")
    finally:
        events.unregister("before-call.dynamodb.PutItem", dies_after_the_send)
    assert len(response["batchItemFailures"]) == 1 and len(receiver.at("/a")) == 1
    [item] = deliveries(api, key, created["id"])["data"]
    assert item["status"] == "sending"
    clock.advance(seconds=31)  # the attempt's lease runs out
    runtime.time_passes("events")
    settle(runtime)
    got = receiver.at("/a")
    assert [g.webhook_id for g in got] == ["evt_kill", "evt_kill"] and all(g.verified_by for g in got)
    [item] = deliveries(api, key, created["id"])["data"]
    assert item["status"] == "succeeded"
    assert [h["outcome"] for h in item["history"]] == ["interrupted", "succeeded"]


def test_a_worker_that_outlived_its_lease_lets_go_to_the_one_that_took_over(
    api, key, hooks, workspace, runtime, receiver, clock
):
    import json
    import threading
    import time

    from chalicelib.data.messages import DeliveryMessage

    created = register(api, key, receiver, "/slow")
    receiver.script("/slow", (200, {}, 1.5))  # the first answer takes 1.5 s; the next comes at once
    emit(hooks, workspace, "evt_slow")
    runtime.deliver("events")  # the fan-out: one delivery message
    [queued] = runtime.receive("events")
    message = DeliveryMessage.model_validate(json.loads(queued["Body"]))
    outcomes = {}

    def first_worker():
        outcomes["first"] = hooks.webhook_deliveries.attempt(message)

    first = threading.Thread(target=first_worker)
    first.start()
    waited = time.monotonic() + 5
    while not receiver.at("/slow") and time.monotonic() < waited:
        time.sleep(0.01)
    clock.advance(seconds=31)  # its lease runs out while the endpoint still holds its request
    outcomes["second"] = hooks.webhook_deliveries.attempt(message)  # the message again, as SQS redelivers it
    first.join(10)
    # The first worker's answer comes after the takeover: it neither overwrites the record nor fails
    # its message (which would bring it back for nothing).
    assert outcomes == {"first": "superseded", "second": "succeeded"}
    assert [got.webhook_id for got in receiver.at("/slow")] == ["evt_slow", "evt_slow"]
    [item] = deliveries(api, key, created["id"])["data"]
    assert item["status"] == "succeeded"
    assert [entry["outcome"] for entry in item["history"]] == ["interrupted", "succeeded"]


def test_a_hanging_endpoint_delays_no_other_and_times_out(api, key, hooks, workspace, runtime, receiver, clock):
    import time

    hanging = register(api, key, receiver, "/hangs")
    register(api, key, receiver, "/fast")
    receiver.script("/hangs", (200, {}, 15.0))
    emit(hooks, workspace, "evt_hang")
    runtime.deliver("events")  # fan-out: two delivery messages
    sent = time.time()
    runtime.deliver("events")  # one batch: both attempts side by side
    took = time.time() - sent
    [fast] = receiver.at("/fast")
    assert fast.arrived - sent < 2.0
    assert 9.5 < took < 14
    [item] = deliveries(api, key, hanging["id"])["data"]
    assert item["status"] == "pending" and item["history"][0]["error_code"] == "timeout"


def test_a_redirect_is_not_followed_and_fails_with_the_reason(
    api, key, hooks, workspace, runtime, receiver, instant_queue
):
    created = register(api, key, receiver, "/moved")
    receiver.script("/moved", (302, {"Location": "http://10.0.0.1/hook"}, 0.0))
    emit(hooks, workspace, "evt_redirect")
    runtime.deliver("events")
    runtime.deliver("events")
    [item] = deliveries(api, key, created["id"])["data"]
    assert item["history"][0]["error_code"] == "redirect_not_followed" and item["status_code"] == 302


@pytest.mark.parametrize("address", ["10.0.0.7", "192.168.1.20", "169.254.169.254", "::ffff:10.0.0.1"])
def test_a_name_that_turns_private_after_registration_fails_at_send(
    api, key, hooks, workspace, runtime, receiver, monkeypatch, address
):
    real = socket.getaddrinfo
    answers = {"hooks.example.com": "127.0.0.1"}

    def resolver(host, *args, **kwargs):
        if host in answers:
            family = socket.AF_INET6 if ":" in answers[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (answers[host], 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    port = receiver.url("/").split(":")[2].rstrip("/")
    answer = api.post("/v1/webhooks", key, {"url": f"http://hooks.example.com:{port}/a"})
    assert answer.status == 201, answer
    answers["hooks.example.com"] = address
    emit(hooks, workspace, "evt_rebound")
    runtime.deliver("events")
    runtime.deliver("events")
    [item] = deliveries(api, key, answer.json["data"]["id"])["data"]
    assert item["history"][0]["error_code"] == "url_not_allowed" and "private" in item["error"]
    assert item["status"] == "pending" and item["next_attempt_at"]  # retried: the name may come back
    assert receiver.at("/a") == []


def test_during_a_rotation_both_secrets_sign_for_24_hours(api, key, hooks, workspace, runtime, receiver, clock):
    created = register(api, key, receiver, "/a")
    old = created["secret"]
    rotated = api.post(f"/v1/webhooks/{created['id']}/rotate-secret", key)
    assert rotated.status == 200, rotated
    new = rotated.json["data"]["secret"]
    assert new != old and rotated.json["data"]["secret_rotated_until"] == "2026-05-02T12:00:00Z"
    receiver.secrets["/a"] = [old, new]
    emit(hooks, workspace, "evt_rotating")
    settle(runtime)
    [got] = receiver.at("/a")
    assert got.verified_by == [old, new] and len(got.headers["webhook-signature"].split(" ")) == 2
    clock.advance(hours=24, seconds=1)
    emit(hooks, workspace, "evt_rotated")
    settle(runtime)
    assert receiver.at("/a")[-1].verified_by == [new]


def test_the_test_route_sends_webhook_test_to_that_endpoint_only(api, key, hooks, workspace, runtime, receiver):
    created = register(api, key, receiver, "/a")
    register(api, key, receiver, "/b")
    answer = api.post(f"/v1/webhooks/{created['id']}/test", key)
    assert answer.status == 202 and answer.json["data"]["event_type"] == "webhook.test"
    settle(runtime)
    [got] = receiver.at("/a")
    assert got.type == "webhook.test" and got.verified_by and receiver.at("/b") == []


def test_the_delivery_log_pages_newest_first(api, key, hooks, workspace, runtime, receiver, clock):
    created = register(api, key, receiver, "/a")
    for number in range(5):
        emit(hooks, workspace, f"evt_page_{number}")
        clock.advance(seconds=1)
    settle(runtime)
    first = api.get(f"/v1/webhooks/{created['id']}/deliveries?limit=2", key).json
    assert first["total"] == 5 and [d["event_id"] for d in first["data"]] == ["evt_page_4", "evt_page_3"]
    second = api.get(f"/v1/webhooks/{created['id']}/deliveries?limit=2&cursor={first['next_cursor']}", key).json
    assert [d["event_id"] for d in second["data"]] == ["evt_page_2", "evt_page_1"]


def test_a_published_post_is_announced_with_each_target_url(api, key, hooks, workspace, runtime, receiver):
    register(api, key, receiver, "/a")
    post = api.post("/v1/posts", key, {"content": "Hello", "platforms": ["twitter", "bluesky"]}).json["data"]
    assert api.post(f"/v1/posts/{post['id']}/publish", key).status == 202
    runtime.drain("publish")
    settle(runtime)
    [got] = receiver.at("/a")
    assert got.type == "post.published" and got.webhook_id == f"evt_{post['id']}_published" and got.verified_by
    targets = got.payload["data"]["targets"]
    assert len(targets) == 2 and all(t["platform_post_url"].startswith("https://") for t in targets)


def test_a_lost_authorisation_is_announced_beside_the_failed_post(api, key, hooks, workspace, runtime, receiver):
    register(api, key, receiver, "/a")
    post = api.post("/v1/posts", key, {"content": "[sandbox:auth] Hello", "platforms": ["twitter"]}).json["data"]
    assert api.post(f"/v1/posts/{post['id']}/publish", key).status == 202
    runtime.drain("publish")
    settle(runtime)
    got = {item.type: item for item in receiver.at("/a")}
    assert set(got) == {"integration.needs_refresh", "post.failed"} and all(g.verified_by for g in got.values())
    assert got["post.failed"].payload["data"]["targets"][0]["error"]["code"] == "integration_needs_refresh"
    assert got["integration.needs_refresh"].payload["data"]["platform"] == "twitter"


def test_an_upload_is_announced_ready(api, key, hooks, workspace, runtime, receiver, aws):
    import requests

    from tests import media_samples

    register(api, key, receiver, "/a", events=["media.ready", "media.rejected"])
    data = media_samples.image("image/png", 32, 32)
    ticket = api.post(
        "/v1/media/upload", key, {"filename": "a.png", "content_type": "image/png", "size": len(data)}
    ).json["data"]
    requests.put(ticket["upload_url"], data=data, headers=ticket["upload_headers"])
    runtime.drain("media")
    settle(runtime)
    [got] = receiver.at("/a")
    assert got.type == "media.ready" and got.webhook_id == f"evt_{ticket['id']}_ready" and got.verified_by
    assert got.payload["data"] == {
        "media_id": ticket["id"],
        "status": "ready",
        "kind": "image",
        "reason": None,
        "reason_code": None,
    }


def test_the_catalog_is_in_the_openapi_document(api):
    from chalicelib.domain.events import EVENT_TYPES

    document = api.get("/v1/openapi.json").json
    assert list(document["webhooks"]) == list(EVENT_TYPES)
    published = document["webhooks"]["post.published"]["post"]
    schema = published["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    data = document["components"]["schemas"][schema]["properties"]["data"]["$ref"].rsplit("/", 1)[1]
    target = document["components"]["schemas"]["TargetOutcome"]["properties"]
    assert data == "PostOutcome" and {"status", "platform_post_url", "error"} <= set(target)
    assert {p["name"] for p in published["parameters"]} == {"webhook-id", "webhook-timestamp", "webhook-signature"}


def test_a_delivery_in_the_dead_letter_queue_is_marked_failed_and_retried_by_hand(
    api, key, hooks, workspace, runtime, receiver, clock, aws, instant_queue
):
    """A delivery message whose handling kept failing reaches the events queue's dead-letter queue
    (SQS moves it after maxReceiveCount); the reconciler's tick marks the delivery failed with the
    reason, and a retry by hand sends it (same webhook-id)."""
    import boto3

    created = register(api, key, receiver, "/a")
    receiver.script("/a", 503)
    emit(hooks, workspace, "evt_dead")
    runtime.deliver("events")  # fan-out
    runtime.deliver("events")  # the first attempt: 503, the next one queued
    [message] = runtime.receive("events")
    boto3.client("sqs", region_name=aws.region).send_message(
        QueueUrl=aws.dlq_urls["events"], MessageBody=message["Body"]
    )
    runtime.tick("reconciler", clock.now())
    [item] = deliveries(api, key, created["id"])["data"]
    assert item["status"] == "failed" and item["history"][-1]["error_code"] == "gave_up"
    assert api.post(f"/v1/webhooks/{created['id']}/deliveries/{item['id']}/retry", key).status == 202
    runtime.time_passes("events")
    settle(runtime)
    assert [got.webhook_id for got in receiver.at("/a")] == ["evt_dead", "evt_dead"]
    assert deliveries(api, key, created["id"])["data"][0]["status"] == "succeeded"


def test_a_delivery_whose_message_was_lost_can_be_retried_by_hand(
    api, key, hooks, workspace, runtime, receiver, clock, instant_queue
):
    created = register(api, key, receiver, "/a")
    receiver.script("/a", 503)
    emit(hooks, workspace, "evt_lost")
    runtime.deliver("events")
    runtime.deliver("events")
    assert len(runtime.receive("events")) == 1  # the retry's message, lost (received, never handled)
    [item] = deliveries(api, key, created["id"])["data"]
    retry = f"/v1/webhooks/{created['id']}/deliveries/{item['id']}/retry"
    problem(api.post(retry, key), 409, "delivery_in_progress")  # its retry is still due
    clock.advance(hours=1)
    assert api.post(retry, key).status == 202
    settle(runtime)
    assert deliveries(api, key, created["id"])["data"][0]["status"] == "succeeded"

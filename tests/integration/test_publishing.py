"""The publishing engine under the faults its users fear: each test injects one and checks what the
platform (the sandbox, which keeps what it was sent) saw. Messages go through moto's queues to the
very handler Lambda runs."""

from __future__ import annotations

import copy
import time

import pytest

from chalicelib.clock import format_timestamp
from chalicelib.data.integrations import IntegrationStore
from chalicelib.data.posts import PostStore
from chalicelib.data.queues import PUBLISH_MAX_RECEIVES
from chalicelib.data.sandbox import SandboxStore
from chalicelib.domain.dispatching import Dispatcher
from chalicelib.domain.publishing import LEASE, MAX_ATTEMPTS, MAX_RATE_LIMIT_WAITS, RetryLaterError, TargetPublisher
from chalicelib.domain.reconciling import STUCK_AFTER
from chalicelib.platforms import adapter_for
from tests.integration.conftest import publish_directly

SOON = "2026-05-01T12:02:00Z"  # the test clock stands at 12:00:00


class WorkerDied(BaseException):
    """The process ends here: no handler, no batch report, the message stays in flight."""


@pytest.fixture
def key(workspace):
    return workspace.test_key


def integration_of(services, workspace, platform):
    return next(i for i in IntegrationStore().list(workspace.workspace.id, "test") if i.platform == platform)


def platform_saw(services, workspace, platform):
    return SandboxStore().posts(integration_of(services, workspace, platform).id)


def create(api, key, **fields):
    answer = api.post("/v1/posts", key, {"content": "Hello", "platforms": ["twitter"], **fields})
    assert answer.status == 201, answer
    return answer.json["data"]["id"]


def publish_now(api, key, **fields):
    post_id = create(api, key, **fields)
    assert api.post(f"/v1/posts/{post_id}/publish", key).status == 202
    return post_id


def read(api, key, post_id):
    return api.get(f"/v1/posts/{post_id}", key).json["data"]


def crash_after_the_platform_accepts(services, clock):
    """A publisher whose worker dies right after the platform accepted a part, before recording it."""

    def adapters(integration):
        adapter = adapter_for(integration)
        real_publish = adapter.publish

        def publish(part):
            real_publish(part)
            raise WorkerDied()

        adapter.publish = publish
        return adapter

    services.__dict__["publisher"] = TargetPublisher(PostStore(), IntegrationStore(), services.events, clock, adapters)


def restore_publisher(services):
    services.__dict__.pop("publisher", None)


def a_worker_dies_after_the_platform_accepts(runtime, services, clock, messages=None):
    crash_after_the_platform_accepts(services, clock)
    with pytest.raises(WorkerDied):
        runtime.deliver(messages=messages)
    restore_publisher(services)


def the_lease_runs_out_and_the_message_comes_back(runtime, clock):
    clock.advance(seconds=LEASE.total_seconds() + 1)
    runtime.time_passes()


# --- the happy path ----------------------------------------------------------------------------
def test_publish_now_reaches_every_platform_once(api, key, runtime, services, workspace, clock):
    post_id = publish_now(api, key, platforms=["twitter", "bluesky"], content="Hello there")
    runtime.drain()
    post = read(api, key, post_id)
    # The sandbox's pretend latency passes on the deployment's clock: one wait per target.
    assert len(clock.slept) == 2 and all(0.02 <= seconds <= 0.08 for seconds in clock.slept)
    assert post["status"] == "published" and post["published_at"] == format_timestamp(clock.now())
    for target in post["post_targets"]:
        assert target["status"] == "published" and target["platform_post_url"].startswith("https://")
        assert target["platform_post_id"] and target["error"] is None
    assert {k: v["success"] for k, v in post["platform_results"].items()} == {"twitter": True, "bluesky": True}
    for platform in ("twitter", "bluesky"):
        assert [p["text"] for p in platform_saw(services, workspace, platform)] == ["Hello there"]
    events = runtime.events()
    assert [e["type"] for e in events] == ["post.published"]
    assert events[0]["id"] == f"evt_{post_id}_published" and len(events[0]["data"]["targets"]) == 2


def test_threads_go_out_as_a_native_chain_or_numbered(api, key, runtime, services, workspace):
    publish_now(
        api, key, platforms=["bluesky", "linkedin"], content="One", segments=[{"content": "Two"}, {"content": "Three"}]
    )
    runtime.drain()
    chain = platform_saw(services, workspace, "bluesky")
    assert [p["text"] for p in chain] == ["One", "Two", "Three"]
    assert chain[0]["reply_to"] is None and chain[1]["reply_to"] == chain[0]["id"]
    assert chain[2]["reply_to"] == chain[1]["id"] and chain[2]["root"] == chain[0]["id"]
    numbered = platform_saw(services, workspace, "linkedin")
    assert [p["text"] for p in numbered] == ["One (1/3)", "Two (2/3)", "Three (3/3)"]


# --- never twice ---------------------------------------------------------------------------------
def test_worker_dies_after_an_idempotent_platform_accepted(api, key, runtime, services, workspace, clock):
    post_id = publish_now(api, key, platforms=["bluesky"])
    a_worker_dies_after_the_platform_accepts(runtime, services, clock)
    the_lease_runs_out_and_the_message_comes_back(runtime, clock)
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published"
    assert len(platform_saw(services, workspace, "bluesky")) == 1  # sent again, recognised, not doubled


def test_worker_dies_after_x_accepted_is_never_retried_blindly(api, key, runtime, services, workspace, clock):
    post_id = publish_now(api, key, platforms=["twitter"])
    a_worker_dies_after_the_platform_accepts(runtime, services, clock)
    the_lease_runs_out_and_the_message_comes_back(runtime, clock)
    runtime.drain()
    post = read(api, key, post_id)
    assert post["status"] == "failed"
    assert post["post_targets"][0]["error"]["code"] == "outcome_unknown"
    assert len(platform_saw(services, workspace, "twitter")) == 1  # no second call
    (event,) = runtime.events()
    assert event["type"] == "post.failed" and event["data"]["targets"][0]["error"]["code"] == "outcome_unknown"


def test_timeout_after_x_accepted_is_outcome_unknown(api, key, runtime, services, workspace):
    post_id = publish_now(api, key, content="[sandbox:timeout-after-accept] Hello")
    runtime.drain()
    assert read(api, key, post_id)["post_targets"][0]["error"]["code"] == "outcome_unknown"
    assert len(platform_saw(services, workspace, "twitter")) == 1


def test_timeout_after_mastodon_accepted_is_retried_and_recognised(api, key, runtime, services, workspace):
    post_id = publish_now(api, key, platforms=["mastodon"], content="[sandbox:timeout-after-accept x1] Hello")
    runtime.deliver()
    runtime.time_passes()
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published"
    assert len(platform_saw(services, workspace, "mastodon")) == 1


def test_the_same_message_delivered_twice(api, key, runtime, services, workspace):
    post_id = publish_now(api, key, platforms=["twitter"])
    (message,) = runtime.receive()
    runtime.sqs.send_message(QueueUrl=runtime.queues["publish"], MessageBody=message["Body"])  # SQS's duplicate
    runtime.deliver(messages=[message])
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published"
    assert len(platform_saw(services, workspace, "twitter")) == 1
    assert len(runtime.events()) == 1


def test_a_duplicate_while_the_first_is_still_working_waits(api, key, runtime, services, workspace, clock):
    publish_now(api, key, platforms=["twitter"])
    (message,) = runtime.receive()
    a_worker_dies_after_the_platform_accepts(runtime, services, clock, [message])  # its lease still holds
    runtime.sqs.send_message(QueueUrl=runtime.queues["publish"], MessageBody=message["Body"])
    response = runtime.deliver()
    assert len(response["batchItemFailures"]) == 1  # held by a live lease: try later
    assert len(platform_saw(services, workspace, "twitter")) == 1


def test_two_ticks_overlapping(api, key, runtime, services, workspace, clock):
    post_id = create(api, key, platforms=["twitter", "bluesky"], schedule_at=SOON)
    clock.advance(seconds=120)  # due now (SQS delays are real seconds)
    stale = PostStore().get(f"{workspace.workspace.id}#test", post_id)
    first, second = services.dispatcher, Dispatcher(PostStore(), services.publish_queue, clock)
    assert first.tick() == 1
    assert second.tick() == 0  # a second tick sees it armed
    assert second.dispatch(stale) is None  # and one that read it before loses the race
    assert len(runtime.peek()) == 2  # one message per target, not two
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published"
    for platform in ("twitter", "bluesky"):
        assert len(platform_saw(services, workspace, platform)) == 1


# --- never lost ----------------------------------------------------------------------------------
def test_500_then_success(api, key, runtime, services, workspace):
    post_id = publish_now(api, key, content="[sandbox:500x1] Hello")
    response = runtime.deliver()
    assert len(response["batchItemFailures"]) == 1
    target = read(api, key, post_id)["post_targets"][0]
    assert target["status"] == "publishing" and target["error"]["retrying"] is True
    runtime.time_passes()
    runtime.drain()
    post = read(api, key, post_id)
    assert post["status"] == "published" and post["post_targets"][0]["error"] is None
    assert [p["text"] for p in platform_saw(services, workspace, "twitter")] == ["Hello"]


def test_429_retry_after_is_honoured(api, key, runtime, services, workspace):
    """The engine asks to come back after exactly the platform's Retry-After, then succeeds."""
    post_id = publish_now(api, key, content="[sandbox:429:30x1] Hello")
    with pytest.raises(RetryLaterError) as later:
        publish_directly(services, runtime)
    assert later.value.seconds == 30
    runtime.drain()  # the next delivery: the 429 was once only
    assert read(api, key, post_id)["status"] == "published"
    assert len(platform_saw(services, workspace, "twitter")) == 1


def test_429_sets_the_message_visibility_to_retry_after(api, key, runtime, services, workspace):
    publish_now(api, key, content="[sandbox:429:1x1] Hello")
    runtime.deliver()
    assert runtime.receive() == []  # held back...
    time.sleep(1.6)
    assert len(runtime.receive()) == 1  # ...for the platform's 1 s, not the queue's 360 s


def test_permanent_rejection_fails_at_once(api, key, runtime, services, workspace):
    post_id = publish_now(
        api, key, platforms=["twitter", "bluesky"], platform_overrides={"bluesky": "[sandbox:reject] Hi"}
    )
    runtime.drain()
    post = read(api, key, post_id)
    assert post["status"] == "published"  # at least one target succeeded
    results = post["platform_results"]
    assert results["twitter"]["success"] is True
    assert results["bluesky"]["success"] is False and results["bluesky"]["error"]
    failed = next(t for t in post["post_targets"] if t["integrations"]["platform"] == "bluesky")
    assert failed["error"]["code"] == "platform_rejected"


def test_retries_stop_at_the_limit(api, key, runtime, services, workspace):
    post_id = publish_now(api, key, content="[sandbox:500] Hello")
    for _ in range(MAX_ATTEMPTS):
        runtime.deliver()
        runtime.time_passes()
    post = read(api, key, post_id)
    assert post["status"] == "failed"
    error = post["post_targets"][0]["error"]
    assert error["code"] == "platform_unavailable" and f"after {MAX_ATTEMPTS} attempts" in error["message"]
    assert platform_saw(services, workspace, "twitter") == []
    assert runtime.receive() == []


def _deliver_after_the_wait(runtime):
    """The next delivery, after the wait: a message held back becomes visible now; one sent again
    as a new message (past the queue's receive budget) carries SQS's delay of the 1 s asked for."""
    runtime.time_passes()
    delivered = runtime.deliver()
    if delivered is None:
        time.sleep(1.2)
        delivered = runtime.deliver()
    return delivered


def test_rate_limit_waits_do_not_use_up_the_attempts(api, key, runtime, services, workspace):
    """A burst of an account's posts meets its platform window again and again: each refusal is a
    wait, not a failed try, so the post still goes out after more waits than MAX_ATTEMPTS, and more
    than the queue's receives of one message (the dead-letter queue would have settled it failed)."""
    waits = PUBLISH_MAX_RECEIVES + 3
    post_id = publish_now(api, key, content=f"[sandbox:429:1x{waits}] Hello")
    runtime.deliver()
    for _ in range(waits):
        assert read(api, key, post_id)["post_targets"][0]["error"]["code"] == "rate_limited"
        _deliver_after_the_wait(runtime)
    post = read(api, key, post_id)
    assert post["status"] == "published" and post["post_targets"][0]["error"] is None
    assert [p["text"] for p in platform_saw(services, workspace, "twitter")] == ["Hello"]
    assert runtime.receive("publish-dlq") == []


def test_a_rate_limit_that_never_lifts_fails_the_target_after_its_waits(api, key, runtime, services, workspace):
    post_id = publish_now(api, key, content="[sandbox:429:1] Hello")
    runtime.deliver()
    for _ in range(MAX_RATE_LIMIT_WAITS):
        _deliver_after_the_wait(runtime)
    post = read(api, key, post_id)
    assert post["status"] == "failed"
    error = post["post_targets"][0]["error"]
    assert error["code"] == "rate_limited" and f"after {MAX_RATE_LIMIT_WAITS} waits" in error["message"]
    assert platform_saw(services, workspace, "twitter") == []
    runtime.time_passes()
    assert runtime.receive() == [] and runtime.receive("publish-dlq") == []


def test_a_rate_limit_after_failed_tries_leaves_the_failed_tries_counted(api, key, runtime, services, workspace):
    """Waits and failures are counted apart: five 500s and a 429 leave one attempt, and a 500 then fails."""
    post_id = publish_now(api, key, content=f"[sandbox:500x{MAX_ATTEMPTS - 1}] [sandbox:429:1x1] [sandbox:500] Hello")
    for _ in range(MAX_ATTEMPTS + 1):
        runtime.deliver()
        runtime.time_passes()
    error = read(api, key, post_id)["post_targets"][0]["error"]
    assert error["code"] == "platform_unavailable" and f"after {MAX_ATTEMPTS} attempts" in error["message"]
    assert runtime.receive() == []


def test_expired_credentials_fail_and_flag_the_integration(api, key, runtime, services, workspace):
    post_id = publish_now(api, key, content="[sandbox:auth] Hello")
    runtime.drain()
    assert read(api, key, post_id)["post_targets"][0]["error"]["code"] == "integration_needs_refresh"
    integration = integration_of(services, workspace, "twitter")
    assert IntegrationStore().get(workspace.workspace.id, "test", integration.id).status == "needs_refresh"


def test_a_sandbox_account_left_needing_a_refresh_is_reconnected_and_publishes_again(
    api, key, runtime, services, workspace
):
    publish_now(api, key, content="[sandbox:auth] Hello")
    runtime.drain()
    integration = integration_of(services, workspace, "twitter")
    assert api.get(f"/v1/integrations/{integration.id}", key).json["data"]["status"] == "needs_refresh"
    blocked = publish_now(api, key, content="Before the reconnect")
    runtime.drain()
    assert read(api, key, blocked)["post_targets"][0]["error"]["code"] == "integration_needs_refresh"
    answer = api.post(f"/v1/integrations/{integration.id}/reconnect", key)
    assert answer.status == 200 and answer.json["data"]["status"] == "active"
    after = publish_now(api, key, content="After the reconnect")
    runtime.drain()
    assert read(api, key, after)["status"] == "published"
    assert [p["text"] for p in platform_saw(services, workspace, "twitter")] == ["After the reconnect"]


def test_only_a_sandbox_account_reconnects_there(api, workspace, services, clock):
    from chalicelib.data.integrations import to_record
    from chalicelib.domain.records import Integration

    live = Integration(
        id="01900000-0000-7000-8000-00000000000a",
        workspace_id=workspace.workspace.id,
        mode="live",
        platform="mastodon",
        username="someone",
        display_name="Someone",
        status="needs_refresh",
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    to_record(live).save()
    answer = api.post(f"/v1/integrations/{live.id}/reconnect", workspace.live_key)
    assert answer.status == 422 and answer.json["code"] == "not_a_sandbox_account"
    assert api.post(f"/v1/integrations/{live.id}/reconnect", workspace.test_key).status == 404  # another mode


def test_a_disconnected_integration_fails_with_a_clear_error(api, key, runtime, services, workspace):
    post_id = publish_now(api, key)
    integration = integration_of(services, workspace, "twitter")
    IntegrationStore().set_status(workspace.workspace.id, "test", integration.id, "disconnected")
    runtime.drain()
    post = read(api, key, post_id)
    assert post["status"] == "failed"
    error = post["post_targets"][0]["error"]
    assert error["code"] == "integration_disconnected" and "reconnect" in error["message"].lower()
    assert platform_saw(services, workspace, "twitter") == []


def test_a_thread_that_fails_at_segment_3_resumes_at_3(api, key, runtime, services, workspace):
    post_id = publish_now(
        api,
        key,
        platforms=["bluesky"],
        content="Zero",
        segments=[{"content": "One"}, {"content": "Two"}, {"content": "[sandbox:500x1] Three"}],
    )
    runtime.deliver()
    target = read(api, key, post_id)["post_targets"][0]
    assert target["status"] == "publishing"
    assert [p["text"] for p in platform_saw(services, workspace, "bluesky")] == ["Zero", "One", "Two"]
    runtime.time_passes()
    runtime.drain()
    chain = platform_saw(services, workspace, "bluesky")
    assert [p["text"] for p in chain] == ["Zero", "One", "Two", "Three"]  # resumed at 3, nothing repeated
    assert chain[3]["reply_to"] == chain[2]["id"]
    assert read(api, key, post_id)["status"] == "published"


# --- races with the user -------------------------------------------------------------------------
def dispatched(api, key, services, clock, **fields):
    post_id = create(api, key, schedule_at=SOON, **fields)
    clock.advance(seconds=119.5)  # half a second before its time: a zero delay, then a short wait
    assert services.dispatcher.tick() == 1
    return post_id


def test_an_edit_racing_the_dispatch_goes_out_in_its_new_form(api, key, runtime, services, workspace, clock):
    post_id = dispatched(api, key, services, clock, content="Old words")
    assert api.request("PATCH", f"/v1/posts/{post_id}", key, body={"content": "New words"}).status == 200
    clock.advance(seconds=10)
    runtime.drain()
    assert [p["text"] for p in platform_saw(services, workspace, "twitter")] == ["New words"]
    assert read(api, key, post_id)["status"] == "published"


def test_a_reschedule_racing_the_dispatch_waits_for_the_new_time(api, key, runtime, services, workspace, clock):
    post_id = dispatched(api, key, services, clock)
    answer = api.request("PATCH", f"/v1/posts/{post_id}", key, body={"schedule_at": "2026-05-02T09:00:00Z"})
    assert answer.status == 200
    clock.advance(seconds=10)
    runtime.drain()
    assert platform_saw(services, workspace, "twitter") == []
    assert read(api, key, post_id)["status"] == "scheduled"


def test_a_cancel_racing_the_dispatch_publishes_nothing(api, key, runtime, services, workspace, clock):
    post_id = dispatched(api, key, services, clock)
    assert api.delete(f"/v1/posts/{post_id}", key).status == 204
    clock.advance(seconds=10)
    runtime.drain()
    assert platform_saw(services, workspace, "twitter") == []
    assert runtime.receive() == []


# --- the reconciler ------------------------------------------------------------------------------
def test_a_target_whose_worker_died_and_message_vanished_is_settled(api, key, runtime, services, workspace, clock):
    post_id = publish_now(api, key, platforms=["bluesky"])
    a_worker_dies_after_the_platform_accepts(runtime, services, clock)
    runtime.in_flight.clear()
    for message in runtime.sqs.receive_message(QueueUrl=runtime.queues["publish"]).get("Messages", []):
        runtime.sqs.delete_message(QueueUrl=runtime.queues["publish"], ReceiptHandle=message["ReceiptHandle"])
    clock.advance(seconds=(STUCK_AFTER + LEASE).total_seconds())
    assert runtime.tick("reconciler", clock.now())["requeued"] == 1
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published"
    assert len(platform_saw(services, workspace, "bluesky")) == 1


def test_dead_letters_are_settled_with_a_reason(api, key, runtime, services, workspace):
    post_id = publish_now(api, key)
    (message,) = runtime.receive()
    runtime.sqs.send_message(QueueUrl=runtime.dead_letters["publish"], MessageBody=message["Body"])
    runtime.sqs.delete_message(QueueUrl=runtime.queues["publish"], ReceiptHandle=message["ReceiptHandle"])
    assert runtime.tick("reconciler", services.clock.now())["dead_letters"] == 1
    post = read(api, key, post_id)
    assert post["status"] == "failed" and post["post_targets"][0]["error"]["code"] == "delivery_failed"
    assert runtime.receive("publish-dlq") == []
    assert [e["type"] for e in runtime.events()] == ["post.failed"]


def a_worker_dies_mid_publish_and_its_message_is_dead_lettered(runtime, services, clock):
    """The platform accepted the part, the worker died before writing it down, and the message then
    went to the dead-letter queue (as after too many deliveries) instead of coming back."""
    (message,) = runtime.peek()
    a_worker_dies_after_the_platform_accepts(runtime, services, clock)
    runtime.sqs.send_message(QueueUrl=runtime.dead_letters["publish"], MessageBody=message["Body"])
    for handle in runtime.in_flight.pop("publish"):
        runtime.sqs.delete_message(QueueUrl=runtime.queues["publish"], ReceiptHandle=handle)


def test_a_dead_letter_with_a_part_in_flight_fails_its_target_as_outcome_unknown(
    api, key, runtime, services, workspace, clock
):
    post_id = publish_now(api, key, platforms=["twitter"])
    a_worker_dies_mid_publish_and_its_message_is_dead_lettered(runtime, services, clock)
    clock.advance(seconds=LEASE.total_seconds() + 1)  # the dead worker's lease ran out
    assert runtime.tick("reconciler", clock.now())["dead_letters"] == 1
    post = read(api, key, post_id)
    target = post["post_targets"][0]
    # X may hold the part and offers no way to check: the user is told so, not "delivery failed".
    assert (post["status"], target["error"]["code"]) == ("failed", "outcome_unknown")
    assert len(platform_saw(services, workspace, "twitter")) == 1
    assert [e["type"] for e in runtime.events()] == ["post.failed"]


def test_a_dead_letter_on_a_platform_that_recognises_repeats_fails_as_delivery_failed(
    api, key, runtime, services, workspace, clock
):
    post_id = publish_now(api, key, platforms=["bluesky"])
    a_worker_dies_mid_publish_and_its_message_is_dead_lettered(runtime, services, clock)
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert runtime.tick("reconciler", clock.now())["dead_letters"] == 1
    target = read(api, key, post_id)["post_targets"][0]
    assert (target["status"], target["error"]["code"]) == ("failed", "delivery_failed")


def test_a_dead_letter_leaves_a_target_a_live_worker_holds_to_that_worker(
    api, key, runtime, services, workspace, clock
):
    post_id = publish_now(api, key, platforms=["twitter"])
    a_worker_dies_mid_publish_and_its_message_is_dead_lettered(runtime, services, clock)
    # The lease still runs: as far as anyone can tell, a worker is sending the part right now.
    assert runtime.tick("reconciler", clock.now())["dead_letters"] == 1
    assert read(api, key, post_id)["status"] == "publishing"
    assert runtime.receive("publish-dlq") == []
    # It was not: once its lease ran out, the reconciler queues the target again, and the worker
    # that takes it over finds the part in flight.
    clock.advance(seconds=(STUCK_AFTER + LEASE).total_seconds())
    assert runtime.tick("reconciler", clock.now())["requeued"] == 1
    runtime.drain()
    target = read(api, key, post_id)["post_targets"][0]
    assert (target["status"], target["error"]["code"]) == ("failed", "outcome_unknown")
    assert len(platform_saw(services, workspace, "twitter")) == 1


def test_a_dead_letter_of_a_post_finished_but_never_announced_sends_its_event(
    api, key, runtime, services, workspace, clock
):
    post_id = publish_now(api, key, platforms=["bluesky"])
    (message,) = runtime.peek()
    runtime.drain()
    assert [e["type"] for e in runtime.events()] == ["post.published"]
    # As if the worker had died between the finishing write and the event (the mark is written
    # after the event is sent), and its message had then gone to the dead-letter queue.
    store = PostStore()
    published = store.get(f"{workspace.workspace.id}#test", post_id)
    unannounced = copy.deepcopy(published)
    unannounced.notified = None
    store.replace(published, unannounced)
    runtime.sqs.send_message(QueueUrl=runtime.dead_letters["publish"], MessageBody=message["Body"])
    assert runtime.tick("reconciler", clock.now())["dead_letters"] == 1
    assert [e["type"] for e in runtime.events()] == ["post.published"]
    assert read(api, key, post_id)["status"] == "published"


# --- nothing stays scheduled ---------------------------------------------------------------------
def test_a_post_whose_dispatcher_was_down_goes_out_at_the_next_tick(api, key, runtime, services, workspace, clock):
    post_id = create(api, key, schedule_at=SOON)
    clock.advance(minutes=30)  # no tick ran for half an hour
    assert runtime.tick("dispatcher", clock.now())["queued"] == 1
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published"
    assert len(platform_saw(services, workspace, "twitter")) == 1


def test_a_dispatched_post_whose_messages_were_lost_is_dispatched_again(api, key, runtime, services, workspace, clock):
    post_id = dispatched(api, key, services, clock)
    for message in runtime.receive():  # lost: as if the send never happened
        runtime.sqs.delete_message(QueueUrl=runtime.queues["publish"], ReceiptHandle=message["ReceiptHandle"])
    clock.advance(seconds=60)
    assert runtime.tick("dispatcher", clock.now())["queued"] == 0  # too early to call it lost
    clock.advance(minutes=2)
    assert runtime.tick("dispatcher", clock.now())["queued"] == 1
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published"
    assert len(platform_saw(services, workspace, "twitter")) == 1


def test_a_live_target_on_a_pending_platform_fails_with_platform_not_available(
    api, runtime, services, workspace, clock
):
    from chalicelib.data.integrations import to_record
    from chalicelib.domain.records import Integration

    now = clock.now()
    to_record(
        Integration(
            id="0196a0c4-4444-7000-8000-000000000004",
            workspace_id=workspace.workspace.id,
            mode="live",
            platform="linkedin",
            username="acme",
            display_name="Acme",
            status="active",
            created_at=now,
            updated_at=now,
        )
    ).save()
    post_id = publish_now(
        api, workspace.live_key, platforms=["linkedin"], content="Hello LinkedIn", segments=[{"content": "More"}]
    )
    runtime.drain()
    post = read(api, workspace.live_key, post_id)
    assert post["status"] == "failed"
    assert post["post_targets"][0]["error"]["code"] == "platform_not_available"


def test_media_an_adapter_cannot_publish_fails_the_target_before_any_part_goes_out(api, runtime, workspace, clock):
    """Checked up front: refusing only at the part with media would leave half a thread published.
    The API refuses such a post at create (Bluesky takes no video from us); a post stored under other
    rules must still never go out in part."""
    import copy

    from chalicelib.data.integrations import to_record
    from chalicelib.data.media import MediaStore
    from chalicelib.domain.media import Media
    from chalicelib.domain.records import Integration

    now = clock.now()
    to_record(
        Integration(
            id="0196a0c4-5555-7000-8000-000000000005",
            workspace_id=workspace.workspace.id,
            mode="live",
            platform="bluesky",
            username="acme.bsky.social",
            display_name="Acme",
            status="active",
            created_at=now,
            updated_at=now,
        )
    ).save()
    post_id = create(
        api,
        workspace.live_key,
        platforms=["bluesky"],
        content="One",
        schedule_at=SOON,
        segments=[{"content": "Two"}, {"content": "Three"}],
    )
    video = Media(
        id="0196a0c4-6666-7000-8000-000000000006",
        workspace_id=workspace.workspace.id,
        mode="live",
        status="ready",
        kind="video",
        content_type="video/mp4",
        filename="clip.mp4",
        declared_size=1000,
        size=1000,
        object_key="media/clip",
        created_at=now,
        updated_at=now,
    )
    MediaStore().create(video, expires_at=None)
    store = PostStore()
    before = store.get(f"{workspace.workspace.id}#live", post_id)
    after = copy.deepcopy(before)
    after.attachments = [[], [], [video.attachment()]]
    store.replace(before, after)
    clock.advance(minutes=2)
    runtime.tick("dispatcher", clock.now())
    runtime.drain()  # no Bluesky server exists here: any attempt to send would fail differently
    target = read(api, workspace.live_key, post_id)["post_targets"][0]
    assert target["status"] == "failed" and target["error"]["code"] == "media_not_supported"
    assert "videos" in target["error"]["message"] and "nothing was sent" in target["error"]["message"]
    assert target["platform_post_id"] is None


def test_an_upload_still_processing_is_handed_to_the_retry_and_forgotten_once_out(
    api, key, runtime, services, workspace, clock
):
    """An adapter keeps the platform's handle for a file still processing; the engine stores it on
    the target, gives it back to the next attempt at that part, and drops it once the part is out."""
    from chalicelib.platforms.base import TransientError as PlatformTransientError

    seen = []

    def adapters(integration):
        adapter = adapter_for(integration)
        real_publish = adapter.publish

        def publish(part):
            seen.append(dict(part.uploads))
            if not part.uploads:
                part.keep("file-1", {"media_id": "platform-77"})
                raise PlatformTransientError("still processing", code="media_still_processing")
            return real_publish(part)

        adapter.publish = publish
        return adapter

    services.__dict__["publisher"] = TargetPublisher(PostStore(), IntegrationStore(), services.events, clock, adapters)
    try:
        post_id = publish_now(api, key, content="A long clip")
        runtime.deliver()
        (target,) = PostStore().get(f"{workspace.workspace.id}#test", post_id).targets
        assert target.uploads == {"0": {"file-1": {"media_id": "platform-77"}}} and target.status == "publishing"
        clock.advance(seconds=60)
        runtime.time_passes()
        runtime.drain()
    finally:
        restore_publisher(services)
    assert seen == [{}, {"file-1": {"media_id": "platform-77"}}]
    (target,) = PostStore().get(f"{workspace.workspace.id}#test", post_id).targets
    assert target.status == "published" and target.uploads == {}

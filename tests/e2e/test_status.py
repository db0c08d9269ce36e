"""`tools.admin status` against the local stack: a worker killed while publishing leaves a post stuck
in publishing, the status screen shows it, and after the reconciler runs it is settled."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time

import pytest
import requests

from chalicelib.clock import ManualClock, SystemClock
from chalicelib.container import Services
from chalicelib.data.integrations import IntegrationStore
from chalicelib.data.posts import PostStore
from chalicelib.domain.publishing import TargetPublisher
from chalicelib.domain.reconciling import STUCK_AFTER
from chalicelib.ids import uuid7
from chalicelib.platforms import adapter_for
from chalicelib.settings import Settings
from tools import admin

pytestmark = pytest.mark.e2e


class WorkerDied(BaseException):
    """The process ends here: nothing after the platform's answer is recorded."""


def local_services(stack) -> Services:
    """What a function of the local stack is given: its tables and queues in the stack's moto."""
    state = stack.state
    queues = {name.replace("-", "_"): url for name, url in state["queue_urls"].items()}
    queues.update({f"{name}_dlq": url for name, url in state["dead_letter_queue_urls"].items()})
    settings = Settings(
        region=state["region"],
        resource_prefix=state["resource_prefix"],
        aws_endpoint_url=state["aws_endpoint_url"],
        queue_urls=queues,
    )
    return Services(settings, clock=SystemClock())


def status(stack) -> list[str]:
    state = stack.state
    arguments = ["status", "--prefix", state["resource_prefix"], "--region", state["region"]]
    arguments += ["--endpoint-url", state["aws_endpoint_url"], "--json"]
    return arguments


def read_status(stack, capsys) -> dict:
    capsys.readouterr()
    assert admin.main(status(stack)) == 0
    return json.loads(capsys.readouterr().out)


def a_worker_died_publishing(services, scope: str, post_id: str, minutes_ago: float) -> None:
    """The post is published by hand and its worker dies right after the platform accepted the first
    part, ``minutes_ago`` (its lease long run out); the message it held is still in flight."""
    then = ManualClock(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago))
    posts = PostStore()
    before = posts.get(scope, post_id)
    armed = copy.deepcopy(before)
    armed.status, armed.dispatch_id, armed.updated_at = "publishing", uuid7(then), then.now()
    for target in armed.targets:
        target.status, target.error = "pending", None
    posts.replace(before, armed)

    def adapters(integration):
        adapter = adapter_for(integration)
        real_publish = adapter.publish

        def publish(part):
            real_publish(part)
            raise WorkerDied()

        adapter.publish = publish
        return adapter

    dying = TargetPublisher(posts, IntegrationStore(), None, then, adapters)
    with pytest.raises(WorkerDied):
        dying.publish(
            armed.workspace_id, armed.mode, armed.id, armed.targets[0].id, armed.dispatch_id, time_left=lambda: 55.0
        )


def test_status_shows_a_post_stuck_publishing_until_the_reconciler_settles_it(stack, capsys):
    headers = {"Authorization": f"Bearer {stack.state['test_key']}"}
    created = requests.post(
        f"{stack.base_url}/v1/posts",
        json={"content": "Stuck, then settled", "platforms": ["bluesky"]},
        headers=headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    post_id = created.json()["data"]["id"]
    services = local_services(stack)
    scope = f"{stack.state['workspace_id']}#test"

    a_worker_died_publishing(services, scope, post_id, minutes_ago=STUCK_AFTER.total_seconds() / 60 + 1)

    found = read_status(stack, capsys)
    (stuck,) = [p for p in found["stuck_publishing"] if p["post_id"] == post_id]
    assert stuck["targets"][0]["platform"] == "bluesky" and stuck["targets"][0]["in_flight_part"] == 0
    assert {q["name"] for q in found["queues"]} >= {"publish", "events", "analytics", "media"}
    assert admin.main(status(stack)[:-1]) == 0  # the screen, as an operator reads it
    assert post_id in capsys.readouterr().out

    assert services.reconciler.run()["requeued"] == 1  # what the schedule runs every five minutes

    deadline = time.monotonic() + 30
    while True:
        post = requests.get(f"{stack.base_url}/v1/posts/{post_id}", headers=headers, timeout=10).json()["data"]
        if post["status"] == "published" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert post["status"] == "published", post
    assert not [p for p in read_status(stack, capsys)["stuck_publishing"] if p["post_id"] == post_id]


def test_the_local_stack_logs_each_flush_of_the_metrics(stack):
    """With metrics off (the local stack's default), a flush is one log line with the same names."""
    record = stack.wait_for_log("metrics")
    groups = record["metrics"]
    assert {value["name"] for group in groups for value in group["values"]} >= {
        "StuckTargetsRequeued",
        "PublishDeadLettersSettled",
    }

"""Webhook delivery in the local stack: how long from an event's creation to its arrival, and what
each delivery costs in DynamoDB and SQS calls.

The stack runs in this process (tools.devstack.LocalStack, as `make run` starts it), with its
pollers and the real webhooks worker. Three endpoints are registered over HTTP on a loopback
receiver: two answer 200, one answers 500 every time (so its retries run beside the healthy
deliveries). Events are put on the events queue the way the engine puts them there
(EventQueue.send), at a steady rate, each subscribed by all three endpoints.

Figures: p50/p99/max from each event's ``created_at`` to its arrival at the healthy receivers
(target: p99 at most 1 s), and the DynamoDB calls on the webhook tables and the SQS calls on the
events queue, per delivery attempt (counted with botocore events on the clients the stack uses;
a poll that found nothing is not counted).

    .venv/bin/python bench/webhooks.py [--events 500] [--rate 5] [--json]

It prints figures and exits 0 once it has them: a missed target is news, not a crash.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tools.emulated_aws import use_fake_credentials  # noqa: E402

use_fake_credentials(os.environ)
os.environ.update(
    {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_TRACE_DISABLED": "true"}
)

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

import requests  # noqa: E402

from tests.e2e.stack import free_port  # noqa: E402
from tests.webhook_receiver import WebhookReceiver  # noqa: E402

TARGET_P99_SECONDS = 1.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


class CallCounter:
    """DynamoDB calls on the webhook tables and SQS calls on the events queue, by operation."""

    def __init__(self, tables: set[str], queue_url: str):
        self.tables, self.queue_url = tables, queue_url
        self.calls: Counter[str] = Counter()
        self.receives: list[tuple[float, float]] = []  # (when, seconds)
        self._lock = threading.Lock()

    def watch_dynamodb(self, client) -> None:
        client.meta.events.register("before-parameter-build.dynamodb", self._dynamodb)

    def watch_sqs(self, client) -> None:
        client.meta.events.register("before-parameter-build.sqs", self._sqs_sent)
        client.meta.events.register("after-call.sqs.ReceiveMessage", self._sqs_received)

    def time_receives(self, client) -> None:
        """How long each of the pollers' ReceiveMessage calls takes, by when it was made."""
        client.meta.events.register("before-call.sqs.ReceiveMessage", self._receive_started)
        client.meta.events.register("after-call.sqs.ReceiveMessage", self._receive_ended)

    def _receive_started(self, context, **_):
        context["bench_started"] = time.perf_counter()

    def _receive_ended(self, context, **_):
        if "bench_started" in context:
            with self._lock:
                self.receives.append((time.monotonic(), time.perf_counter() - context["bench_started"]))

    def _dynamodb(self, model, params, **_):
        if params.get("TableName") in self.tables:
            self._count(f"dynamodb {model.name}")

    def _sqs_sent(self, model, params, **_):
        if model.name != "ReceiveMessage" and params.get("QueueUrl") == self.queue_url:
            self._count(f"sqs {model.name}")

    def _sqs_received(self, parsed, **_):
        if parsed.get("Messages"):  # an idle poll is not counted; only the events pollers are watched
            self._count("sqs ReceiveMessage")

    def _count(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--rate", type=float, default=5.0, help="events per second")
    parser.add_argument("--failing-status", type=int, default=500, help="what the third endpoint answers")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)

    from tools.devstack import LocalStack

    stack = LocalStack(port=free_port(), state_file=None)
    state = stack.start()
    try:
        with WebhookReceiver() as receiver:
            figures = run(stack, state, receiver, args.events, args.rate, args.failing_status)
    finally:
        stack.stop()
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(report(figures))
    return 0


def run(stack, state, receiver, count: int, rate: float, failing_status: int = 500) -> dict:
    from chalicelib.container import services
    from chalicelib.data.models import TABLE_MODELS, WebhookDeliveryRecord, WebhookRecord
    from chalicelib.domain.events import event

    headers = {"Authorization": f"Bearer {state.test_key}"}
    for path in ("/healthy-1", "/healthy-2", "/failing"):
        answer = requests.post(
            f"{state.base_url}/v1/webhooks",
            json={"url": receiver.url(path), "events": ["*"]},
            headers=headers,
            timeout=10,
        )
        answer.raise_for_status()
    receiver.script("/failing", always=failing_status)

    built = services()
    counter = CallCounter(
        {WebhookRecord.Meta.table_name, WebhookDeliveryRecord.Meta.table_name}, state.queue_urls["events"]
    )
    for model in TABLE_MODELS:
        counter.watch_dynamodb(model._get_connection().connection.client)
    counter.watch_sqs(built.events.client)
    for thread in stack._threads:  # the events queue's pollers: receives and deletes
        if getattr(getattr(thread, "spec", None), "name", None) == "events":
            counter.watch_sqs(thread._sqs)
            counter.time_receives(thread._sqs)

    created: dict[str, float] = {}
    started = time.monotonic()
    for number in range(count):
        due = started + number / rate
        time.sleep(max(0.0, due - time.monotonic()))
        now = dt.datetime.now(dt.UTC)
        event_id = f"evt_bench_{number}"
        built.events.send(
            event(
                event_id,
                "integration.disconnected",
                now,
                state.workspace_id,
                "test",
                {"integration_id": f"i{number}", "platform": "mastodon", "username": "bench"},
            )
        )
        created[event_id] = now.timestamp()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if all(len({r.webhook_id for r in receiver.at(p)}) >= count for p in ("/healthy-1", "/healthy-2")):
            break
        time.sleep(0.2)
    time.sleep(1.0)  # let the last records and deletes land before the counts are read

    latencies = [
        item.arrived - created[item.webhook_id]
        for path in ("/healthy-1", "/healthy-2")
        for item in receiver.at(path)
        if item.webhook_id in created
    ]
    by_fifth = [[] for _ in range(5)]
    for path in ("/healthy-1", "/healthy-2"):
        for item in receiver.at(path):
            if item.webhook_id in created:
                fifth = min(4, int(item.webhook_id.rsplit("_", 1)[1]) * 5 // count)
                by_fifth[fifth].append(item.arrived - created[item.webhook_id])
    attempts = len(receiver.received)
    span = max(1e-9, count / rate)
    receive_ms = [[] for _ in range(5)]
    for when, seconds in counter.receives:
        if started <= when < started + span:
            receive_ms[min(4, int((when - started) * 5 / span))].append(seconds * 1000)
    calls = dict(sorted(counter.calls.items()))
    dynamodb = sum(v for k, v in calls.items() if k.startswith("dynamodb"))
    sqs = sum(v for k, v in calls.items() if k.startswith("sqs"))
    return {
        "events": count,
        "rate_per_second": rate,
        "failing_status": failing_status,
        "healthy_arrivals": len(latencies),
        "healthy_expected": 2 * count,
        "failing_attempts": len(receiver.at("/failing")),
        "attempts": attempts,
        "latency_seconds": {
            "p50": round(percentile(latencies, 0.5), 3) if latencies else None,
            "p99": round(percentile(latencies, 0.99), 3) if latencies else None,
            "max": round(max(latencies), 3) if latencies else None,
        },
        "p99_by_fifth_of_the_run": [round(percentile(part, 0.99), 3) if part else None for part in by_fifth],
        "median_receive_ms_by_fifth": [round(sorted(part)[len(part) // 2], 1) if part else None for part in receive_ms],
        "target_p99_seconds": TARGET_P99_SECONDS,
        "calls": calls,
        "dynamodb_per_attempt": round(dynamodb / attempts, 2) if attempts else None,
        "sqs_per_attempt": round(sqs / attempts, 2) if attempts else None,
    }


def report(figures: dict) -> str:
    latency = figures["latency_seconds"]
    met = latency["p99"] is not None and latency["p99"] <= TARGET_P99_SECONDS
    lines = [
        f"{figures['events']} events at {figures['rate_per_second']:g}/s to 3 endpoints "
        f"(the third always answers {figures['failing_status']})",
        f"  healthy arrivals   {figures['healthy_arrivals']} of {figures['healthy_expected']}",
        f"  third endpoint     {figures['failing_attempts']} attempts (its retries run beside the healthy ones)",
        f"  creation->arrival  p50 {latency['p50']} s, p99 {latency['p99']} s, max {latency['max']} s "
        f"(target p99 <= {TARGET_P99_SECONDS:g} s: {'met' if met else 'MISSED'})",
        f"  p99 by fifth       {figures['p99_by_fifth_of_the_run']} (s, in the order the events were made)",
        f"  ReceiveMessage     median {figures['median_receive_ms_by_fifth']} ms by fifth of the run (moto)",
        f"  per attempt        {figures['dynamodb_per_attempt']} DynamoDB calls, "
        f"{figures['sqs_per_attempt']} SQS calls ({figures['attempts']} attempts)",
        "  calls              " + ", ".join(f"{name} {count}" for name, count in figures["calls"].items()),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

"""How many post targets a second the local stack publishes, next to the bare AWS calls it makes.

The stack is ``tools.devstack.LocalStack``, started in this process rather than as ``make run``
starts it: that is what lets every AWS call its threads make be recorded, through botocore events
registered on each botocore session as it is created (PynamoDB, our clients and the queue poller all
make theirs through ``botocore.session.get_session``). It also keeps the comparison fair: moto's
server lives in the stack's process, so the stack and the bare loop below both share one interpreter
with it.

N test-mode drafts (``--posts``, default 100) with two sandbox targets each (X and Bluesky; with
``--targets 1``, X alone: the issue's unit, a single-part target) are created over HTTP, then
published now, one ``POST /v1/posts/{id}/publish`` after another. Timed: from the first publish
request to the last target's ``published_at``. That covers the API's requests and the publisher,
which the stack runs one handler call at a time (one lock for every handler, the HTTP API's
included), fed by one queue poller thread.

The bare loop then replays, from one thread with plain boto3 clients, the very requests the stack
sent to moto in that window, in the order it sent them and with the same parameters, against copies
of the tables (holding the items they held when the window opened) and of the queues. Only what
cannot be replayed as recorded is changed: receipt handles come from the replay's own receives, and
receives do not long-poll. What is left is the AWS calls alone: no HTTP API, no Lambda stand-in, no
models, no sandbox latency.

    .venv/bin/python bench/throughput.py [--posts 100] [--targets 2] [--json]

Beside the total, it prints the publisher's own calls per target (message to event, with its shares
of the batch's receive and delete; idle empty receives left out): the figure docs/data-model.md
lists call by call.

It takes about a minute and a half for 100 posts. This prints figures and always exits 0 once it has them.
"""

from __future__ import annotations

import os
import sys

# Before anything imports boto3 or Powertools: fake credentials, so nothing can reach real AWS, and
# handlers that log only warnings (the stack shares this process, and so its standard output).
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tools.emulated_aws import use_fake_credentials  # noqa: E402

use_fake_credentials(os.environ)
os.environ.update(
    {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true"}
)
os.environ.pop("OPENPOST_PUBLIC_BASE_URL", None)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import copy  # noqa: E402
import datetime as dt  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter, deque  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import boto3  # noqa: E402
import botocore.session  # noqa: E402
import requests  # noqa: E402
from botocore import xform_name  # noqa: E402
from budgets import lift_rate_limits  # noqa: E402,F401  (bench/; cost.py uses it from here too)

from tools.devstack import LocalStack  # noqa: E402

PLATFORMS = ["twitter", "bluesky"]
DRAIN_TIMEOUT = 120  # seconds to wait for the queue to empty once every publish request is in
SANDBOX_MEAN_LATENCY = 0.05  # the sandbox waits 20-80 ms per call (chalicelib/platforms/sandbox.py)
BARE_PREFIX = "bare-"


def note(message: str) -> None:
    # The stack's own output is redirected while it runs; progress goes to the terminal.
    print(message, file=sys.__stderr__, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def role(thread_name: str) -> str:
    """Who made a call, by the thread it came from: the devstack names its pollers (``queue-<name>``,
    the consumer running in its poller's thread) and schedules; the publisher runs a batch's records
    on threads of its own; the HTTP API answers on Chalice's per-connection threads."""
    if thread_name.startswith(("queue-publish", "publish-record")):
        return "publisher"
    if thread_name.startswith("queue-"):
        return f"{thread_name.split('-')[1]} queue's consumer"  # webhooks (events), analytics, media
    if thread_name.startswith("schedule-"):
        return "schedule"
    if thread_name == "MainThread":
        return "bench"
    return "api"


# --- recording every AWS call the stack makes --------------------------------------------------


@dataclass
class Call:
    started: float
    role: str
    service: str
    operation: str
    params: dict[str, Any]
    messages: int | None = None  # for ReceiveMessage: how many came back
    seconds: float | None = None  # from the parameters' arrival to the parsed answer


@dataclass
class Recorder:
    """Registers on every botocore session made after ``install``; records while ``recording``."""

    recording: bool = False
    calls: list[Call] = field(default_factory=list)
    plain_session: Any = None  # botocore's own get_session, for the bare loop (never recorded)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self) -> None:
        original = botocore.session.get_session

        def get_session(*args, **kwargs):
            session = original(*args, **kwargs)
            # Clients copy their session's handlers when they are made: registering at the
            # session's birth reaches every client made from it.
            session.register("provide-client-params", self._before)
            session.register("after-call", self._after)
            return session

        botocore.session.get_session = get_session
        self.plain_session = original

    def _before(self, params, model, context, **_):
        who = role(threading.current_thread().name)
        if not self.recording or who == "bench":
            return
        call = Call(time.time(), who, model.service_model.service_name, model.name, copy.deepcopy(params))
        with self._lock:
            self.calls.append(call)
        context["bench_call"] = call

    def _after(self, parsed, model, context, **_):
        call = context.get("bench_call")
        if call is None:
            return
        call.seconds = time.time() - call.started
        if model.name == "ReceiveMessage":
            call.messages = len(parsed.get("Messages", []))


@dataclass
class GcClock:
    """Time the interpreter spends collecting garbage: it stops every thread, the stack's and moto's."""

    seconds: float = 0.0
    collections: Counter = field(default_factory=Counter)
    _started: float = 0.0

    def __call__(self, phase, info):
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1

    def reset(self) -> None:
        self.seconds = 0.0
        self.collections = Counter()


# --- the stack's run ---------------------------------------------------------------------------


class Api:
    def __init__(self, base_url: str, key: str):
        self._base = base_url
        self._http = requests.Session()  # kept alive: one server thread for all our requests
        self._http.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, body: Any = None, params: Any = None) -> dict:
        answer = self._http.request(method, self._base + path, json=body, params=params, timeout=30)
        if answer.status_code >= 300:
            raise SystemExit(f"{method} {path} answered {answer.status_code}: {answer.text[:500]}")
        return answer.json()


def queue_empty(sqs, url: str) -> bool:
    counts = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return not any(int(value) for value in counts.values())


def snapshot(dynamodb) -> dict[str, list[dict]]:
    """Every item of every table, as the window opens: the bare loop starts from the same data."""
    items: dict[str, list[dict]] = {}
    for table in dynamodb.list_tables()["TableNames"]:
        items[table] = [
            item for page in dynamodb.get_paginator("scan").paginate(TableName=table) for item in page["Items"]
        ]
    return items


def run_stack(posts: int, platforms: list[str], recorder: Recorder, gc_clock: GcClock, log_file) -> dict:
    stack = LocalStack(port=free_port(), state_file=None)
    # Chalice's server writes a line per request to standard error: into the log, not the table.
    with contextlib.redirect_stderr(log_file), contextlib.redirect_stdout(log_file):
        started = time.monotonic()
        try:
            state = stack.start()
            note(f"stack started in {time.monotonic() - started:.1f} s")
            lift_rate_limits(state.workspace_id, state.resource_prefix, state.aws_endpoint_url)
            api = Api(state.base_url, state.test_key)
            ids = [
                api.call(
                    "POST", "/v1/posts", {"content": f"Throughput probe {index + 1} of {posts}", "platforms": platforms}
                )["data"]["id"]
                for index in range(posts)
            ]
            note(f"{posts} drafts created; publishing them now")
            sqs = boto3.client("sqs", region_name=state.region, endpoint_url=state.aws_endpoint_url)
            dynamodb = boto3.client("dynamodb", region_name=state.region, endpoint_url=state.aws_endpoint_url)
            before = snapshot(dynamodb)
            publish_url = state.queue_urls["publish"]
            recorder.recording = True
            gc_clock.reset()
            first_request = time.time()
            request_seconds = []
            for post_id in ids:
                sent = time.monotonic()
                api.call("POST", f"/v1/posts/{post_id}/publish")
                request_seconds.append(time.monotonic() - sent)
            requests_done = time.time()
            deadline = time.monotonic() + DRAIN_TIMEOUT
            while not queue_empty(sqs, publish_url) and time.monotonic() < deadline:
                time.sleep(0.25)
            time.sleep(1.5)  # the poller's delete of the last batch, and its next (empty) poll
            recorder.recording = False
            gc_ours = {"seconds": gc_clock.seconds, "collections": dict(gc_clock.collections)}
            listed = []
            while True:
                page = api.call("GET", "/v1/posts", params={"limit": 100, "offset": len(listed)})
                listed += page["data"]
                if not page["data"] or len(listed) >= page["total"]:
                    break
            bare = bare_loop(recorder, before, state, sqs, dynamodb, first_request, gc_clock)
        finally:
            stopping = time.monotonic()
            stack.stop()
            note(f"stack stopped in {time.monotonic() - stopping:.1f} s")
    return {
        "posts": listed,
        "ids": set(ids),
        "first_request": first_request,
        "requests_done": requests_done,
        "request_seconds": request_seconds,
        "bare": bare,
        "gc": gc_ours,
    }


# --- the bare loop -----------------------------------------------------------------------------


def copy_tables(dynamodb, items: dict[str, list[dict]]) -> dict[str, str]:
    """A table beside each, same keys and indexes, holding the snapshot's items."""
    names = {}
    for table, rows in items.items():
        described = dynamodb.describe_table(TableName=table)["Table"]
        copy_name = BARE_PREFIX + table
        spec: dict[str, Any] = {
            "TableName": copy_name,
            "KeySchema": described["KeySchema"],
            "AttributeDefinitions": described["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if described.get(kind):
                spec[kind] = [
                    {
                        "IndexName": index["IndexName"],
                        "KeySchema": index["KeySchema"],
                        "Projection": index["Projection"],
                    }
                    for index in described[kind]
                ]
        dynamodb.create_table(**spec)
        for start in range(0, len(rows), 25):
            dynamodb.batch_write_item(
                RequestItems={copy_name: [{"PutRequest": {"Item": row}} for row in rows[start : start + 25]]}
            )
        names[table] = copy_name
    return names


def copy_queues(sqs, urls: list[str]) -> dict[str, str]:
    copies = {}
    for url in urls:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
        copies[url] = sqs.create_queue(QueueName=BARE_PREFIX + url.rsplit("/", 1)[1], Attributes=attributes)["QueueUrl"]
    return copies


def retarget(value: Any, tables: dict[str, str], queues: dict[str, str]) -> Any:
    """The same request, addressed to the copies: table names (wherever a request names one, as in
    transactions and batches) and queue URLs."""
    if isinstance(value, list):
        return [retarget(item, tables, queues) for item in value]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        if key == "TableName" and item in tables:
            item = tables[item]
        elif key == "QueueUrl" and item in queues:
            item = queues[item]
        elif key == "RequestItems":
            item = {tables.get(name, name): entries for name, entries in item.items()}
        result[key] = retarget(item, tables, queues)
    return result


def bare_loop(
    recorder: Recorder, before: dict[str, list[dict]], state, sqs, dynamodb, opened: float, gc_clock: GcClock
) -> dict:
    calls = [call for call in recorder.calls if call.started >= opened and call.role != "schedule"]
    # The poller goes on long-polling an empty queue once the work is done: that is waiting, not work.
    while calls and calls[-1].operation == "ReceiveMessage" and not calls[-1].messages:
        calls.pop()
    tables = copy_tables(dynamodb, {name: rows for name, rows in before.items() if not name.startswith(BARE_PREFIX)})
    queues = copy_queues(sqs, [url for url in state.queue_urls.values()])
    session = boto3.session.Session(botocore_session=recorder.plain_session(), region_name=state.region)
    clients = {
        service: session.client(service, endpoint_url=state.aws_endpoint_url)
        for service in {call.service for call in calls}
    }
    handles: deque = deque()  # receipt handles the replay's receives got, oldest first
    failed: Counter = Counter()
    skipped = 0
    spent: dict[str, list[float]] = {}  # seconds per call, by operation
    gc_clock.reset()
    started = time.perf_counter()
    for call in calls:
        params = retarget(call.params, tables, queues)
        if call.operation == "ReceiveMessage":
            params["WaitTimeSeconds"] = 0
        elif call.operation == "DeleteMessageBatch":
            entries = [
                {"Id": entry["Id"], "ReceiptHandle": handles.popleft()} for entry in params["Entries"] if handles
            ]
            if not entries:
                skipped += 1
                continue
            params["Entries"] = entries
        elif "ReceiptHandle" in params:
            if not handles:
                skipped += 1
                continue
            params["ReceiptHandle"] = handles.popleft()
        sent = time.perf_counter()
        try:
            answer = getattr(clients[call.service], xform_name(call.operation))(**params)
        except Exception as error:  # noqa: BLE001 - counted: a replayed call should not fail
            failed[f"{call.operation}: {type(error).__name__}"] += 1
            continue
        spent.setdefault(call.operation, []).append(time.perf_counter() - sent)
        if call.operation == "ReceiveMessage":
            handles.extend(message["ReceiptHandle"] for message in answer.get("Messages", []))
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "calls": calls,
        "failed": dict(failed),
        "skipped": skipped,
        "spent": spent,
        "gc": {"seconds": gc_clock.seconds, "collections": dict(gc_clock.collections)},
        "ticks_in_window": sum(call.role == "schedule" and call.started >= opened for call in recorder.calls),
    }


# --- the figures -------------------------------------------------------------------------------


def parse_time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def tables_named(params: dict) -> set[str]:
    """The tables a DynamoDB request names: its own, a batch's, a transaction's items'."""
    named = {params["TableName"]} if "TableName" in params else set()
    named |= set(params.get("RequestItems") or {})
    for item in params.get("TransactItems") or []:
        named |= {action["TableName"] for action in item.values() if "TableName" in action}
    return named


def on_the_sandbox(call: Call) -> bool:
    """A call of the sandbox platform (it keeps what it "published" in its own table): the stand-in
    for the platform call, not the publisher's own."""
    named = tables_named(call.params) if call.service == "dynamodb" else set()
    return bool(named) and all(table.endswith("-sandbox") for table in named)


def publisher_calls(calls: list[Call], published: int) -> dict:
    """The publisher's own calls per published target: every call its threads made (the poller's
    receives and deletes included, which a batch shares), less the receives that found nothing (a
    poller waiting for work, not work) and the sandbox platform's calls (counted beside them)."""
    working = [
        call
        for call in calls
        if call.role == "publisher" and not (call.operation == "ReceiveMessage" and not call.messages)
    ]
    ours = [call for call in working if not on_the_sandbox(call)]
    by_kind = Counter(f"{call.service} {call.operation}" for call in ours)
    return {
        "total": len(ours),
        "per_target": round(len(ours) / max(1, published), 2),
        "by_operation_per_target": {
            kind: round(count / max(1, published), 2) for kind, count in sorted(by_kind.items())
        },
        "sandbox_platform_calls": len(working) - len(ours),
    }


def summarise(posts: int, platforms: list[str], run: dict) -> dict:
    mine = [post for post in run["posts"] if post["id"] in run["ids"]]
    targets = [target for post in mine for target in post["post_targets"]]
    published = [target for target in targets if target["status"] == "published"]
    last = max(parse_time(target["published_at"]).timestamp() for target in published)
    first_out = min(parse_time(target["published_at"]).timestamp() for target in published)
    ours_seconds = last - run["first_request"]
    ours_rate = len(published) / ours_seconds
    bare = run["bare"]
    bare_rate = len(published) / bare["seconds"]
    calls = bare["calls"]
    by_kind = Counter(f"{call.service} {call.operation}" for call in calls)
    by_role = {
        who: dict(Counter(f"{call.service} {call.operation}" for call in calls if call.role == who))
        for who in sorted({call.role for call in calls})
    }
    receives = [call for call in calls if call.operation == "ReceiveMessage"]
    operations = []
    for operation in sorted({call.operation for call in calls}):
        # An empty receive is a long poll waiting for work: its time is not the call's cost.
        timed = [
            call.seconds
            for call in calls
            if call.operation == operation
            and call.seconds is not None
            and not (operation == "ReceiveMessage" and not call.messages)
        ]
        replayed = bare["spent"].get(operation, [])
        operations.append(
            {
                "operation": operation,
                "calls": len(timed),
                "ours_mean_ms": round(1000 * sum(timed) / len(timed), 1) if timed else None,
                "ours_total_s": round(sum(timed), 2),
                "bare_mean_ms": round(1000 * sum(replayed) / len(replayed), 1) if replayed else None,
                "bare_total_s": round(sum(replayed), 2),
            }
        )
    sandbox_wait = SANDBOX_MEAN_LATENCY * len(published)
    return {
        "posts": posts,
        "targets_per_post": len(platforms),
        "platforms": platforms,
        "targets": len(targets),
        "targets_published": len(published),
        "not_published": dict(Counter(target["status"] for target in targets if target["status"] != "published")),
        "ours": {
            "seconds": round(ours_seconds, 3),
            "targets_per_second": round(ours_rate, 2),
            "publish_requests_seconds": round(run["requests_done"] - run["first_request"], 3),
            "publish_request_mean_ms": round(1000 * sum(run["request_seconds"]) / len(run["request_seconds"]), 1),
            "first_target_out_after_s": round(first_out - run["first_request"], 3),
            "sandbox_latency_estimate_s": round(sandbox_wait, 1),
            "targets_per_second_without_sandbox_latency": round(len(published) / (ours_seconds - sandbox_wait), 2),
        },
        "bare": {
            "seconds": round(bare["seconds"], 3),
            "targets_per_second": round(bare_rate, 2),
            "failed_calls": bare["failed"],
            "skipped_calls": bare["skipped"],
        },
        "gc": {
            "ours_seconds": round(run["gc"]["seconds"], 2),
            "ours_collections": run["gc"]["collections"],
            "bare_seconds": round(bare["gc"]["seconds"], 2),
            "bare_collections": bare["gc"]["collections"],
        },
        "operations": operations,
        "ratio_ours_to_bare": round(ours_rate / bare_rate, 3),
        "calls": {
            "total": len(calls),
            "per_target": round(len(calls) / len(published), 2),
            "by_operation_per_target": {
                kind: round(count / len(published), 2) for kind, count in sorted(by_kind.items())
            },
            "by_role": by_role,
            "receives": len(receives),
            "empty_receives": sum(not call.messages for call in receives),
            "messages_per_receive": round(sum(call.messages or 0 for call in receives) / max(1, len(receives)), 2),
            "schedule_tick_calls_in_window": bare["ticks_in_window"],
            "publisher": publisher_calls(calls, len(published)),
            "counted_by": "botocore events (provide-client-params, after-call) on every session the stack made",
        },
    }


def text(summary: dict) -> str:
    ours, bare = summary["ours"], summary["bare"]
    calls = summary["calls"]
    lines = [
        f"Publishing throughput in the local stack: {summary['posts']} test-mode posts x "
        f"{summary['targets_per_post']} sandbox targets ({', '.join(summary['platforms'])}), published now over HTTP",
        "",
        "| run | targets | seconds | targets/s |",
        "|---|---:|---:|---:|",
        f"| openpost (first publish request to last published_at) | {summary['targets_published']} "
        f"| {ours['seconds']:.2f} | {ours['targets_per_second']:.2f} |",
        f"| bare loop (the same AWS calls, replayed) | {summary['targets_published']} | {bare['seconds']:.2f} "
        f"| {bare['targets_per_second']:.2f} |",
        "",
        f"Ratio ours / bare: {summary['ratio_ours_to_bare']:.3f} (the bare loop is "
        f"{1 / summary['ratio_ours_to_bare']:.1f}x faster).",
        "Note: the local stack runs its publisher containers (tools/devstack.py --concurrency) as threads of "
        "one process, which also runs the API and moto. Deployed, each container has its own CPU; these "
        "figures are for one process doing everything.",
        f"Of openpost's {ours['seconds']:.1f} s, about {ours['sandbox_latency_estimate_s']:.1f} s is the "
        "sandbox's "
        f"simulated platform latency (20-80 ms per call, mean 50); without it: "
        f"{ours['targets_per_second_without_sandbox_latency']:.2f} targets/s (estimate).",
        f"The {summary['posts']} publish requests took {ours['publish_requests_seconds']:.2f} s "
        f"(mean {ours['publish_request_mean_ms']:.0f} ms each, interleaved with publishing); the first target "
        f"was out {ours['first_target_out_after_s']:.2f} s after the first request.",
        "",
        f"AWS calls in the window: {calls['total']}, {calls['per_target']:.2f} per target "
        f"(counted with {calls['counted_by']}):",
    ]
    for kind, per_target in calls["by_operation_per_target"].items():
        lines.append(f"  {kind}: {per_target:.2f} per target")
    for who, kinds in calls["by_role"].items():
        lines.append(f"  made by the {who}: " + ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())))
    lines.append(
        f"  {calls['receives']} receives ({calls['empty_receives']} empty), "
        f"{calls['messages_per_receive']:.2f} messages each on average"
    )
    publisher = calls["publisher"]
    lines.append(
        f"The publisher's own calls (message to event, its receive and delete shares included, empty "
        f"receives not, nor the sandbox platform's {publisher['sandbox_platform_calls']} calls to its "
        f"table): {publisher['total']}, {publisher['per_target']:.2f} per target:"
    )
    for kind, per_target in publisher["by_operation_per_target"].items():
        lines.append(f"  {kind}: {per_target:.2f} per target")
    if calls["schedule_tick_calls_in_window"]:
        lines.append(
            f"  plus {calls['schedule_tick_calls_in_window']} calls by scheduled ticks in the window (not replayed)"
        )
    lines += [
        "",
        "Time per call, as the caller saw it (moto's work, the HTTP hop, botocore, and any "
        "garbage-collection pause; ours also waits for the interpreter while the stack's other "
        "threads run, and a receive that long-polled until a message came counts that wait):",
        "",
        "| operation | calls | ours ms | bare ms | ours s in all | bare s in all |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in summary["operations"]:
        ours_ms = "" if row["ours_mean_ms"] is None else f"{row['ours_mean_ms']:.1f}"
        bare_ms = "" if row["bare_mean_ms"] is None else f"{row['bare_mean_ms']:.1f}"
        lines.append(
            f"| {row['operation']} | {row['calls']} | {ours_ms} | {bare_ms} | {row['ours_total_s']:.2f} "
            f"| {row['bare_total_s']:.2f} |"
        )
    collected = summary["gc"]
    lines += [
        "",
        f"Garbage collection stopped every thread for {collected['ours_seconds']:.2f} s of openpost's run "
        f"(collections by generation: {collected['ours_collections']}) and {collected['bare_seconds']:.2f} s "
        f"of the bare loop ({collected['bare_collections']}).",
    ]
    if bare["failed_calls"] or bare["skipped_calls"]:
        failed = ", ".join(f"{count} {kind}" for kind, count in bare["failed_calls"].items()) or "none"
        lines.append(
            f"Replay: failed calls: {failed}; {bare['skipped_calls']} deletes skipped (the replay's receives "
            "had not got that message yet)."
        )
    if summary["not_published"]:
        lines.append(f"NOT PUBLISHED: {summary['not_published']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100, help="posts to publish (default 100)")
    parser.add_argument(
        "--targets",
        type=int,
        choices=range(1, len(PLATFORMS) + 1),
        default=len(PLATFORMS),
        help="targets a post: 2 (X and Bluesky, the default) or 1 (X alone, a single-part target each)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.posts < 1:
        parser.error("--posts must be at least 1")
    recorder = Recorder()
    recorder.install()  # before the stack makes its first session
    gc_clock = GcClock()
    gc.callbacks.append(gc_clock)
    with tempfile.TemporaryFile("w+") as log_file:
        began = time.monotonic()
        platforms = PLATFORMS[: args.targets]
        run = run_stack(args.posts, platforms, recorder, gc_clock, log_file)
        summary = summarise(args.posts, platforms, run)
        summary["run_seconds"] = round(time.monotonic() - began, 1)
        log_file.seek(0)
        warnings = [
            line
            for line in log_file.read().splitlines()
            if '"level":"WARNING"' in line or '"level":"ERROR"' in line or "Traceback" in line
        ]
    summary["stack_warnings"] = len(warnings)
    print(json.dumps(summary, indent=2) if args.json else text(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

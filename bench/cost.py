"""Dollars per million published single-part targets, from the requests a publish run makes.

The local stack runs in this process (``LocalStack``, as throughput.py runs it); N test-mode posts with
one Bluesky sandbox target each are created over HTTP, each with its schedule a few seconds ahead
(one request, the default) or as a draft then published now (``--path publish-now``: two requests),
and every request of the run is
counted until the publish queue is empty: each HTTP request (one API Gateway request and one API
Lambda invocation, timed here from request to answer), each Lambda invocation the stack makes (timed
around the handler) at the catalog's memory, each AWS call through botocore events on every session
the stack creates (SQS requests, DynamoDB read and write request units estimated from item sizes by
DynamoDB's rules, transactions counted double, KMS and S3 requests). Each is priced at the us-east-1
list prices below and summed per target.

Not per target, and so not counted: the dispatcher's tick (one invocation a minute, $0.01 a month),
the event source mappings' empty long polls (a few hundred thousand requests a month per queue), the
KMS key ($1 a month), storage, and CloudWatch Logs (priced separately at the end, from an assumption).

    .venv/bin/python bench/cost.py [--posts 60] [--path scheduled|publish-now] [--platform-seconds 1.0] [--json]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402

import boto3  # noqa: E402
import throughput as tp  # noqa: E402  (sets fake credentials and quiet handlers before boto3 loads)
from dynamo_calls import KB, Tables, item_size, read_units, write_units  # noqa: E402

from chalicelib.clock import format_timestamp  # noqa: E402
from infrastructure import catalog  # noqa: E402
from tools import devstack_lambda  # noqa: E402

# us-east-1 list prices, on-demand, beyond the free tiers, read 2026-12-05 from the AWS pricing
# pages (aws.amazon.com/<service>/pricing) and the AWS whitepaper "How AWS Pricing Works" (Lambda):
PRICES = {
    "api_gateway_request": 3.50 / 1e6,  # REST API (Chalice deploys one), first 333M requests a month
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,  # x86 (the stack sets no architecture), first 6B GB-s a month
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KB chunk of a request, first 100B a month
    "dynamodb_wru": 0.625 / 1e6,  # on-demand, since the November 2024 price cut
    "dynamodb_rru": 0.125 / 1e6,
    "kms_request": 0.03 / 1e4,  # symmetric key requests
    "s3_put": 0.005 / 1e3,  # PUT, COPY, POST, LIST
    "s3_get": 0.0004 / 1e3,  # GET, HEAD and all other requests
    "cloudwatch_logs_gb": 0.50,  # ingestion, standard class
}
PRICES_AS_OF = "2026-12-05, us-east-1 list prices (aws.amazon.com pricing pages)"
TARGET_DOLLARS = 15.0
LOG_BYTES_PER_TARGET = 3 * KB  # assumed: about five JSON log lines per target across functions
# A scheduled post is created a few seconds ahead: inside the dispatch window, so the API request
# queues it (as for any post due within the next tick), and the run does not wait a minute.
SCHEDULE_AHEAD = dt.timedelta(seconds=4)
PATHS = ("scheduled", "publish-now")
S3_PUTS = {"PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}

PATH_TEXT = {
    "scheduled": "each created with its schedule in one request",
    "publish-now": "each created as a draft, then published now: two requests",
}

_timing = threading.local()


class Invocations:
    """Each Lambda invocation the stack makes while ``recording``: function and duration."""

    def __init__(self):
        self.recording = False
        self.runs: list[tuple[str, float]] = []
        self._lock = threading.Lock()

    def install(self) -> None:
        original = devstack_lambda.LocalFunction.invoke
        invocations = self

        def invoke(function, event, cause):
            started = time.monotonic()
            try:
                return original(function, event, cause)
            finally:
                if invocations.recording:
                    with invocations._lock:
                        invocations.runs.append((function.name, time.monotonic() - started))

        devstack_lambda.LocalFunction.invoke = invoke


class Capacity(tp.Recorder):
    """throughput.py's recorder, also keeping what DynamoDB request units need: items read."""

    def _after(self, parsed, model, context, **kwargs):
        super()._after(parsed, model, context, **kwargs)
        call = context.get("bench_call")
        if call is None or model.service_model.service_name != "dynamodb":
            return
        if model.name == "GetItem":
            call.params["_read_sizes"] = [item_size(parsed.get("Item"))]
        elif model.name in ("Query", "Scan"):
            call.params["_read_sizes"] = [sum(item_size(i) for i in parsed.get("Items", []))]
        elif model.name == "BatchGetItem":
            call.params["_read_sizes"] = [item_size(i) for items in parsed.get("Responses", {}).values() for i in items]
        elif model.name == "TransactGetItems":
            call.params["_read_sizes"] = [item_size(r.get("Item")) for r in parsed.get("Responses", [])]


class PlainTables(Tables):
    """dynamo_calls.Tables on the stack's moto, through a session nothing counts."""

    def __init__(self, region: str, endpoint_url: str, session):
        super().__init__(region)
        self._client = session.create_client("dynamodb", region_name=region, endpoint_url=endpoint_url)


def write_request_units(tables: Tables, table: str, key: dict | None, item: dict | None, transactional: bool) -> int:
    """One item written: its size (the item as it stands after the run, or as put) in started KB,
    doubled in a transaction; plus each index entry it holds, rewritten at the standard rate. An
    entry the write removed (the item left a sparse index) is not seen here: 1 unit each uncounted."""
    if item is None and key is not None:
        item = tables.fetch(table, key)
    units = write_units(item_size(item)) * (2 if transactional else 1)
    schema = tables.schema(table)
    for index_keys, projection, included in schema.indexes.values():
        entry = tables._entry(schema, index_keys, projection, included, item)
        units += write_units(item_size(entry)) if entry else 0
    return units


def dynamodb_units(call, tables: Tables) -> tuple[float, float]:
    params, operation = call.params, call.operation
    consistent = bool(params.get("ConsistentRead"))
    if operation == "BatchGetItem":  # consistency is asked for per table there
        consistent = all(table.get("ConsistentRead") for table in params.get("RequestItems", {}).values())
    if operation in ("GetItem", "Query", "Scan", "BatchGetItem"):
        return sum(read_units(size, consistent) for size in params.get("_read_sizes", [0])), 0
    if operation == "TransactGetItems":
        return sum(2 * read_units(size, True) for size in params.get("_read_sizes", [0])), 0
    if operation == "PutItem":
        return 0, write_request_units(tables, params["TableName"], None, params["Item"], False)
    if operation == "UpdateItem":
        return 0, write_request_units(tables, params["TableName"], params["Key"], None, False)
    if operation == "DeleteItem":
        return 0, 1
    if operation == "TransactWriteItems":
        units = 0
        for entry in params["TransactItems"]:
            ((kind, action),) = entry.items()
            if kind == "ConditionCheck":
                units += 2
            elif kind == "Delete":
                units += 2
            elif kind == "Put":
                units += write_request_units(tables, action["TableName"], None, action["Item"], True)
            else:
                units += write_request_units(tables, action["TableName"], action["Key"], None, True)
        return 0, units
    if operation == "BatchWriteItem":
        return 0, sum(len(requests) for requests in params["RequestItems"].values())
    return 0, 0


def run(posts: int, path: str, recorder: Capacity, invocations: Invocations, log_file) -> dict:
    stack = tp.LocalStack(port=tp.free_port(), state_file=None)
    with contextlib.redirect_stderr(log_file), contextlib.redirect_stdout(log_file):
        try:
            state = stack.start()
            tp.lift_rate_limits(state.workspace_id, state.resource_prefix, state.aws_endpoint_url)
            api = tp.Api(state.base_url, state.test_key)
            sqs = boto3.client("sqs", region_name=state.region, endpoint_url=state.aws_endpoint_url)
            time.sleep(2)  # the start-up ticks of the schedules are done before counting starts
            recorder.recording = invocations.recording = True
            api_seconds = []

            def timed(method: str, path: str, body=None) -> dict:
                sent = time.monotonic()
                answer = api.call(method, path, body)
                api_seconds.append(time.monotonic() - sent)
                return answer

            for index in range(posts):
                body = {"content": f"Cost probe {index + 1} of {posts}", "platforms": ["bluesky"]}
                if path == "scheduled":  # one request: the post and its time (the API queues it at once)
                    body["schedule_at"] = format_timestamp(dt.datetime.now(dt.UTC) + SCHEDULE_AHEAD)
                    timed("POST", "/v1/posts", body)
                else:  # two requests: a draft, then "publish now"
                    post_id = timed("POST", "/v1/posts", body)["data"]["id"]
                    timed("POST", f"/v1/posts/{post_id}/publish")
            deadline = time.monotonic() + tp.DRAIN_TIMEOUT
            for url in (state.queue_urls["publish"], state.queue_urls["events"]):
                while not tp.queue_empty(sqs, url) and time.monotonic() < deadline:
                    time.sleep(0.25)
            time.sleep(1.5)  # the pollers' deletes of their last batches
            recorder.recording = invocations.recording = False
            listed = api.call("GET", "/v1/posts", params={"limit": 100, "status": "published"})
            tables = PlainTables(state.region, state.aws_endpoint_url, recorder.plain_session())
            units = [dynamodb_units(c, tables) for c in recorder.calls if c.service == "dynamodb"]
            for call, (_, wru) in zip((c for c in recorder.calls if c.service == "dynamodb"), units, strict=True):
                call.params["_wru"] = wru
        finally:
            stack.stop()
    return {"api_seconds": api_seconds, "published": listed["total"], "units": units}


def summarise(
    posts: int, path: str, outcome: dict, recorder: Capacity, invocations: Invocations, platform_seconds: float
):
    targets = outcome["published"]
    calls = recorder.calls
    by_service = Counter(call.service for call in calls)
    operations = Counter(f"{call.service} {call.operation}" for call in calls)
    # Lambda's event source mapping makes the receives and deletes; an empty receive is its idle
    # long poll, a fixed cost per queue rather than per target.
    sqs_requests = sum(
        1 for c in calls if c.service == "sqs" and not (c.operation == "ReceiveMessage" and not c.messages)
    )
    # The sandbox keeps what test mode published, in a table of its own; a live target calls its
    # platform instead. Its units are shown apart and left out of the total.
    dynamodb = [c for c in calls if c.service == "dynamodb"]
    sandbox = [is_sandbox(c) for c in dynamodb]
    rru = sum(r for (r, _), s in zip(outcome["units"], sandbox, strict=True) if not s)
    wru = sum(w for (_, w), s in zip(outcome["units"], sandbox, strict=True) if not s)
    sandbox_units = sum(r + w for (r, w), s in zip(outcome["units"], sandbox, strict=True) if s)
    s3_puts = sum(1 for c in calls if c.service == "s3" and c.operation in S3_PUTS)
    s3_gets = by_service["s3"] - s3_puts
    api_requests = len(outcome["api_seconds"])
    gb_seconds = defaultdict(float)
    lambda_requests = Counter()
    for name, seconds in invocations.runs:
        memory_gb = catalog.function(name).memory_mb / 1024
        lambda_requests[name] += 1
        gb_seconds[name] += memory_gb * seconds
    lambda_requests["api"] += api_requests
    gb_seconds["api"] += catalog.API.memory_mb / 1024 * sum(outcome["api_seconds"])
    # With a real platform, each publisher invocation waits for it instead of the sandbox (20-80 ms);
    # its batch's records wait side by side, so once per invocation.
    sandbox_mean = tp.SANDBOX_MEAN_LATENCY
    extra_gb_s = (
        lambda_requests["publisher"]
        * max(0.0, platform_seconds - sandbox_mean)
        * (catalog.function("publisher").memory_mb / 1024)
    )
    rows = {
        "API Gateway requests": api_requests * PRICES["api_gateway_request"],
        "Lambda requests": sum(lambda_requests.values()) * PRICES["lambda_request"],
        "Lambda GB-seconds (measured here)": sum(gb_seconds.values()) * PRICES["lambda_gb_second"],
        "SQS requests": sqs_requests * PRICES["sqs_request"],
        "DynamoDB write request units": wru * PRICES["dynamodb_wru"],
        "DynamoDB read request units": rru * PRICES["dynamodb_rru"],
        "KMS requests": by_service["kms"] * PRICES["kms_request"],
        "S3 requests": s3_puts * PRICES["s3_put"] + s3_gets * PRICES["s3_get"],
    }
    per_million = {name: round(dollars / targets * 1e6, 2) for name, dollars in rows.items()}
    total = round(sum(per_million.values()), 2)
    platform_wait = round(extra_gb_s * PRICES["lambda_gb_second"] / targets * 1e6, 2)
    logs = round(LOG_BYTES_PER_TARGET / 1024**3 * PRICES["cloudwatch_logs_gb"] * 1e6, 2)
    return {
        "posts": posts,
        "path": path,
        "targets_published": targets,
        "prices_as_of": PRICES_AS_OF,
        "per_target": {
            "api_gateway_requests": round(api_requests / targets, 2),
            "lambda_invocations": {k: round(v / targets, 3) for k, v in sorted(lambda_requests.items())},
            "lambda_gb_seconds": {k: round(v / targets, 4) for k, v in sorted(gb_seconds.items())},
            "sqs_requests": round(sqs_requests / targets, 2),
            "dynamodb_rru": round(rru / targets, 2),
            "dynamodb_wru": round(wru / targets, 2),
            "sandbox_request_units_left_out": round(sandbox_units / targets, 2),
            "kms_requests": round(by_service["kms"] / targets, 2),
            "s3_requests": round(by_service["s3"] / targets, 2),
            "aws_calls_by_operation": {k: round(v / targets, 2) for k, v in sorted(operations.items())},
            "dynamodb_wru_by_operation_and_table": {
                k: round(v / targets, 2) for k, v in sorted(write_units_by(calls).items(), key=lambda kv: -kv[1])
            },
        },
        "dollars_per_million_targets": per_million,
        "total": total,
        "with_a_real_platform_call": {"platform_seconds": platform_seconds, "added": platform_wait},
        "total_with_real_platform": round(total + platform_wait, 2),
        "cloudwatch_logs_assumed": {"bytes_per_target": LOG_BYTES_PER_TARGET, "dollars_per_million": logs},
        "target": TARGET_DOLLARS,
        "met": total + platform_wait <= TARGET_DOLLARS,
    }


def tables_of(call) -> set[str]:
    names = {call.params.get("TableName")} | {
        action.get("TableName") for entry in call.params.get("TransactItems", []) for action in entry.values()
    }
    return {name for name in names if name}


def is_sandbox(call) -> bool:
    return bool(tables_of(call)) and all(name.endswith("-sandbox") for name in tables_of(call))


def write_units_by(calls) -> Counter:
    """Write request units by operation and the tables it wrote (the prefix cut off)."""
    counted = Counter()
    for call in calls:
        if call.service != "dynamodb" or not call.params.get("_wru"):
            continue
        short = "+".join(sorted(name.rsplit("-", 1)[-1] for name in tables_of(call)))
        counted[f"{call.operation} {short}"] += call.params["_wru"]
    return counted


def text(summary: dict) -> str:
    lines = [
        f"{summary['targets_published']} single-part targets published ({summary['posts']} posts, one Bluesky "
        f"sandbox target each, {PATH_TEXT[summary['path']]}); prices: {summary['prices_as_of']}",
        "",
        f"{'per 1M targets':<40}{'dollars':>10}",
    ]
    for name, dollars in sorted(summary["dollars_per_million_targets"].items(), key=lambda kv: -kv[1]):
        lines.append(f"{name:<40}{dollars:>10.2f}")
    lines.append(f"{'total (as measured here)':<40}{summary['total']:>10.2f}")
    real = summary["with_a_real_platform_call"]
    lines.append(
        f"{'+ publisher waiting ' + str(real['platform_seconds']) + ' s for a platform':<40}{real['added']:>10.2f}"
    )
    lines.append(f"{'total with a real platform':<40}{summary['total_with_real_platform']:>10.2f}")
    logs = summary["cloudwatch_logs_assumed"]
    lines.append(
        f"(CloudWatch Logs, not in the total: ~${logs['dollars_per_million']:.2f} at an assumed "
        f"{logs['bytes_per_target']} bytes of logs per target)"
    )
    lines.append(
        f"Target: at most ${summary['target']:.0f} per 1M single-part targets: {'met' if summary['met'] else 'NOT met'}"
    )
    lines += ["", "per target:"]
    for name, value in summary["per_target"].items():
        lines.append(f"  {name}: {value}")
    lines.append(
        "Lambda durations are measured on the local stack (moto and the sandbox, on a shared 2-core machine): "
        "noisy, and slower than DynamoDB and SQS in the same region."
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=60, help="posts to publish, one target each (default 60)")
    parser.add_argument(
        "--platform-seconds",
        type=float,
        default=1.0,
        help="a real platform call's time, for the second total (default 1.0; the sandbox takes 20-80 ms)",
    )
    parser.add_argument(
        "--path",
        choices=PATHS,
        default="scheduled",
        help="scheduled: one request creates the post with its time (what a scheduling client sends); "
        "publish-now: a draft, then POST /publish (two requests). Default scheduled",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.posts < 1:
        parser.error("--posts must be at least 1")
    recorder = Capacity()
    recorder.install()
    invocations = Invocations()
    invocations.install()
    with tempfile.TemporaryFile("w+") as log_file:
        outcome = run(args.posts, args.path, recorder, invocations, log_file)
    summary = summarise(args.posts, args.path, outcome, recorder, invocations, args.platform_seconds)
    print(json.dumps(summary, indent=2) if args.json else text(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

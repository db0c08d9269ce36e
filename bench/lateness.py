"""How late scheduled posts go out in the local stack: ``published_at - scheduled_at``, per post.

The stack runs as ``make run`` runs it, ``python -m tools.devstack`` in a process of its own (started
and stopped by the e2e tests' helper), so this script's own work never competes with the stack for
its interpreter. Test-mode posts, one sandbox target each, are created over HTTP with times spread
uniformly over a few minutes, starting far enough ahead (``--lead``, default 120 s) that the
minute dispatcher queues them rather than the API. Half the times are whole seconds and half carry
milliseconds. Nothing is asked of the API while the posts are due, since every request takes the
lock the stack's handlers share; once the last one is due, the published posts are read back and
each target's ``published_at`` (when the platform accepted it) is compared with the post's
``scheduled_at``.

    .venv/bin/python bench/lateness.py [--posts 200] [--lead 120] [--spread 180] [--json]

Target: p99 at most 2 s. The stack's log tells which path queued each post (the dispatcher's tick
or the API at once) and how long each tick held the stack. A run takes about lead + spread + 30 s.
This prints figures and always exits 0 once it has them: a missed target is news, not a crash.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import requests  # noqa: E402
from budgets import lift_rate_limits  # noqa: E402  (bench/, the script's own directory)

from tests.e2e.stack import STOP_TIMEOUT, RunningStack  # noqa: E402  (needs ROOT on sys.path)
from tools.emulated_aws import use_fake_credentials  # noqa: E402

UTC = dt.UTC
TARGET_P99_SECONDS = 2.0
# Once the last post is due, how long to wait for the rest before reporting what is missing.
DRAIN_SECONDS = 60
# How long to let the stack exit after SIGINT before killing it. Longer than the e2e tests allow
# (STOP_TIMEOUT): a slow exit is reported as a finding, not turned into a lost run.
STOP_PATIENCE = 60
PAGE = 100  # the API's largest page


def parse_time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def iso(moment: dt.datetime) -> str:
    """ISO 8601 in UTC, with milliseconds only when the time has them (as the API writes it)."""
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.astimezone(UTC).isoformat(timespec=spec).replace("+00:00", "Z")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: with 200 posts, p99 is the second latest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Api:
    def __init__(self, base_url: str, key: str):
        self._base = base_url
        self._http = requests.Session()  # one kept-alive connection: one server thread
        self._http.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, body: Any = None, params: Any = None) -> dict:
        answer = self._http.request(method, self._base + path, json=body, params=params, timeout=30)
        if answer.status_code >= 300:
            raise SystemExit(f"{method} {path} answered {answer.status_code}: {answer.text[:500]}")
        return answer.json()

    def all_posts(self, status: str | None) -> list[dict]:
        posts: list[dict] = []
        while True:
            page = self.call("GET", "/v1/posts", params={"status": status, "limit": PAGE, "offset": len(posts)})
            posts += page["data"]
            if not page["data"] or len(posts) >= page["total"]:
                return posts


def schedule(count: int, first: dt.datetime, spread: float, rng: random.Random) -> list[dt.datetime]:
    """``count`` times uniformly over [first, first + spread), in order; every other one to the
    millisecond, the rest on a whole second (what most clients send)."""
    times = []
    for index in range(count):
        moment = first + dt.timedelta(seconds=rng.uniform(0, spread))
        if index % 2:
            moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        else:
            moment = moment.replace(microsecond=0)
        times.append(moment)
    return sorted(times)


def create_posts(api: Api, platform: str, times: list[dt.datetime]) -> dict[str, dt.datetime]:
    """Created in the order they are due, so each is more than the dispatch horizon ahead when created
    (unless creating is slower than the spread): the dispatcher's tick, not the API, queues it."""
    asked: dict[str, dt.datetime] = {}
    for index, moment in enumerate(times):
        post = api.call(
            "POST",
            "/v1/posts",
            {
                "content": f"Lateness probe {index + 1} of {len(times)}",
                "platforms": [platform],
                "schedule_at": iso(moment),
            },
        )["data"]
        if post["status"] != "scheduled":
            raise SystemExit(f"post {post['id']} came back {post['status']}, not scheduled")
        asked[post["id"]] = moment
    return asked


def stop(stack: RunningStack) -> dict:
    """SIGINT, as Ctrl-C sends, and how long the process took to exit."""
    started = time.monotonic()
    stack.process.send_signal(signal.SIGINT)
    try:
        code = stack.process.wait(timeout=STOP_PATIENCE)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        stack.process.wait()
        code = None
    return {"exit_code": code, "seconds": round(time.monotonic() - started, 1)}


def wait_for_published(api: Api, count: int, deadline: float) -> None:
    """Polls only the total of one small page, once a second: a whole page listing would hold the
    stack's lock far longer while stragglers are still being published."""
    while time.time() < deadline:
        total = api.call("GET", "/v1/posts", params={"status": "published", "limit": 1})["total"]
        if total >= count:
            return
        time.sleep(1)


# --- what the stack's log tells ----------------------------------------------------------------


def log_records(text: str) -> list[dict]:
    """The handlers' structured lines (Powertools writes one JSON object per line)."""
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except ValueError:
                pass
    return records


def log_time(record: dict) -> dt.datetime:
    # Powertools' default format: "2026-05-01 12:00:00,123+0000".
    return dt.datetime.strptime(record["timestamp"], "%Y-%m-%d %H:%M:%S,%f%z")


def read_log(records: list[dict]) -> dict:
    dispatches: dict[str, dict] = {}
    ticks = []
    for record in records:
        message = record.get("message")
        if message == "post dispatched":
            # Inside an API request the logger carries the request's keys; on a tick it does not.
            path = "api (immediate)" if "request_id" in record else "dispatcher tick"
            dispatches[record["post_id"]] = {
                "path": path,
                "delay_seconds": record.get("delay_seconds"),
                "logged": log_time(record),
            }
        elif message == "dispatch tick":
            started = parse_time(record["scheduled_time"])
            ended = log_time(record)
            ticks.append(
                {
                    "scheduled_time": record["scheduled_time"],
                    "queued": record.get("queued", 0),
                    "started": started,
                    "ended": ended,
                    "seconds": round((ended - started).total_seconds(), 3),
                }
            )
    deferred = Counter(
        record.get("reason") for record in records if record.get("message") == "publish message deferred"
    )
    problems = [record for record in records if record.get("level") in ("WARNING", "ERROR")]
    return {"dispatches": dispatches, "ticks": ticks, "deferred": dict(deferred), "problems": problems}


# --- the figures -------------------------------------------------------------------------------


def measure(args) -> dict:
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="openpost-lateness-"))
    timings: dict[str, float] = {}
    began = time.monotonic()
    stack = RunningStack(folder)
    try:
        stack.wait_until_ready()
        timings["stack_start_s"] = round(time.monotonic() - began, 1)
        use_fake_credentials(os.environ)  # the stack's moto takes any; never this machine's own
        lift_rate_limits(stack.state["workspace_id"], stack.state["resource_prefix"], stack.state["aws_endpoint_url"])
        api = Api(stack.base_url, stack.state["test_key"])
        first = dt.datetime.now(UTC) + dt.timedelta(seconds=args.lead)
        times = schedule(args.posts, first, args.spread, rng)
        log(f"creating {args.posts} posts due between {iso(times[0])} and {iso(times[-1])}")
        creating = time.monotonic()
        asked = create_posts(api, args.platform, times)
        timings["create_s"] = round(time.monotonic() - creating, 1)
        last_due = times[-1].timestamp()
        log(f"created in {timings['create_s']} s; waiting {last_due - time.time():.0f} s for the last one to be due")
        waiting = time.monotonic()
        time.sleep(max(0.0, last_due + 2 - time.time()))
        wait_for_published(api, args.posts, last_due + DRAIN_SECONDS)
        timings["wait_s"] = round(time.monotonic() - waiting, 1)
        published = api.all_posts("published")
        unpublished = [post for post in api.all_posts(None) if post["status"] != "published"]
    finally:
        stopped = stop(stack)
        timings["stop_s"] = stopped["seconds"]
        timings["total_s"] = round(time.monotonic() - began, 1)
        output = stack.output()
        if args.log:
            shutil.copyfile(stack.output_file, args.log)
        shutil.rmtree(folder, ignore_errors=True)
    return summarise(args, asked, published, unpublished, read_log(log_records(output)), timings, stopped["exit_code"])


def summarise(
    args,
    asked: dict[str, dt.datetime],
    published: list[dict],
    unpublished: list[dict],
    seen: dict,
    timings: dict[str, float],
    exit_code: int,
) -> dict:
    rows = []
    for post in published:
        if post["id"] not in asked:
            continue
        scheduled = parse_time(post["scheduled_at"])
        went_out = parse_time(post["post_targets"][0]["published_at"])
        dispatch = seen["dispatches"].get(post["id"], {})
        row = {
            "post_id": post["id"],
            "scheduled_at": post["scheduled_at"],
            "published_at": post["post_targets"][0]["published_at"],
            "lateness_s": round((went_out - scheduled).total_seconds(), 3),
            "sub_second": bool(scheduled.microsecond),
            # The schedule must come back as it was sent, to the millisecond.
            "schedule_kept": scheduled == asked[post["id"]],
            "path": dispatch.get("path", "unknown"),
        }
        if dispatch.get("delay_seconds") is not None:
            # When SQS let the message out: the dispatch (logged right after the send) plus its delay.
            released = dispatch["logged"] + dt.timedelta(seconds=dispatch["delay_seconds"])
            row["released_before_due_s"] = round((scheduled - released).total_seconds(), 3)
            row["due_during_tick"] = any(tick["started"] <= scheduled <= tick["ended"] for tick in seen["ticks"])
        rows.append(row)
    late = [row["lateness_s"] for row in rows]

    def figures(values: list[float]) -> dict:
        if not values:
            return {"count": 0}
        return {
            "count": len(values),
            "p50_s": percentile(values, 0.5),
            "p99_s": percentile(values, 0.99),
            "max_s": max(values),
            "min_s": min(values),
            "mean_s": round(statistics.fmean(values), 3),
            "late_over_2s": sum(value > TARGET_P99_SECONDS for value in values),
            "early": sum(value < 0 for value in values),
        }

    def spread(values: list[float]) -> dict:
        if not values:
            return {"count": 0}
        return {"count": len(values), "p50_s": percentile(values, 0.5), "max_s": max(values), "min_s": min(values)}

    over = [row for row in rows if row["lateness_s"] > TARGET_P99_SECONDS]
    overall = figures(late)
    return {
        "parameters": {
            "posts": args.posts,
            "lead_s": args.lead,
            "spread_s": args.spread,
            "platform": args.platform,
            "seed": args.seed,
        },
        "timings": timings,
        "stack_exit_code": exit_code,
        "stop_over_e2e_budget": timings["stop_s"] > STOP_TIMEOUT,
        "lateness": overall,
        "whole_second_schedules": figures([r["lateness_s"] for r in rows if not r["sub_second"]]),
        "sub_second_schedules": figures([r["lateness_s"] for r in rows if r["sub_second"]]),
        "paths": dict(Counter(row["path"] for row in rows)),
        "released_before_due": spread([r["released_before_due_s"] for r in rows if "released_before_due_s" in r]),
        "late_over_2s_due_during_tick": sum(bool(row.get("due_during_tick")) for row in over),
        "due_during_tick": figures([r["lateness_s"] for r in rows if r.get("due_during_tick")]),
        "not_due_during_tick": figures([r["lateness_s"] for r in rows if r.get("due_during_tick") is False]),
        "ticks": [
            {key: value for key, value in tick.items() if key not in ("started", "ended")} for tick in seen["ticks"]
        ],
        "deferred": seen["deferred"],
        "warnings": [record.get("message") for record in seen["problems"]],
        "schedules_changed": [row["post_id"] for row in rows if not row["schedule_kept"]],
        "unpublished": [{"id": post["id"], "status": post["status"]} for post in unpublished if post["id"] in asked],
        "target": {
            "description": f"p99 of published_at - scheduled_at at most {TARGET_P99_SECONDS:g} s",
            "limit_s": TARGET_P99_SECONDS,
            "met": bool(late) and len(late) == len(asked) and overall["p99_s"] <= TARGET_P99_SECONDS,
        },
        "posts": sorted(rows, key=lambda row: parse_time(row["scheduled_at"])),
    }


def text(summary: dict) -> str:
    p = summary["parameters"]
    t = summary["timings"]

    def line(name: str, figures: dict) -> str:
        if not figures.get("count"):
            return f"| {name} | 0 | | | | | |"
        return (
            f"| {name} | {figures['count']} | {figures['p50_s']:.3f} | {figures['p99_s']:.3f} "
            f"| {figures['max_s']:.3f} | {figures['min_s']:.3f} | {figures['late_over_2s']} |"
        )

    lines = [
        f"Lateness of scheduled posts in the local stack: {p['posts']} test-mode posts, 1 {p['platform']} "
        f"sandbox target each, due uniformly over {p['spread_s']:g} s from {p['lead_s']:g} s ahead",
        "(published_at of the target minus the post's scheduled_at)",
        "",
        "| posts | n | p50 s | p99 s | max s | min s | late > 2 s |",
        "|---|---:|---:|---:|---:|---:|---:|",
        line("all", summary["lateness"]),
        line("whole-second schedules", summary["whole_second_schedules"]),
        line("millisecond schedules", summary["sub_second_schedules"]),
        line("due while a dispatcher tick ran", summary["due_during_tick"]),
        line("due at any other time", summary["not_due_during_tick"]),
        "",
    ]
    paths = ", ".join(f"{count} by {path}" for path, count in sorted(summary["paths"].items()))
    lines.append(f"Queued: {paths}.")
    released = summary["released_before_due"]
    if released.get("count"):
        lines.append(
            f"SQS released the messages {released['min_s']:.3f} to {released['max_s']:.3f} s before "
            f"they were due (median {released['p50_s']:.3f} s): delays are whole seconds, rounded down."
        )
    ticks = [tick for tick in summary["ticks"] if tick["queued"]]
    if ticks:
        lines.append(
            "Dispatcher ticks that queued posts (each function runs one invocation at a time, as one "
            "container would; ticks and publishing run side by side): "
            + ", ".join(f"{tick['queued']} posts in {tick['seconds']:.2f} s" for tick in ticks)
            + "."
        )
    lines.append(
        f"Of the {summary['lateness'].get('late_over_2s', 0)} posts late by more than 2 s, "
        f"{summary['late_over_2s_due_during_tick']} were due while a tick ran."
    )
    if summary["deferred"]:
        lines.append(f"Messages put back on the queue: {summary['deferred']}.")
    early = summary["lateness"].get("early", 0)
    if early:
        lines.append(f"DEFECT: {early} posts went out before their scheduled time.")
    if summary["schedules_changed"]:
        lines.append(
            f"DEFECT: {len(summary['schedules_changed'])} posts came back with another scheduled_at than was sent."
        )
    if summary["unpublished"]:
        statuses = Counter(post["status"] for post in summary["unpublished"])
        lines.append(f"NOT PUBLISHED within {DRAIN_SECONDS} s of the last due time: {dict(statuses)}.")
    if summary["warnings"]:
        lines.append(
            f"The stack logged {len(summary['warnings'])} warnings or errors: {dict(Counter(summary['warnings']))}."
        )
    lines.append(
        f"Run: stack started in {t.get('stack_start_s')} s, posts created in {t.get('create_s')} s, "
        f"waited {t.get('wait_s')} s, stopped in {t.get('stop_s')} s (exit {summary['stack_exit_code']}); "
        f"{t.get('total_s')} s in all."
    )
    if summary["stop_over_e2e_budget"]:
        lines.append(
            f"The stack took {t.get('stop_s')} s to exit after SIGINT, more than the {STOP_TIMEOUT} s "
            "the e2e tests allow."
        )
    target = summary["target"]
    p99 = summary["lateness"].get("p99_s")
    verdict = "PASS" if target["met"] else "MISS"
    lines += [
        "",
        f"Target: p99 ≤ {target['limit_s']:g} s: {verdict} (p99 {p99:.3f} s)"
        if p99 is not None
        else f"Target: p99 ≤ {target['limit_s']:g} s: MISS (nothing was published)",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200, help="how many posts (default 200, at least 10)")
    parser.add_argument(
        "--lead",
        type=float,
        default=120,
        help="seconds from now to the first due time (default 120; under 105 the API queues posts)",
    )
    parser.add_argument("--spread", type=float, default=180, help="seconds the due times spread over (default 180)")
    parser.add_argument("--platform", default="bluesky", help="the sandbox account to post to (default bluesky)")
    parser.add_argument("--seed", type=int, default=None, help="seed for the due times (default: random)")
    parser.add_argument("--log", type=Path, help="keep the stack's output in this file")
    parser.add_argument("--json", action="store_true", help="print the figures, and every post, as JSON")
    args = parser.parse_args()
    if args.posts < 10:
        parser.error("--posts must be at least 10")
    summary = measure(args)
    print(json.dumps(summary, indent=2, default=str) if args.json else text(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

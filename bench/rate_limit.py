"""What rate limiting costs a request: added latency and DynamoDB calls, limits on versus off.

The Chalice app runs in-process against moto, as the tests drive it. Two warm containers serve the
same workspace and key: one with rate limits on (as deployed), one with them off
(``OPENPOST_RATE_LIMITS_ENABLED=false``). Their requests are interleaved, one each in turn, so a
busy moment on the machine hits both alike; each is timed around the whole in-process call (event
building, middleware, route, moto), and every DynamoDB call is counted by operation through
botocore events on the one session PynamoDB and our clients share (as bench/dynamo_calls.py does).

The workspace's budgets are lifted through the operators' override, so the run measures counting,
not refusing; a last row times requests refused with 429 once a budget is spent. moto answers in
about a millisecond in-process: in AWS the counter's UpdateItem is a network round trip of a few
milliseconds, which is what the added latency becomes there.

    .venv/bin/python bench/rate_limit.py [--requests 300] [--json]

This prints figures and always exits 0 once it has them.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tools.emulated_aws import use_fake_credentials  # noqa: E402

use_fake_credentials(os.environ)
os.environ.update(
    {
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

from moto import mock_aws  # noqa: E402

from chalicelib import container  # noqa: E402
from chalicelib.clock import ManualClock  # noqa: E402
from chalicelib.data.sessions import botocore_session  # noqa: E402
from chalicelib.settings import RateLimit, Settings  # noqa: E402
from tools.provision import provision  # noqa: E402

START = dt.datetime(2026, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
POST = {"content": "Rate limit probe", "platforms": ["twitter", "bluesky"]}
# (label, method, path, body): a read on the default policy only; a create, counted on two policies
# in the same single write.
ENDPOINTS = [
    ("GET /v1/posts/{id}", "GET", "/v1/posts/{post}", None),
    ("GET /v1/integrations", "GET", "/v1/integrations", None),
    ("POST /v1/posts", "POST", "/v1/posts", POST),
]


class Calls:
    """DynamoDB calls by operation, counted while ``counting`` is set."""

    def __init__(self):
        self.counting = False
        self.seen: Counter = Counter()
        # Clients copy their session's handlers when they are made: register before any exists.
        botocore_session().register("after-call.dynamodb", self._after)

    def _after(self, model, **_):
        if self.counting:
            self.seen[model.name] += 1


class Bench:
    def __init__(self, client, calls: Calls):
        self.client = client
        self.calls = calls
        aws = provision("openpost-bench")
        settings = Settings.from_environ(aws.environment())
        self.clock = ManualClock(START)
        self.on = container.Services(settings, clock=self.clock)
        self.off = container.Services(settings.model_copy(update={"rate_limits_enabled": False}), clock=self.clock)
        self.spent = container.Services(
            settings.model_copy(update={"rate_limits": {"default": RateLimit(quota=1, window=3600)}}), clock=self.clock
        )
        container.use(self.on)
        created = self.on.workspaces.create("Acme")
        self.key = created.test_key
        for policy in ("default", "posts"):
            self.on.rate_limiter.set_override(created.workspace.id, policy, quota=1_000_000, window=3600)
        self.post_id = self.request(self.on, "POST", "/v1/posts", POST)[1]["data"]["id"]

    def request(self, services, method: str, path: str, body=None) -> tuple[int, dict, float]:
        container.use(services)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"}
        payload = json.dumps(body).encode() if body is not None else b""
        started = time.perf_counter()
        response = self.client.http.request(method, path, headers=headers, body=payload)
        elapsed = (time.perf_counter() - started) * 1000
        return response.status_code, json.loads(response.body) if response.body else {}, elapsed

    def measured(self, services, method, path, body) -> tuple[float, Counter, int]:
        self.calls.seen = Counter()
        self.calls.counting = True
        try:
            status, _, elapsed = self.request(services, method, path, body)
        finally:
            self.calls.counting = False
        return elapsed, self.calls.seen, status

    def run(self, requests: int) -> list[dict]:
        rows = []
        for label, method, template, body in ENDPOINTS:
            path = template.format(post=self.post_id)
            # Warm both (key, integrations, overrides cached) at a minute of their own, so the caches
            # hold for the whole run: 2 x 300 requests 20 ms apart are 12 s of the test clock.
            self.clock.advance(minutes=1)
            for services in (self.on, self.off):
                self.request(services, method, path, body)
            samples: dict[str, list[float]] = {"on": [], "off": []}
            calls: dict[str, Counter] = {"on": Counter(), "off": Counter()}
            statuses: dict[str, Counter] = {"on": Counter(), "off": Counter()}
            for index in range(requests):
                order = (("on", self.on), ("off", self.off)) if index % 2 == 0 else (("off", self.off), ("on", self.on))
                for name, services in order:
                    elapsed, seen, status = self.measured(services, method, path, body)
                    samples[name].append(elapsed)
                    calls[name].update(seen)
                    statuses[name][status] += 1
                self.clock.advance(milliseconds=20)
            rows.append(summary(label, requests, samples, calls, statuses))
        rows.append(self.refused(requests))
        return rows

    def refused(self, requests: int) -> dict:
        """Requests over a spent budget (1 an hour): the same single write, whose condition fails;
        beside them, the same requests with limits off (404: the post is another workspace's)."""
        # A workspace of its own, without the lifted budgets, with a key that spends 1 an hour at once.
        spender = self.spent.workspaces.create("Spender").test_key
        path = f"/v1/posts/{self.post_id}"  # another workspace's post: a 404 when served, a 429 here
        self.key, kept = spender, self.key
        try:
            return self._refused(requests, path)
        finally:
            self.key = kept

    def _refused(self, requests: int, path: str) -> dict:
        for services in (self.spent, self.off):
            self.request(services, "GET", path)
        samples: dict[str, list[float]] = {"on": [], "off": []}
        calls: dict[str, Counter] = {"on": Counter(), "off": Counter()}
        statuses: dict[str, Counter] = {"on": Counter(), "off": Counter()}
        for index in range(requests):
            order = (
                (("on", self.spent), ("off", self.off)) if index % 2 == 0 else (("off", self.off), ("on", self.spent))
            )
            for name, services in order:
                elapsed, seen, status = self.measured(services, "GET", path, None)
                samples[name].append(elapsed)
                calls[name].update(seen)
                statuses[name][status] += 1
        return summary("GET /v1/posts/{id}, budget spent (429)", requests, samples, calls, statuses)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary(label: str, requests: int, samples, calls, statuses) -> dict:
    def side(name):
        return {
            "median_ms": round(statistics.median(samples[name]), 2),
            "p90_ms": round(percentile(samples[name], 0.9), 2),
            "calls_per_request": {op: round(n / requests, 2) for op, n in sorted(calls[name].items())},
            "total_calls_per_request": round(sum(calls[name].values()) / requests, 2),
            "statuses": dict(statuses[name]),
        }

    on, off = side("on"), side("off")
    return {
        "endpoint": label,
        "requests": requests,
        "on": on,
        "off": off,
        "added_median_ms": round(on["median_ms"] - off["median_ms"], 2),
        "added_p90_ms": round(on["p90_ms"] - off["p90_ms"], 2),
        "added_calls_per_request": round(on["total_calls_per_request"] - off["total_calls_per_request"], 2),
    }


def describe(calls: dict[str, float]) -> str:
    return ", ".join(f"{op} {n:g}" for op, n in calls.items()) or "none"


def markdown(rows: list[dict]) -> str:
    lines = [
        f"Rate limits on versus off, warm containers, {rows[0]['requests']} requests each, interleaved "
        "(moto in-process)",
        "",
        "| endpoint | median ms off → on | added | p90 ms off → on | DynamoDB calls per request off → on |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        on, off = row["on"], row["off"]
        lines.append(
            f"| {row['endpoint']} | {off['median_ms']:.2f} → {on['median_ms']:.2f} "
            f"| {row['added_median_ms']:+.2f} ms | {off['p90_ms']:.2f} → {on['p90_ms']:.2f} "
            f"| {describe(off['calls_per_request'])} → {describe(on['calls_per_request'])} |"
        )
    lines += [
        "",
        "Statuses: "
        + "; ".join(f"{row['endpoint']}: off {row['off']['statuses']}, on {row['on']['statuses']}" for row in rows),
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", "-n", type=int, default=300, help="requests per side and endpoint")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    calls = Calls()
    from chalice.test import Client

    import app as application

    # The app prints its logs and metric batches to stdout: kept out of the table.
    app_output = io.StringIO()
    with mock_aws(), Client(application.app) as client, contextlib.redirect_stdout(app_output):
        try:
            rows = Bench(client, calls).run(args.requests)
        except BaseException:
            sys.stderr.write(app_output.getvalue())
            raise
        finally:
            container.use(None)
    print(json.dumps({"rows": rows}, indent=2) if args.json else markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

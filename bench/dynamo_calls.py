"""How many DynamoDB calls each API endpoint makes, and what capacity they consume.

The Chalice app runs in-process against moto, as the tests drive it, in a workspace seeded with posts.
Every DynamoDB call is counted by operation through botocore events registered on the one botocore
session that PynamoDB and our own clients share (chalicelib/data/sessions.py). Each endpoint is
measured warm (the container served this workspace within the last minute, so the caller's key and the
workspace's integrations are in its caches) and cold (a new container, whose first request reads the
key and, for post writes, the integrations), and two more rows show the key cache expiring.

Capacity units are estimated here, from the items each call read or wrote, by DynamoDB's published
rules: 4 KB per read unit (half a unit when eventually consistent, always on an index), 1 KB per
write unit, transactions twice that, and a write per index entry an item change adds, alters or
removes (two when it moves the entry to another index key; index writes at the standard rate even in
a transaction, which is our assumption). moto's own ConsumedCapacity is a placeholder (a fixed 0.5 or 1 per call,
nothing for a transaction), so it is only kept in --json, as moto_reported.

Targets: get = 1 read; a list page = 1 query plus at most 1 read for the total; create = 1 write
(a transaction if needed) plus the idempotency record; authentication at most 1 read, cached in the
container for at most 60 s; the rate limit exactly 1 write (the counter), plus at most 1 read of the
workspace's overrides, cached like the key. The bench lifts its workspace's budgets through that
override, since it makes far more posts in one minute of its clock than the default allows. "Get" is
GET /v1/posts/{id}, "a list page" is every paginated GET, and
"create" is a POST to a collection (posts, API keys); on the other endpoints only authentication
is judged.

    .venv/bin/python bench/dynamo_calls.py [--json]

This prints figures and always exits 0 once it has them: a missed target is news, not a crash.
"""

from __future__ import annotations

import os
import sys

# Before anything imports boto3 or Powertools, as in tests/conftest.py: fake credentials so nothing
# can reach real AWS, and no request logs or metrics in the middle of the table.
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
import dataclasses  # noqa: E402
import datetime as dt  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import botocore.session  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib import container  # noqa: E402
from chalicelib.clock import ManualClock  # noqa: E402
from chalicelib.data.sessions import botocore_session  # noqa: E402
from chalicelib.settings import Settings  # noqa: E402
from tools.provision import provision  # noqa: E402

START = dt.datetime(2026, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
FUTURE = "2026-05-02T14:00:00Z"
SEEDED_POSTS = 45  # enough for a full second page (offset 20, limit 20)
# A post of ordinary size: a few sentences to two platforms, with tags.
POST = {
    "content": "We just shipped scheduled threads: write once, publish everywhere at the time your "
    "audience is awake. Drafts, previews and per-platform tweaks included. Tell us what "
    "you think! #buildinpublic",
    "platforms": ["twitter", "bluesky"],
    "tags": ["launch", "product"],
}

# --- capacity, by DynamoDB's rules --------------------------------------------------------------
CAPACITY_NOTE = (
    "estimated from the sizes of the items each call read or wrote, index writes included "
    "(moto reports fixed placeholders)"
)
KB = 1024
READS = {"GetItem": "read", "BatchGetItem": "read", "TransactGetItems": "read", "Query": "query", "Scan": "scan"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def category(operation: str) -> str:
    return "write" if operation in WRITES else READS.get(operation, operation)


def number_size(text: str) -> int:
    """About one byte per two significant digits, plus one."""
    digits = text.lower().split("e")[0].lstrip("-+").replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def value_size(value: dict) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return number_size(inner)
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS"):
        return sum(len(v.encode() if kind == "SS" else v) for v in inner)
    if kind == "NS":
        return sum(number_size(v) for v in inner)
    if kind == "L":  # 3 bytes for the list, 1 per element
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict | None) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def read_units(size: int, consistent: bool) -> float:
    """A read is charged per started 4 KB, at least one unit, even when nothing is found."""
    units = max(1, math.ceil(size / (4 * KB)))
    return units if consistent else units / 2


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


@dataclass
class Schema:
    keys: tuple[str, ...]
    # index name -> (its key attributes, projection type, included attributes)
    indexes: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]]


class Tables:
    """Table shapes and item snapshots, read through a client on a session of its own, which has no
    counting handlers: looking at the data must not show up in the figures."""

    def __init__(self, region: str):
        self._region = region
        self._client = None
        self._schemas: dict[str, Schema] = {}

    @property
    def client(self):
        if self._client is None:
            self._client = botocore.session.get_session().create_client("dynamodb", region_name=self._region)
        return self._client

    def schema(self, table: str) -> Schema:
        if table not in self._schemas:
            described = self.client.describe_table(TableName=table)["Table"]
            indexes = {
                index["IndexName"]: (
                    tuple(k["AttributeName"] for k in index["KeySchema"]),
                    index["Projection"]["ProjectionType"],
                    tuple(index["Projection"].get("NonKeyAttributes", ())),
                )
                for index in described.get("GlobalSecondaryIndexes", [])
            }
            self._schemas[table] = Schema(tuple(k["AttributeName"] for k in described["KeySchema"]), indexes)
        return self._schemas[table]

    def key_of(self, table: str, item: dict) -> dict:
        return {name: item[name] for name in self.schema(table).keys}

    def fetch(self, table: str, key: dict) -> dict | None:
        return self.client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    def change_units(self, table: str, before: dict | None, after: dict | None, transactional: bool) -> int:
        """One item's change: the table write (doubled in a transaction, which prepares and commits),
        then each index entry it adds, changes or removes (a changed index key is a delete and a put).
        Index writes are counted at the standard rate."""
        units = write_units(max(item_size(before), item_size(after))) * (2 if transactional else 1)
        schema = self.schema(table)
        for index_keys, projection, included in schema.indexes.values():
            old, new = (self._entry(schema, index_keys, projection, included, item) for item in (before, after))
            if old == new:
                continue
            if old and new and all(old[k] == new[k] for k in index_keys):
                units += write_units(max(item_size(old), item_size(new)))
            else:
                units += sum(write_units(item_size(entry)) for entry in (old, new) if entry)
        return units

    @staticmethod
    def _entry(schema, index_keys, projection, included, item) -> dict | None:
        """What the index holds for this item; None if the item is not in it (a sparse index)."""
        if not item or not all(k in item for k in index_keys):
            return None
        if projection == "ALL":
            return item
        names = set(schema.keys) | set(index_keys) | (set(included) if projection == "INCLUDE" else set())
        return {name: value for name, value in item.items() if name in names}


# --- counting -----------------------------------------------------------------------------------
@dataclass
class Call:
    operation: str
    tables: tuple[str, ...]
    part: str  # "auth", "idempotency" or "endpoint"
    read_units: float | None  # None: no estimate for this operation
    write_units: float | None
    moto_reported: float


class Recorder:
    """Counts DynamoDB calls on a botocore session while ``counting`` is set."""

    def __init__(self, tables: Tables):
        self.tables = tables
        self.idempotency_table = ""
        self.rate_limit_tables: tuple[str, ...] = ()  # the counters, and the workspace's overrides
        self.counting = False
        self.phase = "endpoint"  # "auth" while the request authenticates
        self.calls: list[Call] = []

    def install(self, session) -> None:
        # Clients copy their session's handlers when they are made, so this must come first.
        session.register("provide-client-params.dynamodb", self._before)
        session.register("after-call.dynamodb", self._after)

    def _written(self, operation: str, params: dict) -> list[tuple[str, dict]] | None:
        """(table, key) of each item a write touches; None for a write this does not estimate."""
        if operation == "PutItem":
            return [(params["TableName"], self.tables.key_of(params["TableName"], params["Item"]))]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(params["TableName"], params["Key"])]
        if operation == "TransactWriteItems":
            touched = []
            for entry in params["TransactItems"]:
                ((_, action),) = entry.items()
                table = action["TableName"]
                touched.append((table, action.get("Key") or self.tables.key_of(table, action["Item"])))
            return touched
        return None

    def _before(self, params, model, context, **_):
        # Every call asks DynamoDB for its consumed capacity; PynamoDB already does, Powertools not.
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = "TOTAL"
        if not self.counting:
            return
        written = self._written(model.name, params) if model.name in WRITES else []
        before = None if written is None else [(t, k, self.tables.fetch(t, k)) for t, k in written]
        context["bench"] = {"params": dict(params), "phase": self.phase, "before": before}

    def _after(self, parsed, model, context, **_):
        seen = context.get("bench")
        if not self.counting or seen is None:
            return
        operation, params = model.name, seen["params"]
        rcu: float | None = 0
        wcu: float | None = 0
        if operation == "GetItem":
            rcu = read_units(item_size(parsed.get("Item")), bool(params.get("ConsistentRead")))
        elif operation == "Query":
            # Charged for the items read, summed and then rounded; we filter nothing and project
            # nothing, so the items returned are the items read.
            rcu = read_units(
                sum(item_size(item) for item in parsed.get("Items", [])), bool(params.get("ConsistentRead"))
            )
        elif operation in WRITES and seen["before"] is not None:
            transactional = operation == "TransactWriteItems"
            wcu = sum(
                self.tables.change_units(table, old, self.tables.fetch(table, key), transactional)
                for table, key, old in seen["before"]
            )
        else:  # an operation this does not estimate (none of ours today): "n/a", not a guess
            rcu = wcu = None
        tables = {params["TableName"]} if "TableName" in params else set()
        tables |= {table for table, _, _ in seen["before"] or []}  # a transaction names them inside
        reported = parsed.get("ConsumedCapacity") or []
        reported = [reported] if isinstance(reported, dict) else reported
        part = (
            "auth"
            if seen["phase"] == "auth"
            # A post's transaction that also claims its Idempotency-Key is the post's write.
            else "idempotency"
            if tables == {self.idempotency_table}
            else "rate limit"
            if tables & set(self.rate_limit_tables)
            else "endpoint"
        )
        self.calls.append(
            Call(
                operation, tuple(sorted(tables)), part, rcu, wcu, sum(item.get("CapacityUnits", 0) for item in reported)
            )
        )


# --- targets ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    text: str
    most: dict[str, int]  # calls allowed per category; others: none
    least: dict[str, int] = field(default_factory=dict)  # calls that must happen

    def met(self, counts: Counter) -> bool:
        return all(self.most.get(kind, 0) >= n for kind, n in counts.items()) and all(
            counts.get(kind, 0) >= n for kind, n in self.least.items()
        )


GET = Budget("1 read", {"read": 1})
LIST = Budget("1 query + ≤ 1 read", {"query": 1, "read": 1})
# A status's total is an attribute of the counter item "posts" plus what a "posts#{status}" item
# written before still holds: one query of the scope's counter items reads both.
STATUS_LIST = Budget("2 queries (the page, the counts)", {"query": 2})
CREATE = Budget("1 write", {"write": 1})
# Powertools writes the record twice: in progress (a conditional put), then completed (an update).
IDEMPOTENCY_RECORD = Budget("idempotency record", {"write": 2})
# One counter write on every request; the workspace's overrides are read as often as the key.
RATE_LIMIT = {
    "warm": Budget("rate limit 1 write", {"write": 1}, {"write": 1}),
    "cold": Budget("rate limit 1 write + ≤ 1 read", {"write": 1, "read": 1}, {"write": 1}),
    "+59 s": Budget("rate limit 1 write", {"write": 1}, {"write": 1}),
    "+61 s": Budget("rate limit 1 write + 1 read", {"write": 1, "read": 1}, {"write": 1, "read": 1}),
}
AUTH = {
    "warm": Budget("", {}),
    "cold": Budget("auth ≤ 1 read", {"read": 1}),
    "+59 s": Budget("auth cached: 0", {}),
    "+61 s": Budget("auth expired: 1 read", {"read": 1}, {"read": 1}),
}


# --- the endpoints ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    method: str
    path: str  # may name {post} or {group}, made by setup
    status: int
    target: Budget | None = None
    body: dict | None = None
    setup: str | None = None  # "post" or "group": what the request needs to exist first
    note: str = ""
    idempotency_key: bool = False


CASES = [
    Case("GET", "/v1/posts/{post}", 200, GET, setup="post"),
    Case("GET", "/v1/posts", 200, LIST, note="first page"),
    Case("GET", "/v1/posts?offset=20", 200, LIST),
    Case("GET", "/v1/posts?status=scheduled", 200, STATUS_LIST),
    Case("POST", "/v1/posts", 201, CREATE, body=POST),
    Case("POST", "/v1/posts", 201, CREATE, body=POST, note="Idempotency-Key", idempotency_key=True),
    Case("PATCH", "/v1/posts/{post}", 200, body={"content": "Edited copy"}, setup="post", note="content"),
    Case("PUT", "/v1/posts/{post}", 200, body={"schedule_at": FUTURE}, setup="post", note="schedules a draft"),
    Case("POST", "/v1/posts/{post}/publish", 202, setup="post"),
    Case("POST", "/v1/posts/{post}/duplicate", 201, setup="post"),
    Case("DELETE", "/v1/posts/{post}", 204, setup="post"),
    Case("GET", "/v1/posts/group/{group}", 200, LIST, setup="group", note="3 posts"),
    Case("DELETE", "/v1/posts/group/{group}", 204, setup="group", note="3 posts"),
    Case("GET", "/v1/integrations", 200, LIST),
    Case("GET", "/v1/api-keys", 200, LIST),
    Case("POST", "/v1/api-keys", 201, CREATE, body={"name": "Bench key"}),
]


class Bench:
    def __init__(self, client):
        self.client = client  # chalice.test.Client on app.app, as the tests drive it
        self.recorder = Recorder(Tables("us-east-1"))
        self.recorder.install(botocore_session())
        aws = provision("openpost-bench")
        self.settings = Settings.from_environ(aws.environment())
        self.recorder.idempotency_table = self.settings.table_name("idempotency")
        self.recorder.rate_limit_tables = (
            self.settings.table_name("rate-limits"),
            self.settings.table_name("workspaces"),
        )
        self.clock = ManualClock(START)
        self.new_container()
        created = container.services().workspaces.create("Acme")
        self.key = created.test_key
        for policy in ("default", "posts"):
            container.services().rate_limiter.set_override(created.workspace.id, policy, quota=100_000, window=3600)
        self.made = 0
        for n in range(SEEDED_POSTS):  # a third of them scheduled, for the status page
            self.create_post(**({"schedule_at": FUTURE} if n % 3 == 0 else {}))

    def new_container(self) -> None:
        """What a new Lambda container has: its own services, with an empty authentication cache."""
        services = container.Services(self.settings, clock=self.clock)
        keys = services.api_keys
        authenticate = keys.authenticate

        def marked(authorization):  # calls made while authenticating are counted apart
            self.recorder.phase = "auth"
            try:
                return authenticate(authorization)
            finally:
                self.recorder.phase = "endpoint"

        keys.authenticate = marked
        container.use(services)

    def warm_up(self) -> None:
        """Serve one post write, uncounted, as a container that has recently worked for this workspace
        has: its key and the workspace's integrations are then in the container's caches."""
        self.create_post()

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict | None]:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.key}", **(headers or {})}
        payload = json.dumps(body).encode() if body is not None else b""
        response = self.client.http.request(method, path, headers=headers, body=payload)
        return response.status_code, json.loads(response.body) if response.body else None

    def create_post(self, **fields) -> str:
        status, answer = self.request("POST", "/v1/posts", {**POST, **fields})
        if status != 201:
            raise SystemExit(f"setting up: creating a post answered {status}: {answer}")
        return answer["data"]["id"]

    def prepare(self, case: Case) -> str:
        """The request's path, after creating what it acts on (a fresh one each time: some delete it)."""
        self.made += 1
        if case.setup == "post":
            return case.path.format(post=self.create_post())
        if case.setup == "group":
            group = f"bench-group-{self.made}"
            for _ in range(3):
                self.create_post(group_id=group)
            return case.path.format(group=group)
        return case.path

    def measure(self, case: Case, path: str, cache: str) -> dict:
        headers = {"Idempotency-Key": f"bench-{self.made}"} if case.idempotency_key else None
        self.recorder.calls = []
        self.recorder.counting = True
        try:
            status, _ = self.request(case.method, path, case.body, headers)
        finally:
            self.recorder.counting = False
        return row(case, cache, status, self.recorder.calls)

    def run(self) -> list[dict]:
        rows = []
        for case in CASES:
            for cache in ("warm", "cold"):
                path = self.prepare(case)  # through the API, uncounted
                if cache == "cold":
                    self.new_container()
                else:
                    self.warm_up()
                rows.append(self.measure(case, path, cache))
        # The cache: a key read once, then used again just inside and just past 60 s.
        get = CASES[0]
        path = self.prepare(get)
        self.new_container()
        self.request("GET", path)
        for seconds, cache in ((59, "+59 s"), (2, "+61 s")):
            self.clock.advance(seconds=seconds)
            rows.append(self.measure(get, path, cache))
        return rows


def row(case: Case, cache: str, status: int, calls: list[Call]) -> dict:
    counts = {
        part: Counter(call.operation for call in calls if call.part == part)
        for part in ("endpoint", "idempotency", "auth", "rate limit")
    }
    kinds = {part: Counter(category(op) for op in ops.elements()) for part, ops in counts.items()}
    auth = AUTH[cache]
    rate_limit = RATE_LIMIT[cache]
    judged: list[tuple[Budget, Counter]] = [(auth, kinds["auth"]), (rate_limit, kinds["rate limit"])]
    endpoint = kinds["endpoint"]
    if case.target is not None:
        if case.idempotency_key:
            judged.append((IDEMPOTENCY_RECORD, kinds["idempotency"]))
        else:
            endpoint = endpoint + kinds["idempotency"]  # a record nobody asked for counts against the target
        judged.append((case.target, endpoint))
    if status != case.status:
        verdict = f"failed: HTTP {status}"
    elif not all(budget.met(found) for budget, found in judged):
        # Name the authentication when it is what went over: a warm row's target column is silent on it.
        verdict = "over" if auth.met(kinds["auth"]) else "over (auth)"
    else:
        verdict = "OK" if case.target is not None or cache != "warm" else "-"
    target = [case.target.text] if case.target else []
    if case.target and case.idempotency_key:
        target.append(IDEMPOTENCY_RECORD.text)
    if auth.text:
        target.append(auth.text)
    target.append(rate_limit.text)
    unknown = any(call.read_units is None or call.write_units is None for call in calls)
    label = f"{case.method} {case.path.replace('{post}', '{id}').replace('{group}', '{g}')}"
    return {
        "endpoint": label + (f" ({case.note})" if case.note else ""),
        "cache": cache,
        "status": status,
        "calls": {part: dict(ops) for part, ops in counts.items() if ops},
        "total_calls": len(calls),
        "read_units": None if unknown else sum(call.read_units for call in calls),
        "write_units": None if unknown else sum(call.write_units for call in calls),
        "moto_reported_units": sum(call.moto_reported for call in calls),
        "detail": [dataclasses.asdict(call) for call in calls],
        "target": "; ".join(target) or "-",
        "verdict": verdict,
    }


def describe_calls(calls: dict[str, dict[str, int]]) -> str:
    def listed(ops):
        return ", ".join(f"{op} {n}" for op, n in ops.items())

    text = listed(calls.get("endpoint", {})) or "none"
    for part in ("idempotency", "auth", "rate limit"):
        if part in calls:
            text += f" + {part} {listed(calls[part])}"
    return text


def units(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def markdown(rows: list[dict]) -> str:
    lines = [
        "DynamoDB calls per request (moto, in-process; capacity estimated from item sizes)",
        "",
        "| endpoint | cache | DynamoDB calls by operation | total | RCU / WCU | target | OK/over |",
        "|---|---|---|---:|---:|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['endpoint']} | {r['cache']} | {describe_calls(r['calls'])} | {r['total_calls']} "
            f"| {units(r['read_units'])} / {units(r['write_units'])} | {r['target']} | {r['verdict']} |"
        )
    missed = [f"{r['endpoint']} ({r['cache']})" for r in rows if r["verdict"] not in ("OK", "-")]
    lines += [
        "",
        "warm: the container served this workspace within the last minute, so its key and integrations are "
        "cached and no authentication call is expected (rows with no target still check that); cold: a new "
        "container, whose first request reads the key and, for a post write, the workspace's integrations.",
        f"RCU / WCU: {CAPACITY_NOTE}.",
        f"Missed: {', '.join(missed)}" if missed else "Every target met.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    from chalice.test import Client

    import app as application

    # The app prints its logs to stdout, and Powertools a metrics batch every 100 values even with
    # metrics disabled: kept out of the table, and shown on stderr only if something failed.
    app_output = io.StringIO()
    with mock_aws(), Client(application.app) as client, contextlib.redirect_stdout(app_output):
        try:
            rows = Bench(client).run()
        except BaseException:
            sys.stderr.write(app_output.getvalue())
            raise
        finally:
            container.use(None)
    if any(r["verdict"].startswith("failed") for r in rows):
        sys.stderr.write(app_output.getvalue())
    print(json.dumps({"capacity_units": CAPACITY_NOTE, "rows": rows}, indent=2) if args.json else markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

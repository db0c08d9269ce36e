"""Rate limits per API key: the RateLimit fields on every answer, 429 once a budget is spent, the
policies of the routes that create posts and media, operators' overrides, and failing open."""

from __future__ import annotations

import json
import logging
import re

import boto3
import pytest

from chalicelib.settings import RateLimit
from tests.conftest import problem, services_with
from tools import admin

# Small budgets, so that a test can spend them; the test clock stands at 12:00:00, the start of a
# minute, so a 60-second window has 60 seconds left.
SMALL = {
    "default": RateLimit(quota=5, window=60),
    "posts": RateLimit(quota=2, window=60),
    "media": RateLimit(quota=2, window=30),
}
POST = {"content": "Hello", "platforms": ["twitter"]}
UPLOAD = {"filename": "a.png", "content_type": "image/png", "size": 1000}


@pytest.fixture
def limited(aws, clock, services):
    with services_with(aws, clock, rate_limits=SMALL) as built:
        yield built


@pytest.fixture
def key(workspace):
    return workspace.test_key


def fields(answer):
    """The two RateLimit fields as {policy: {parameter: value}}."""

    def parse(value):
        members = {}
        for member in value.split(", "):
            name, *params = member.split(";")
            members[json.loads(name)] = {k: int(v) for k, v in (p.split("=") for p in params)}
        return members

    return parse(answer.headers["ratelimit-policy"]), parse(answer.headers["ratelimit"])


def test_every_answer_carries_the_policy_and_what_remains(api, limited, key, clock):
    ok = api.get("/v1/integrations", key)
    assert ok.status == 200
    assert ok.headers["ratelimit-policy"] == '"default";q=5;w=60'
    assert ok.headers["ratelimit"] == '"default";r=4;t=60'

    clock.advance(seconds=17)
    invalid = api.post("/v1/posts", key, body={"content": "no targets"})
    problem(invalid, 422)
    assert invalid.headers["ratelimit-policy"] == '"default";q=5;w=60, "posts";q=2;w=60'
    assert invalid.headers["ratelimit"] == '"default";r=3;t=43, "posts";r=1;t=43'

    clock.advance(seconds=0.5)
    missing = api.get("/v1/posts/0196a0c4-1111-7000-8000-00000000abcd", key)
    problem(missing, 404, "post_not_found")
    assert missing.headers["ratelimit"] == '"default";r=2;t=43'  # 42.5 s, never rounded down


def test_an_unauthenticated_request_is_not_counted_and_carries_no_fields(api, limited, key):
    for _ in range(6):
        refused = api.get("/v1/integrations", "op_test_sk_" + "x" * 40)
        problem(refused, 401, "invalid_api_key")
        assert "ratelimit" not in refused.headers and "ratelimit-policy" not in refused.headers
    assert fields(api.get("/v1/integrations", key))[1]["default"]["r"] == 4


def test_a_spent_budget_is_a_429_until_the_window_ends(api, limited, key, clock):
    for remaining in (4, 3, 2, 1, 0):
        assert fields(api.get("/v1/integrations", key))[1]["default"]["r"] == remaining
    clock.advance(seconds=20)
    refused = api.get("/v1/integrations", key)
    body = problem(refused, 429, "rate_limited")
    assert body["policy"] == "default" and "5 requests" in body["detail"]
    assert refused.headers["retry-after"] == "40"
    assert refused.headers["ratelimit"] == '"default";r=0;t=40'
    # Refused requests are not counted, and Retry-After is not earlier than the window's end.
    clock.advance(seconds=39.9)
    problem(api.get("/v1/integrations", key), 429, "rate_limited")
    clock.advance(seconds=0.1)
    again = api.get("/v1/integrations", key)
    assert again.status == 200 and again.headers["ratelimit"] == '"default";r=4;t=60'


def test_a_keys_budget_is_its_own(api, limited, workspace, key):
    other = api.post("/v1/api-keys", key, body={"name": "second"}).json["data"]["secret"]
    for _ in range(4):
        api.get("/v1/integrations", key)
    problem(api.get("/v1/integrations", key), 429, "rate_limited")
    # Another key of the same workspace and mode, and the live key, each have their whole budget.
    assert fields(api.get("/v1/integrations", other))[1]["default"]["r"] == 4
    assert fields(api.get("/v1/integrations", workspace.live_key))[1]["default"]["r"] == 4


def test_creating_posts_and_media_has_tighter_budgets_on_those_routes_only(api, limited, key, clock):
    draft = api.post("/v1/posts", key, body=POST)
    assert draft.status == 201
    assert fields(draft)[1] == {"default": {"r": 4, "t": 60}, "posts": {"r": 1, "t": 60}}
    copy = api.post(f"/v1/posts/{draft.json['data']['id']}/duplicate", key)
    assert copy.status == 201 and fields(copy)[1]["posts"]["r"] == 0
    spent = api.post("/v1/posts", key, body=POST)
    assert problem(spent, 429, "rate_limited")["policy"] == "posts"
    assert spent.headers["ratelimit"] == '"default";r=3;t=60, "posts";r=0;t=60'
    # Reading is not creating: other routes count against the default policy alone.
    read = api.get(f"/v1/posts/{draft.json['data']['id']}", key)
    assert read.status == 200 and read.headers["ratelimit-policy"] == '"default";q=5;w=60'
    # Media has its own budget (and here its own window: 30 s).
    upload = api.post("/v1/media/upload", key, body=UPLOAD)
    assert upload.status == 201
    assert fields(upload)[0] == {"default": {"q": 5, "w": 60}, "media": {"q": 2, "w": 30}}
    assert fields(upload)[1] == {"default": {"r": 1, "t": 60}, "media": {"r": 1, "t": 30}}
    clock.advance(seconds=30)  # a new media window; the minute's default budget goes on
    assert fields(api.post("/v1/media/upload", key, body=UPLOAD))[1] == {
        "default": {"r": 0, "t": 30},
        "media": {"r": 1, "t": 30},
    }


def test_a_workspace_override_set_with_the_admin_cli_takes_effect(api, limited, workspace, key, aws, clock, capsys):
    assert fields(api.post("/v1/posts", key, body=POST))[0]["posts"] == {"q": 2, "w": 60}
    capsys.readouterr()  # what the request printed (metrics, when another test left them on) is not the CLI's
    assert (
        admin.main(
            [
                "set-rate-limit",
                "--workspace",
                workspace.workspace.id,
                "--policy",
                "posts",
                "--quota",
                "3",
                "--window",
                "30",
                "--prefix",
                aws.prefix,
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["rate_limits"] == {"posts": {"quota": 3, "window": 30}}
    # A container that read the workspace's limits keeps them for up to a minute, as it keeps keys.
    clock.advance(seconds=61)
    answer = api.post("/v1/posts", key, body=POST)
    assert answer.status == 201
    assert fields(answer)[0]["posts"] == {"q": 3, "w": 30}
    assert fields(answer)[1]["posts"] == {"r": 2, "t": 29}
    api.post("/v1/posts", key, body=POST)
    api.post("/v1/posts", key, body=POST)
    problem(api.post("/v1/posts", key, body=POST), 429, "rate_limited")
    # Back to the deployment's default.
    assert (
        admin.main(
            [
                "set-rate-limit",
                "--workspace",
                workspace.workspace.id,
                "--policy",
                "posts",
                "--reset",
                "--prefix",
                aws.prefix,
            ]
        )
        == 0
    )
    clock.advance(seconds=61)
    assert fields(api.post("/v1/posts", key, body=POST))[0]["posts"] == {"q": 2, "w": 60}


def test_the_admin_cli_refuses_an_unknown_policy_or_a_window_that_does_not_nest(workspace, aws, capsys):
    where = ["--workspace", workspace.workspace.id, "--prefix", aws.prefix]
    assert admin.main(["set-rate-limit", "--policy", "uploads", "--quota", "3", *where]) == 2
    assert "no rate limit policy 'uploads'" in capsys.readouterr().err
    assert admin.main(["set-rate-limit", "--policy", "posts", "--quota", "3", "--window", "7", *where]) == 2
    assert "divides 3600" in capsys.readouterr().err
    assert (
        admin.main(
            ["set-rate-limit", "--policy", "posts", "--quota", "3", "--workspace", "nope", "--prefix", aws.prefix]
        )
        == 2
    )


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_counters_unavailable_the_request_is_served_logged_and_counted(api, limited, key, capsys, monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    def unreachable(**_):
        raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")  # metrics printed, as Lambda has them
    logs = Records()
    logging.getLogger("openpost").addHandler(logs)
    events = limited.rate_limiter.counters.client.meta.events
    events.register("before-call.dynamodb.UpdateItem", unreachable)
    try:
        served = [api.get("/v1/integrations", key) for _ in range(7)]  # more than the quota of 5
    finally:
        events.unregister("before-call.dynamodb.UpdateItem", unreachable)
        logging.getLogger("openpost").removeHandler(logs)
    assert [answer.status for answer in served] == [200] * 7
    assert served[0].headers["ratelimit-policy"] == '"default";q=5;w=60'
    assert "ratelimit" not in served[0].headers
    failures = [
        record
        for record in logs.records
        if record.getMessage() == "rate limit counters unavailable; request served uncounted"
    ]
    assert len(failures) == 7 and failures[0].cause == "EndpointConnectionError"
    # One metric data point per failure, in the EMF lines the middleware prints after each request.
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "RateLimitCounterFailures" in line]
    assert len(emitted) == 7 and all(line["RateLimitCounterFailures"] == [1.0] for line in emitted)
    # Once the counters are back, counting resumes where it was (nothing was counted meanwhile).
    assert fields(api.get("/v1/integrations", key))[1]["default"]["r"] == 4


def test_a_busy_key_is_counted_on_several_shards_that_add_up(api, aws, clock, services, workspace, key):
    """A key allowed 1,000 requests a second is counted on 10 items (100 a second each); the
    remaining is estimated from the one item a request landed on."""
    busy = {**SMALL, "default": RateLimit(quota=60000, window=60)}
    with services_with(aws, clock, rate_limits=busy):
        answers = [api.get("/v1/integrations", key) for _ in range(40)]
    remaining = [fields(answer)[1]["default"]["r"] for answer in answers]
    assert all(r % 10 == 0 and 60000 - 10 * 40 <= r < 60000 for r in remaining)
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(f"{aws.prefix}-rate-limits")
    items = table.scan()["Items"]
    assert len(items) > 1 and all(
        re.fullmatch(rf"{workspace.workspace.id}#test#[\w-]+#1777636800#\d", item["id"]) for item in items
    )
    assert sum(item["default@1777636800"] for item in items) == 40
    # Each item expires an hour after its hour.
    assert {item["expires_at"] for item in items} == {1777636800 + 2 * 3600}


def test_shards_share_the_quota_so_a_key_never_gets_more(api, aws, clock, services, key):
    # 20 requests per 10 s on items planned for 1 a second: 2 shards of 10 each.
    with services_with(aws, clock, rate_limits={"default": RateLimit(quota=20, window=10)}, rate_limit_shard_rate=1):
        answers = [api.get("/v1/integrations", key) for _ in range(40)]
    admitted = [answer for answer in answers if answer.status == 200]
    assert 10 < len(admitted) <= 20
    assert all(answer.headers["retry-after"] == "10" for answer in answers if answer.status == 429)


def test_limits_can_be_switched_off(api, aws, clock, services, key):
    with services_with(aws, clock, rate_limits_enabled=False):
        answer = api.get("/v1/integrations", key)
    assert answer.status == 200 and "ratelimit-policy" not in answer.headers


def test_a_key_refused_once_costs_no_more_writes_until_its_window_ends(api, limited, key, clock):
    """A client hammering with a spent key is refused by the container that refused it, from
    memory: one conditional write finds the budget spent, and no other write follows it until
    the window ends. Another policy's budget is still counted in DynamoDB."""
    writes = []
    events = limited.rate_limiter.counters.client.meta.events

    def count(**_):
        writes.append(1)

    events.register("before-call.dynamodb.UpdateItem", count)
    try:
        answers = [api.get("/v1/integrations", key) for _ in range(25)]
        assert [answer.status for answer in answers] == [200] * 5 + [429] * 20
        assert len(writes) == 6  # five admitted, one refused
        last = answers[-1]
        assert last.headers["retry-after"] == "60" and last.headers["ratelimit"] == '"default";r=0;t=60'
        clock.advance(seconds=30)
        assert api.get("/v1/integrations", key).headers["retry-after"] == "30"
        assert len(writes) == 6
        # The next window is counted again, from the first request.
        clock.advance(seconds=30)
        assert fields(api.get("/v1/integrations", key))[1]["default"]["r"] == 4
        assert len(writes) == 7
    finally:
        events.unregister("before-call.dynamodb.UpdateItem", count)


def test_a_raised_quota_admits_a_key_the_container_remembers_as_spent(api, aws, clock, workspace, key):
    # Overrides read on every request (no cache period), so the raise is seen in the same window.
    with services_with(aws, clock, rate_limits=SMALL, auth_cache_seconds=0) as built:
        for _ in range(6):
            api.get("/v1/integrations", key)
        problem(api.get("/v1/integrations", key), 429, "rate_limited")
        built.rate_limiter.set_override(workspace.workspace.id, "default", quota=10, window=60)
        answer = api.get("/v1/integrations", key)
    assert answer.status == 200 and fields(answer)[1]["default"]["r"] == 4

"""Schemathesis against our own OpenAPI document: no 5xx, and every answer is what the document says.

How the app is driven: over real HTTP, on a loopback port, by the local stack's server (chalice.local,
as `make run` serves it) running in this process, so moto (the ``aws`` fixture) stays in-process as it
does everywhere else. Real HTTP matters: the checks that probe on their own (a request without the
credentials, a deleted resource fetched again) send their probes without the run's session.

Each operation is its own pytest item, so it gets a fresh moto world from the conftest fixtures: a
workspace, posts in every state a client can reach, and a spare API key. A hook swaps those real ids
into the path about half the time. Without it nearly every ``{post_id}`` would be random and the run
would only ever see 404s.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import pytest
import requests
import schemathesis
from chalice.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config._checks import POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, PositiveDataAcceptanceConfig
from schemathesis.openapi.checks import UseAfterFree
from schemathesis.specs.openapi.checks import positive_data_acceptance, use_after_free

import app as application
from tools.devstack_http import LocalHttpApi
from tools.devstack_lambda import LocalLambdaContext

# The app served on a loopback port by the local stack's server (chalice.local, as `make run` serves
# it), in this process: moto stays in-process (each test's own world, through the container), and
# every request Schemathesis makes is real HTTP, the probes of its auth and resource checks too,
# which it sends without the run's session or credentials.
_SERVER = LocalHttpApi(
    application.app,
    "127.0.0.1",
    0,
    threading.Lock(),
    lambda: LocalLambdaContext("openpost-api", 512, 29, "us-east-1", "test"),
)
BASE_URL = f"http://127.0.0.1:{_SERVER.port}"
FUTURE = "2026-05-02T14:00:00Z"  # the test clock stands at 2026-05-01T12:00:00Z


def _served_document() -> dict:
    """The document exactly as GET /v1/openapi.json serves it (a public route, so no AWS is needed)."""
    with Client(application.app) as client:
        answer = client.http.get("/v1/openapi.json")
    assert answer.status_code == 200, answer.body
    return json.loads(answer.body)


# Disconnecting keeps the integration. The hosted API's guide ("Disconnect": "Marks the integration
# as disconnected. Scheduled posts targeting this integration will fail unless it's reconnected")
# makes DELETE /v1/integrations/{id} a change of status, not a removal: the integration is still
# there, with status "disconnected", so that it can be reconnected under the same id
# (docs/api.md; tests/integration/test_integration_lifecycle.py asserts it too).
# use_after_free expects a 404 after any successful DELETE, so for that one operation alone its
# finding is the documented behaviour: every other DELETE is still held to it.
_DISCONNECT = "DELETE /v1/integrations/{integration_id}"


@schemathesis.check
def use_after_free_but_disconnect_keeps(ctx, response, case):
    """Schemathesis' use_after_free, except after DELETE /v1/integrations/{id} (see above)."""
    try:
        return use_after_free(ctx, response, case)
    except UseAfterFree as failure:
        if failure.operation == _DISCONNECT:
            return None
        raise


@schemathesis.check
def positive_data_acceptance_but_callbacks(ctx, response, case):
    """Schemathesis' positive_data_acceptance, except on the OAuth callbacks: a callback carries a
    one-time state that only a connect just started knows, which no schema can describe, so any
    other value is refused (400), and rightly."""
    if case.operation.path.endswith("/callback"):
        return None
    return positive_data_acceptance(ctx, response, case)


# Every check Schemathesis has, with use_after_free and positive_data_acceptance as above.
# Negative cases (data the document forbids) must get a 4xx: negative_data_rejection catches a
# document that is stricter than the API, which the other checks cannot see. The checks with
# probes of their own send the same request without credentials or with made-up ones (which
# must be refused), and follow a resource deleted (which must be gone) or created (which must be
# there).
ALL_CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "positive_data_acceptance_but_callbacks",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "use_after_free_but_disconnect_keeps",
    "ensure_resource_availability",
]

schema = schemathesis.openapi.from_dict(_served_document())
schema.config.update(base_url=BASE_URL)
schema.config.generation.update(
    max_examples=30,  # per operation, in the fuzzing phase; about 50 s for the whole file
    deterministic=True,  # derandomize: the same cases on every run and every machine
    with_security_parameters=False,  # every case carries the workspace's real key (see the test)
    database="none",  # replay nothing from earlier runs, so a result depends on the code only
)
# object_level_authorization runs in test_one_workspace_key_cannot_read_another_workspaces_objects
# below: it needs several identities, and owners known from a scenario's earlier steps.
schema.config.checks.update(included_check_names=ALL_CHECKS)
# Schema-valid data must be accepted: a 2xx, or the answers the document gives for the state of
# things (404 an id that is not there, 409 a state conflict) and for meaning beyond shape (422 a
# character limit, a schedule in the past, a platform with no account: api-decisions' semantic
# validation, which no JSON Schema can state).
schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
    expected_statuses=[*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, "422"]
)
# The coverage phase also tries methods an operation lacks, expecting our 405. OPTIONS is left out:
# every path answers it as a CORS preflight (204 with Allow; chalicelib/api/edges.py).
schema.config.phases.coverage.unexpected_methods = {"get", "put", "post", "delete", "patch", "trace"}


# --- the transport -------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def served():
    """The app on its loopback port for the module's tests (bound at import, see BASE_URL)."""
    _SERVER.start()
    yield
    _SERVER.stop()


# --- real resources for the path parameters ------------------------------------------------------
@dataclass
class World:
    session: requests.Session
    headers: dict[str, str]
    ids: dict[str, list[str]] = field(default_factory=dict)  # path parameter name -> real ids


# The world of the operation under test. The hook below reads it while Hypothesis draws cases,
# which happens inside the test, after the fixture has built it.
CURRENT: dict[str, World] = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """About half the time, replace the generated ids by real ones of the current workspace."""
    world = CURRENT.get("world")
    if world is None or not path_parameters:
        return st.just(path_parameters)
    real = {name: world.ids[name] for name in path_parameters if world.ids.get(name)}
    if not real:
        return st.just(path_parameters)
    with_real = st.fixed_dictionaries({name: st.sampled_from(ids) for name, ids in real.items()}).map(
        lambda chosen: {**path_parameters, **chosen}
    )
    return st.one_of(st.just(path_parameters), with_real)


def _create(session: requests.Session, headers: dict[str, str], **body) -> dict:
    answer = session.post(
        f"{BASE_URL}/v1/posts", json={"content": "Hello", "platforms": ["twitter"], **body}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]


@pytest.fixture
def world(services, workspace):
    """A workspace with a draft, a scheduled thread, a post being published, two groups and a spare key."""
    # Budgets that hundreds of cases at one instant of the test clock do not spend, so every case
    # reaches its handler (tests/integration/test_rate_limits.py spends them on purpose).
    for policy in ("default", "posts", "media"):
        services.rate_limiter.set_override(workspace.workspace.id, policy, quota=10_000, window=60)
    session = requests.Session()
    headers = {"Authorization": f"Bearer {workspace.test_key}"}
    draft = _create(session, headers, tags=["a"], group_id="launch")
    scheduled = _create(
        session,
        headers,
        schedule_at=FUTURE,
        platforms=["twitter", "bluesky"],
        group_id="launch",
        segments=[{"content": "and more"}],
    )
    publishing = _create(session, headers, group_id="busy")
    answer = session.post(f"{BASE_URL}/v1/posts/{publishing['id']}/publish", headers=headers)
    assert answer.status_code == 202, answer.text
    # A second key, so that revoking or rotating a real key never locks the run out.
    spare = session.post(f"{BASE_URL}/v1/api-keys", json={"name": "spare"}, headers=headers)
    assert spare.status_code == 201, spare.text
    integrations = session.get(f"{BASE_URL}/v1/integrations", headers=headers).json()["data"]
    current = World(
        session=session,
        headers=headers,
        ids={
            "post_id": [draft["id"], scheduled["id"], publishing["id"]],
            "group_id": ["launch", "busy"],
            "key_id": [spare.json()["data"]["id"]],
            "integration_id": [item["id"] for item in integrations],
        },
    )
    CURRENT["world"] = current
    try:
        yield current
    finally:
        CURRENT.pop("world", None)
        session.close()


@pytest.mark.slow  # about 3 s per operation
@schema.parametrize()
# The examples of one operation share its world on purpose: state left by one case is just more
# state for the next one to meet, as in real use.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_matches_its_document(case, world):
    case.call_and_validate(session=world.session, headers=world.headers)


# --- what the fuzzing led to, pinned down ----------------------------------------------------------
@pytest.mark.parametrize("schedule_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
def test_a_schedule_outside_the_utc_calendar_is_a_422(world, schedule_at):
    answer = world.session.post(
        f"{BASE_URL}/v1/posts",
        headers=world.headers,
        json={"content": "x", "platforms": ["twitter"], "schedule_at": schedule_at},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "schedule_at"


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/v1/posts//publish"),  # an empty id: DynamoDB refuses empty key values
        ("GET", "/v1/posts/" + "a" * 129),  # DynamoDB refuses sort keys over 1024 bytes (moto does not)
        ("GET", "/v1/posts/group/" + "g" * 129),
        ("DELETE", "/v1/api-keys/" + "k" * 129),
    ],
)
def test_an_id_that_cannot_exist_is_a_404(world, method, path):
    answer = world.session.request(method, BASE_URL + path, headers=world.headers)
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"] == "application/problem+json" and answer.json()["code"] == "not_found"


def test_an_empty_idempotency_key_is_refused_not_ignored(world):
    answer = world.session.post(
        f"{BASE_URL}/v1/api-keys", json={"name": "x"}, headers={**world.headers, "Idempotency-Key": ""}
    )
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_idempotency_key", answer.text


def test_a_disconnected_integration_stays_readable_and_leaves_the_default_list(world):
    """The hosted API's guide: "Disconnect" marks the integration as disconnected (scheduled posts on
    it fail unless it is reconnected), and "List integrations" answers "all active connected
    accounts". So after a DELETE the integration answers 200 with status "disconnected", the
    default list no longer holds it, and the list asked for disconnected ones does."""
    integration_id = world.ids["integration_id"][0]
    url = f"{BASE_URL}/v1/integrations/{integration_id}"
    assert world.session.delete(url, headers=world.headers).status_code == 204
    shown = world.session.get(url, headers=world.headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["data"]["status"] == "disconnected"
    listed = world.session.get(f"{BASE_URL}/v1/integrations", headers=world.headers).json()["data"]
    assert integration_id not in [item["id"] for item in listed]
    assert {item["status"] for item in listed} <= {"active", "needs_refresh"}
    disconnected = world.session.get(f"{BASE_URL}/v1/integrations?status=disconnected", headers=world.headers)
    assert [item["id"] for item in disconnected.json()["data"]] == [integration_id]
    # Nothing can be planned on it until it is reconnected.
    slot = world.session.get(f"{url}/next-slot", headers=world.headers)
    assert slot.status_code == 409 and slot.json()["code"] == "integration_not_active", slot.text
    assert world.session.delete(url, headers=world.headers).status_code == 204  # and again: idempotent


# --- object-level authorization: two workspaces, each with its own key ---------------------------
# Schemathesis' object_level_authorization check needs to know who owns an object: here, whoever
# created it in an earlier step of a stateful scenario (POST /v1/posts, then GET /v1/posts/{id}).
# Each step is sent as one identity of a Web Fuzzing Commons document; after every successful read
# the check replays it with the other workspace's key and fails if that key gets the object too.
def _ola_schema(tmp_path, keys: dict[str, str]):
    identities = {
        "auth": [
            {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {key}"}]}
            for name, key in keys.items()
        ]
    }
    document = tmp_path / "identities.json"
    document.write_text(json.dumps(identities))
    config = schemathesis.config.SchemathesisConfig.from_dict(
        {"base-url": BASE_URL, "auth": {"wfc": {"path": str(document), "peers": list(keys)}}}
    )
    ola = schemathesis.openapi.from_dict(_served_document(), config=config)
    ola.config.generation.update(deterministic=True, database="none", with_security_parameters=False)
    # The checks with probes of their own, and the data checks, run in the test above; here, with the
    # conformance checks, use_after_free, which follows a scenario's DELETE with reads of the same
    # resource: a disconnect followed by a GET of the integration is where its exception applies
    # (see _DISCONNECT).
    ola.config.checks.update(
        included_check_names=[
            "object_level_authorization",
            "not_a_server_error",
            "status_code_conformance",
            "content_type_conformance",
            "response_schema_conformance",
            "use_after_free_but_disconnect_keeps",
        ]
    )

    # Generated posts are nearly all refused (422: no platform named, a media URL that is not a URL),
    # rightly, so a scenario would seldom create anything to read: created posts are made valid.
    @ola.hook("map_body").apply_to(method="POST", path="/v1/posts")
    def a_valid_post(context, body):
        return {"content": "Only my workspace may read this", "platforms": ["twitter"]}

    @ola.hook
    def after_call(context, case, response):
        OWNER_READS.append((case.method, case.path, case.auth_identity, response.status_code))

    return ola


OWNER_READS: list[tuple[str, str, str | None, int]] = []


class _TablesSnapshot:
    """The keys of every DynamoDB item as they stand now; ``restore`` deletes every item added since
    (the scenarios of the state machine below create, they seldom delete)."""

    def __init__(self):
        import boto3

        self._dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        self._tables = {name: self._keys(name) for name in self._dynamodb.list_tables()["TableNames"]}
        assert any(self._tables.values()), "no items found: not the tables the app uses"

    def _key_names(self, table: str) -> list[str]:
        return [k["AttributeName"] for k in self._dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]

    def _keys(self, table: str) -> set[str]:
        names = self._key_names(table)
        pages = self._dynamodb.get_paginator("scan").paginate(
            TableName=table,
            ProjectionExpression=", ".join(f"#k{i}" for i in range(len(names))),
            ExpressionAttributeNames={f"#k{i}": name for i, name in enumerate(names)},
        )
        return {json.dumps(item, sort_keys=True) for page in pages for item in page["Items"]}

    def restore(self) -> None:
        for table, kept in self._tables.items():
            for added in self._keys(table) - kept:
                self._dynamodb.delete_item(TableName=table, Key=json.loads(added))


@pytest.mark.slow
def test_one_workspace_key_cannot_read_another_workspaces_objects(services, workspace, tmp_path):
    other = services.workspaces.create("Globex")
    for owner in (workspace, other):
        for policy in ("default", "posts", "media"):
            services.rate_limiter.set_override(owner.workspace.id, policy, quota=10_000, window=60)
    ola = _ola_schema(tmp_path, {"acme": workspace.test_key, "globex": other.test_key})
    OWNER_READS.clear()
    snapshot = _TablesSnapshot()

    class EachScenarioFromTheSameWorld(ola.as_state_machine()):
        # Hypothesis replays and extends earlier scenarios and requires the API to answer a replay
        # as it did the first time; objects left by earlier scenarios (50 webhooks is a workspace's
        # limit, for one) would change those answers ("inconsistent data generation").
        def teardown(self):
            snapshot.restore()

    EachScenarioFromTheSameWorld.run(
        settings=settings(
            max_examples=100,
            derandomize=True,
            database=None,
            deadline=None,
            stateful_step_count=6,
            suppress_health_check=list(HealthCheck),
        )
    )
    # The check replays each successful read of an object by its id with the other key: the run must
    # have made some (which objects depends on the scenarios drawn; in this file's full run the reads
    # drawn differ from a run of this test alone, so any object type counts).
    reads = {
        (path, who) for method, path, who, status in OWNER_READS if method == "GET" and "{" in path and status == 200
    }
    assert reads, sorted({(m, p, w, s) for m, p, w, s in OWNER_READS})

"""Bluesky, end to end, against the official Bluesky server (the PDS) running on loopback.

Accounts are connected through the API with app passwords, posts go out through the real publisher
(moto's queues, the very Lambda handler), and every check reads the records back from the server:
what a Bluesky user's app would show is what is in those records.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from chalicelib.data.integrations import IntegrationStore
from chalicelib.domain.credentials import AccountCredentials
from chalicelib.platforms import adapter_for
from chalicelib.platforms.base import (
    AuthenticationFailedError,
    Part,
    PermanentError,
    PlatformRateLimitedError,
    TransientError,
)
from tests.conftest import TIME_LEFT, problem, services_with
from tests.pds.server import LocalPds

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def pds():
    server = LocalPds()
    yield server
    server.stop()


@pytest.fixture
def services(aws, clock, pds):
    """The conftest's services, pointed at the local Bluesky server (loopback allowed, as in local
    development only)."""
    with services_with(
        aws, clock, bluesky_service_url=pds.url, allow_loopback_platforms=True, allow_loopback_media_urls=True
    ) as built:
        yield built


@pytest.fixture
def key(workspace):
    return workspace.live_key


@pytest.fixture
def alice(pds):
    return pds.create_account("alice")


def connect(api, key, account, **extra):
    return api.post(
        "/v1/integrations/bluesky/connect",
        key,
        {"identifier": account.handle, "password": account.app_password, **extra},
    )


@pytest.fixture
def integration(api, key, alice):
    answer = connect(api, key, alice)
    assert answer.status == 201, answer
    return answer.json["data"]


def publish_now(api, key, **fields):
    answer = api.post("/v1/posts", key, {"platforms": ["bluesky"], **fields})
    assert answer.status == 201, answer
    post_id = answer.json["data"]["id"]
    assert api.post(f"/v1/posts/{post_id}/publish", key).status == 202
    return post_id


def target_of(api, key, post_id):
    post = api.get(f"/v1/posts/{post_id}", key).json["data"]
    (target,) = post["post_targets"]
    return post, target


def held_credentials(services, workspace, integration_id):
    return AccountCredentials(services.credentials, workspace.workspace.id, "live", integration_id)


def adapter(services, workspace, integration_id):
    found = IntegrationStore().get(workspace.workspace.id, "live", integration_id)
    return adapter_for(found, held_credentials(services, workspace, integration_id))


def untyped(value):
    """An object as written, less the optional "$type" the SDK adds to nested objects."""
    return {key: item for key, item in value.items() if key != "$type"}


def reply_of(record):
    return {key: untyped(ref) for key, ref in untyped(record["value"]["reply"]).items()}


def byte_span(text, piece):
    start = text.encode().index(piece.encode())
    return {"byteStart": start, "byteEnd": start + len(piece.encode())}


# --- connecting ------------------------------------------------------------------------------------
def test_connect_with_an_app_password(api, key, alice, services, workspace, integration):
    assert integration["platform"] == "bluesky" and integration["username"] == alice.handle
    assert integration["status"] == "active" and integration["sandbox"] is False
    stored = IntegrationStore().get(workspace.workspace.id, "live", integration["id"])
    assert stored.profile["did"] == alice.did and stored.profile["service"] == services.settings.bluesky_service_url
    # Nothing secret can be read from the table: the app password and the session are sealed.
    item = boto3.client("dynamodb").get_item(
        TableName=f"{services.settings.resource_prefix}-integrations",
        Key={"scope": {"S": f"{workspace.workspace.id}#live"}, "id": {"S": integration["id"]}},
    )["Item"]
    held = held_credentials(services, workspace, integration["id"]).value
    access_jwt, refresh_jwt = held["session"].split(":::")[2:4]
    raw = json.dumps(item)
    for secret in (alice.app_password, access_jwt, refresh_jwt, held["session"]):
        assert secret not in raw
    assert held["app_password"] == alice.app_password and held["service"] == services.settings.bluesky_service_url
    # Connecting the same account again keeps the same integration.
    again = connect(api, key, alice)
    assert again.status == 201 and again.json["data"]["id"] == integration["id"]


def test_connect_takes_the_display_name_from_the_profile(api, key, pds):
    carol = pds.create_account("carol")
    pds.xrpc(
        "POST",
        "com.atproto.repo.putRecord",
        carol.access_jwt,
        json={
            "repo": carol.did,
            "collection": "app.bsky.actor.profile",
            "rkey": "self",
            "record": {"$type": "app.bsky.actor.profile", "displayName": "Carol ☕"},
        },
    ).raise_for_status()
    answer = connect(api, key, carol)
    assert answer.status == 201 and answer.json["data"]["display_name"] == "Carol ☕"


def test_connect_refuses_bad_credentials_and_unreachable_servers(api, key, alice, workspace):
    wrong = api.post("/v1/integrations/bluesky/connect", key, {"identifier": alice.handle, "password": "nope-nope"})
    assert wrong.status == 422 and wrong.json["code"] == "invalid_credentials", wrong
    main = api.post("/v1/integrations/bluesky/connect", key, {"identifier": alice.handle, "password": alice.password})
    assert main.status == 422 and main.json["code"] == "app_password_required", main
    down = connect(api, key, alice, service="http://127.0.0.1:9")
    assert problem(down, 503, "platform_unavailable")["detail"].startswith("Bluesky could not be reached")
    not_https = connect(api, key, alice, service="http://example.com")
    refused = problem(not_https, 422, "invalid_url")
    assert refused["errors"][0]["field"] == "service" and "https" in refused["errors"][0]["message"]
    sandboxed = connect(api, workspace.test_key, alice)
    assert sandboxed.status == 422 and sandboxed.json["code"] == "live_mode_required"
    assert api.get("/v1/integrations", key).json["total"] == 0


def test_get_connect_explains_credentials(api, key):
    answer = api.get("/v1/integrations/bluesky/connect", key)
    assert answer.status == 200
    data = answer.json["data"]
    assert data["auth_type"] == "credentials" and data["method"] == "POST"
    assert {field["name"] for field in data["fields"]} == {"identifier", "password", "service"}


# --- publishing ------------------------------------------------------------------------------------
def test_a_post_with_links_mentions_hashtags_langs_and_a_gate(api, key, pds, alice, integration, runtime):
    bob = pds.create_account("bob")
    text = (
        f"🎉🚀 Launch day, café open! Notes at https://example.com/notes?x=1, docs on openpost.dev. "
        f"Thanks @{bob.handle} #OpenPost"
    )
    post_id = publish_now(
        api, key, content=text, platform_settings={"bluesky": {"langs": ["en", "pt"], "who_can_reply": "mentioned"}}
    )
    runtime.drain()
    post, target = target_of(api, key, post_id)
    assert post["status"] == "published" and target["status"] == "published", target["error"]
    uri = target["platform_post_id"]
    rkey = uri.rsplit("/", 1)[-1]
    assert uri == f"at://{alice.did}/app.bsky.feed.post/{rkey}"
    assert target["platform_post_url"] == f"https://bsky.app/profile/{alice.handle}/post/{rkey}"

    record = pds.get_record(uri)
    value = record["value"]
    assert value["text"] == text and value["langs"] == ["en", "pt"]
    facets = sorted(value["facets"], key=lambda facet: facet["index"]["byteStart"])
    assert [(untyped(facet["index"]), facet["features"]) for facet in facets] == [
        (
            byte_span(text, "https://example.com/notes?x=1"),
            [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/notes?x=1"}],
        ),
        (byte_span(text, "openpost.dev"), [{"$type": "app.bsky.richtext.facet#link", "uri": "https://openpost.dev"}]),
        (byte_span(text, f"@{bob.handle}"), [{"$type": "app.bsky.richtext.facet#mention", "did": bob.did}]),
        (byte_span(text, "#OpenPost"), [{"$type": "app.bsky.richtext.facet#tag", "tag": "OpenPost"}]),
    ]
    assert "reply" not in value

    gate = pds.get_record(f"at://{alice.did}/app.bsky.feed.threadgate/{rkey}")["value"]
    assert gate["post"] == uri and gate["allow"] == [{"$type": "app.bsky.feed.threadgate#mentionRule"}]


def test_a_thread_is_a_reply_chain_with_root_and_parent(api, key, pds, alice, integration, runtime):
    post_id = publish_now(
        api,
        key,
        content="Thread start 🧵",
        segments=[{"content": "Second"}, {"content": "Third"}],
        platform_settings={"bluesky": {"who_can_reply": "nobody"}},
    )
    runtime.drain()
    post, target = target_of(api, key, post_id)
    assert post["status"] == "published", target
    records = {item["uri"]: item for item in pds.list_records(alice.did, "app.bsky.feed.post")}
    assert len(records) == 3
    first, second, third = (
        next(r for r in records.values() if r["value"]["text"] == text)
        for text in ("Thread start 🧵", "Second", "Third")
    )
    assert first["uri"] == target["platform_post_id"] and "reply" not in first["value"]
    root = {"uri": first["uri"], "cid": first["cid"]}
    assert reply_of(second) == {"root": root, "parent": root}
    assert reply_of(third) == {"root": root, "parent": {"uri": second["uri"], "cid": second["cid"]}}
    # The gate covers the thread's first post only, as Bluesky's app does.
    gates = pds.list_records(alice.did, "app.bsky.feed.threadgate")
    assert [(g["value"]["post"], g["value"]["allow"]) for g in gates] == [(first["uri"], [])]


def test_a_retried_part_finds_its_record_instead_of_posting_twice(pds, alice, integration, services, workspace):
    part = Part(
        text="Only once",
        index=0,
        total=1,
        idempotency_key="0196a0c4-1111-7000-8000-00000000abcd:0",
        settings={"who_can_reply": "following"},
        time_left=TIME_LEFT,
    )
    first = adapter(services, workspace, integration["id"]).publish(part)
    again = adapter(services, workspace, integration["id"]).publish(part)  # a new worker, same part
    assert again == first and first.extra["cid"]
    assert len(pds.list_records(alice.did, "app.bsky.feed.post")) == 1
    assert len(pds.list_records(alice.did, "app.bsky.feed.threadgate")) == 1


def test_two_images_go_up_as_blobs_with_alt_text_and_aspect_ratio(
    api, key, pds, alice, integration, runtime, media_host
):
    """The acceptance path: one image uploaded in two steps, one named by URL, both with alt text."""
    import requests as http

    from tests import media_samples

    chart = media_samples.image("image/jpeg", 800, 450)
    ticket = api.post(
        "/v1/media/upload",
        key,
        {"filename": "chart.jpg", "content_type": "image/jpeg", "size": len(chart), "alt_text": "A rising bar chart"},
    ).json["data"]
    assert http.put(ticket["upload_url"], data=chart, headers=ticket["upload_headers"]).status_code == 200
    runtime.drain("media")
    assert api.get(f"/v1/media/{ticket['id']}", key).json["data"]["status"] == "ready"
    team = media_samples.image("image/png", 300, 400)
    url = media_host.add("/team.png", team, "image/png")

    answer = api.post(
        "/v1/posts",
        key,
        {
            "platforms": ["bluesky"],
            "content": "Both",
            "media": {"images": [{"url": url, "alt_text": "The team, smiling"}]},
            "media_ids": [ticket["id"]],
        },
    )
    assert answer.status == 201, answer
    assert api.post(f"/v1/posts/{answer.json['data']['id']}/publish", key).status == 202
    runtime.drain()
    _, target = target_of(api, key, answer.json["data"]["id"])
    assert target["status"] == "published", target["error"]
    embed = pds.get_record(target["platform_post_id"])["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert [(image["alt"], image["image"]["mimeType"], untyped(image["aspectRatio"])) for image in embed["images"]] == [
        ("A rising bar chart", "image/jpeg", {"width": 800, "height": 450}),
        ("The team, smiling", "image/png", {"width": 300, "height": 400}),
    ]
    blobs = [pds.get_blob(alice.did, image["image"]["ref"]["$link"]) for image in embed["images"]]
    assert blobs == [chart, team]


def test_an_image_over_bluesky_s_limit_is_refused_before_any_upload(pds, alice, integration, services, workspace):
    import io

    from chalicelib.platforms.base import Attachment

    big = b"\x89PNG" + b"0" * 1_000_001
    part = Part(
        text="Too big",
        index=0,
        total=1,
        idempotency_key="0196a0c4-2222-7000-8000-00000000abce:0",
        media=[
            Attachment(id="m1", kind="image", content_type="image/png", size=len(big), opener=lambda: io.BytesIO(big))
        ],
        time_left=TIME_LEFT,
    )
    with pytest.raises(PermanentError) as refused:
        adapter(services, workspace, integration["id"]).publish(part)
    assert refused.value.code == "media_too_large"
    assert pds.list_records(alice.did, "app.bsky.feed.post") == []


# --- sessions --------------------------------------------------------------------------------------
def test_a_session_near_its_end_is_refreshed_and_stored(pds, alice, integration, services, workspace, monkeypatch):
    from atproto import Client

    before = held_credentials(services, workspace, integration["id"]).value["session"]
    # Three hours on, the stored access token is past its end: the SDK refreshes before the call.
    real_now = Client.get_current_time
    monkeypatch.setattr(Client, "get_current_time", lambda self: real_now(self) + dt.timedelta(hours=3))
    part = Part(
        text="After a refresh",
        index=0,
        total=1,
        idempotency_key="0196a0c4-3333-7000-8000-00000000abcd:0",
        time_left=TIME_LEFT,
    )
    ref = adapter(services, workspace, integration["id"]).publish(part)
    after = held_credentials(services, workspace, integration["id"]).value["session"]
    assert after != before and after.split(":::")[3] != before.split(":::")[3]  # a new refresh token
    assert pds.get_record(ref.id)["value"]["text"] == "After a refresh"


def test_a_session_the_server_refuses_is_replaced_by_logging_in_again(pds, alice, integration, services, workspace):
    held = held_credentials(services, workspace, integration["id"])
    handle, did, access, refresh, endpoint = held.value["session"].split(":::")
    forged = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")  # a signature that fails
    held.replace({**held.value, "session": ":::".join([handle, did, forged, refresh, endpoint])})
    part = Part(
        text="After a new login",
        index=0,
        total=1,
        idempotency_key="0196a0c4-4444-7000-8000-00000000abcd:0",
        time_left=TIME_LEFT,
    )
    ref = adapter(services, workspace, integration["id"]).publish(part)
    assert pds.get_record(ref.id)["value"]["text"] == "After a new login"
    assert held_credentials(services, workspace, integration["id"]).value["session"].split(":::")[2] != forged


def test_a_revoked_app_password_marks_the_integration_needs_refresh(
    api, key, pds, alice, integration, runtime, services, workspace
):
    held = held_credentials(services, workspace, integration["id"])
    handle, did, access, refresh, endpoint = held.value["session"].split(":::")
    pds.revoke_app_password(alice)  # the user revoked it in Bluesky's settings
    # ...and the access token has run out since (a forged signature stands for an expired one).
    held.replace({**held.value, "session": ":::".join([handle, did, access[:-4] + "AAAA", refresh, endpoint])})
    post_id = publish_now(api, key, content="Will not go out")
    runtime.drain()
    post, target = target_of(api, key, post_id)
    assert post["status"] == "failed" and target["error"]["code"] == "integration_needs_refresh", target
    assert IntegrationStore().get(workspace.workspace.id, "live", integration["id"]).status == "needs_refresh"
    assert pds.list_records(alice.did, "app.bsky.feed.post") == []
    with pytest.raises(AuthenticationFailedError):
        adapter(services, workspace, integration["id"]).publish(
            Part(
                text="x",
                index=0,
                total=1,
                idempotency_key="0196a0c4-5555-7000-8000-00000000abcd:0",
                time_left=TIME_LEFT,
            )
        )


# --- errors, without a server ------------------------------------------------------------------------
def _sdk_error(kind, status, error=None, headers=None):
    from atproto_client import exceptions
    from atproto_client.models.common import XrpcError
    from atproto_client.request import Response

    if status is None:
        return getattr(exceptions, kind)()
    content = XrpcError(error=error, message="said the server") if error else None
    return getattr(exceptions, kind)(
        Response(success=False, status_code=status, content=content, headers=headers or {})
    )


def test_server_answers_map_to_the_engines_error_kinds():
    from chalicelib.platforms.bluesky import as_platform_error

    limited = as_platform_error(_sdk_error("RateLimitExceededError", 429, "RateLimitExceeded", {"retry-after": "42"}))
    assert isinstance(limited, PlatformRateLimitedError) and limited.retry_after == 42
    # The reset is measured from the server's own Date, whatever our clock says.
    answered = int(time.time()) - 3600
    headers = {"ratelimit-reset": str(answered + 120), "date": email.utils.formatdate(answered, usegmt=True)}
    reset = as_platform_error(_sdk_error("RateLimitExceededError", 429, "RateLimitExceeded", headers))
    assert isinstance(reset, PlatformRateLimitedError) and reset.retry_after == 120
    assert type(as_platform_error(_sdk_error("RequestException", 503, "ServiceUnavailable"))) is TransientError
    assert type(as_platform_error(_sdk_error("NetworkError", 502))) is TransientError
    assert type(as_platform_error(_sdk_error("NetworkError", None))) is TransientError  # no answer at all
    refused = as_platform_error(_sdk_error("BadRequestError", 400, "InvalidRequest"))
    assert type(refused) is PermanentError and "said the server" in refused.message
    assert isinstance(as_platform_error(_sdk_error("BadRequestError", 400, "ExpiredToken")), AuthenticationFailedError)
    assert isinstance(
        as_platform_error(_sdk_error("UnauthorizedError", 401, "AuthenticationRequired")), AuthenticationFailedError
    )


def test_record_keys_are_stable_valid_tids_in_part_order():
    from chalicelib.platforms.bluesky import record_key

    keys = [record_key(f"0196a0c4-1111-7000-8000-00000000abcd:{index}") for index in range(3)]
    assert keys == [record_key(f"0196a0c4-1111-7000-8000-00000000abcd:{index}") for index in range(3)]
    assert keys == sorted(keys) and len(set(keys)) == 3
    for key in keys + [record_key("not-a-uuid:0")]:
        assert len(key) == 13 and key[0] in "234567abcdefghij" and set(key) <= set("234567abcdefghijklmnopqrstuvwxyz")


# --- the cost of atproto -----------------------------------------------------------------------------
def test_publishing_elsewhere_never_imports_atproto():
    """atproto takes over a second to import: a function that never publishes to Bluesky must not
    load it. Checked in a fresh interpreter, through the API and the publisher's handler."""
    script = """
import os, sys
import tests.conftest  # fake AWS credentials, quiet Powertools
from moto import mock_aws
from chalicelib import container
from chalicelib.clock import ManualClock
from chalicelib.settings import Settings
from tests.conftest import ApiClient
from tools.provision import provision
import datetime as dt
with mock_aws():
    aws = provision("openpost-test")
    services = container.Services(Settings.from_environ(aws.environment()),
                                  clock=ManualClock(dt.datetime(2026, 5, 1, 12, tzinfo=dt.timezone.utc)))
    container.use(services)
    from chalice.test import Client
    import app
    from tests.integration.lambda_runtime import LambdaRuntime
    key = services.workspaces.create("Acme").test_key
    with Client(app.app) as client:
        api = ApiClient(client)
        post = api.post("/v1/posts", key, {"content": "Hi", "platforms": ["twitter", "bluesky"]}).json["data"]
        assert api.post(f"/v1/posts/{post['id']}/publish", key).status == 202
        LambdaRuntime(aws).drain()
        assert api.get(f"/v1/posts/{post['id']}", key).json["data"]["status"] == "published"
loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("atproto", "atproto_client", "atproto_core"))
print("loaded:", loaded)
sys.exit(1 if loaded else 0)
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]

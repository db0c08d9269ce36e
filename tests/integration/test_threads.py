"""Threads, end to end against a local server that behaves as Meta documents the Threads API
(tests/platform_servers/threads_api.py): connecting an account through OAuth (code, short-lived
token, long-lived token), then posts, images, carousels, videos and reply-chain threads through the
real publisher path (the API, moto's queues, the publisher's Lambda handler), and the failures
Threads users meet: outages, throttling, an answer lost after Threads published, media Threads could
not process, and tokens that need refreshing.

Threads fetches media from a URL. The media bucket here is moto's S3 served on loopback (the
deployment's ``aws_endpoint_url``, as in the local stack), so the presigned URLs the adapter hands
Threads are really fetched by the local server."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from chalicelib.clock import ManualClock
from chalicelib.data.integrations import IntegrationStore
from chalicelib.domain.credentials import AccountCredentials
from chalicelib.domain.publishing import RetryLaterError
from chalicelib.platforms.base import OutcomeUnknownError, Part, TransientError
from chalicelib.platforms.threads import adapter as threads_adapter
from tests import media_samples
from tests.conftest import TIME_LEFT, RunningClock, services_with
from tests.integration.conftest import (
    ASKS_FOR_JSON,
    callback_path,
    held,
    oauth_connect,
    publish_directly,
    start_oauth_connect,
)
from tests.platform_servers.threads_api import LONG_LIVED_SECONDS, ThreadsApiServer
from tools.provision import put_app_credentials

PUBLIC_URL = "https://api.openpost.test"
CALLBACK = f"{PUBLIC_URL}/api/platforms/threads/callback"
USER_ID = "17841400000000001"


@pytest.fixture
def threads():
    with ThreadsApiServer(
        client_id="990602627938098", client_secret="threads-app-secret", video_processing_seconds=0.0
    ) as server:
        server.add_user(id=USER_ID, username="openpost", name="openpost HQ")
        yield server


@pytest.fixture
def bucket_endpoint(aws):
    """moto's S3 on loopback: the same moto state as the rest of the test, reachable by URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def clock():
    """Threads's local server keeps real time (token lifetimes, rate-limit resets): the deployment's
    clock runs with it, and further when a test moves it."""
    return RunningClock()


@pytest.fixture
def services(aws, clock, threads, bucket_endpoint):
    put_app_credentials(aws, "threads", {"client_id": threads.client_id, "client_secret": threads.client_secret})
    with services_with(
        aws,
        clock,
        threads_api_url=threads.url,
        threads_authorize_url=threads.authorize_url,
        public_base_url=PUBLIC_URL,
        aws_endpoint_url=bucket_endpoint,
    ) as built:
        yield built


@pytest.fixture
def key(workspace):
    return workspace.live_key


def start_connect(api, key):
    return start_oauth_connect(api, key, "threads")


def connect(api, key, threads, user_id=None):
    return oauth_connect(api, key, "threads", threads, user_id)


@pytest.fixture
def account(api, key, threads):
    connected = connect(api, key, threads)
    threads.calls.clear()
    return connected


def publish_now(api, key, **fields):
    answer = api.post("/v1/posts", key, {"content": "Hello Threads", "platforms": ["threads"], **fields})
    assert answer.status == 201, answer
    post_id = answer.json["data"]["id"]
    assert api.post(f"/v1/posts/{post_id}/publish", key).status == 202
    return post_id


def read(api, key, post_id):
    return api.get(f"/v1/posts/{post_id}", key).json["data"]


def upload(api, key, runtime, data: bytes, content_type: str, filename: str, alt_text=None) -> str:
    fields = {"filename": filename, "content_type": content_type, "size": len(data)}
    if alt_text:
        fields["alt_text"] = alt_text
    ticket = api.post("/v1/media/upload", key, fields).json["data"]
    assert requests.put(ticket["upload_url"], data=data, headers=ticket["upload_headers"]).status_code == 200
    runtime.drain("media")
    media = api.get(f"/v1/media/{ticket['id']}", key).json["data"]
    assert media["status"] == "ready", media
    return media["id"]


def publishes(threads):
    return [call for call in threads.calls if call[1] == "threads_publish"]


# --- connecting ---------------------------------------------------------------------------------------
def test_connect_answers_the_authorization_window_url(api, key, services, threads):
    started = start_connect(api, key)
    assert started["auth_type"] == "oauth" and started["redirect_uri"] == CALLBACK
    url = urlsplit(started["url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == threads.authorize_url
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert query == {
        "client_id": threads.client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "threads_basic,threads_content_publish,threads_manage_insights",
        "state": started["state"],
    }


def test_the_callback_stores_a_long_lived_token_and_the_account(api, key, threads, services, workspace):
    integration = connect(api, key, threads)
    assert (integration["platform"], integration["username"], integration["display_name"]) == (
        "threads",
        "openpost",
        "openpost HQ",
    )
    assert integration["status"] == "active"
    tokens = held(services, workspace, integration["id"]).value
    # The code became a short-lived token, exchanged at once (th_exchange_token) for a long-lived one,
    # which is the one kept: the short-lived token dies within the hour.
    ((short, long_lived),) = threads.exchanges
    assert tokens["access_token"] == long_lived != short
    assert threads.tokens[long_lived].kind == "long"
    assert LONG_LIVED_SECONDS - 60 < tokens["expires_at"] - time.time() <= LONG_LIVED_SECONDS
    assert [endpoint for _, endpoint, _ in threads.calls] == ["oauth/access_token", "access_token", "me"]


def test_a_used_code_is_refused(api, key, threads):
    started = start_connect(api, key)
    redirect = threads.authorize(started["url"])
    code = parse_qs(urlsplit(redirect).query)["code"][0]
    threads.exchange_code(
        {
            "client_id": threads.client_id,
            "client_secret": threads.client_secret,
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": CALLBACK,
        }
    )  # spent elsewhere
    answer = api.get(callback_path(redirect), headers=ASKS_FOR_JSON)
    assert answer.status == 400 and answer.json["code"] == "oauth_code_invalid"
    assert api.get("/v1/integrations", key).json["total"] == 0


# --- publishing -----------------------------------------------------------------------------------------
def test_a_post_reaches_threads_with_its_reply_control(api, key, threads, runtime, account):
    post_id = publish_now(
        api, key, content="Hello Threads ✨", platform_settings={"threads": {"reply_control": "accounts_you_follow"}}
    )
    runtime.drain()
    (post,) = threads.posts
    assert (post["media_type"], post["text"], post["reply_control"], post["reply_to_id"]) == (
        "TEXT",
        "Hello Threads ✨",
        "accounts_you_follow",
        None,
    )
    target = read(api, key, post_id)["post_targets"][0]
    assert target["status"] == "published"
    assert target["platform_post_id"] == post["id"] and target["platform_post_url"] == post["permalink"]
    # Container, its status, publish, the permalink: the token goes as a header, never in a URL.
    assert [endpoint for _, endpoint, _ in threads.calls] == ["threads", "object", "threads_publish", "object"]
    assert all("access_token" not in params for _, _, params in threads.calls)


def test_a_three_part_thread_is_a_reply_chain(api, key, threads, runtime, account):
    post_id = publish_now(
        api,
        key,
        content="One",
        segments=[{"content": "Two"}, {"content": "Three"}],
        platform_settings={"threads": {"reply_control": "mentioned_only"}},
    )
    runtime.drain()
    assert [p["text"] for p in threads.posts] == ["One", "Two", "Three"]  # no (1/3) suffixes
    assert [p["reply_to_id"] for p in threads.posts] == [None, threads.posts[0]["id"], threads.posts[1]["id"]]
    assert {p["reply_control"] for p in threads.posts} == {"mentioned_only"}
    target = read(api, key, post_id)["post_targets"][0]
    assert target["status"] == "published" and target["platform_post_id"] == threads.posts[0]["id"]


def test_an_image_goes_as_a_presigned_url_of_the_bucket(api, key, threads, runtime, account, bucket_endpoint):
    data = media_samples.image("image/png", 400, 300, seed=5)
    media_id = upload(api, key, runtime, data, "image/png", "badge.png", alt_text="A round green badge")
    post_id = publish_now(api, key, content="Our badge", media=[media_id])
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published"
    (post,) = threads.posts
    assert (post["media_type"], post["text"], post["alt_text"], post["data"]) == (
        "IMAGE",
        "Our badge",
        "A round green badge",
        data,
    )
    (fetch,) = threads.fetches  # fetched once, from our bucket
    assert fetch.status == 200 and fetch.url.startswith(bucket_endpoint + "/")
    assert media_id in fetch.url and "Signature=" in fetch.url and "Expires=" in fetch.url


def test_several_images_go_as_a_carousel_in_the_authors_order(api, key, threads, runtime, account):
    images = [media_samples.image("image/png", 200, 200, seed=seed) for seed in (1, 2, 3)]
    ids = [
        upload(api, key, runtime, data, "image/png", f"photo{n}.png", alt_text=f"Photo {n}")
        for n, data in enumerate(images)
    ]
    post_id = publish_now(api, key, content="Three photos", media=ids)
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published"
    (post,) = threads.posts
    assert post["media_type"] == "CAROUSEL" and post["text"] == "Three photos"
    assert [child["data"] for child in post["children"]] == images
    assert [child["alt_text"] for child in post["children"]] == ["Photo 0", "Photo 1", "Photo 2"]
    assert len(publishes(threads)) == 1  # the carousel, published once


def test_a_video_is_published_once_threads_has_processed_it(api, key, threads, runtime, account):
    threads.process_next(seconds=1.2)  # Threads takes a moment with a video
    data = media_samples.video("video/mp4", 1280, 720)
    media_id = upload(api, key, runtime, data, "video/mp4", "clip.mp4")
    post_id = publish_now(api, key, content="A clip", media=[media_id])
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published"
    (post,) = threads.posts
    assert post["media_type"] == "VIDEO" and post["data"] == data
    statuses = [call for call in threads.calls if call[1] == "object" and "status" in call[2].get("fields", "")]
    assert len(statuses) >= 2  # asked again while IN_PROGRESS
    assert len(publishes(threads)) == 1  # never published before FINISHED


def test_a_video_threads_cannot_process_fails_the_post_with_its_reason(api, key, threads, runtime, account):
    threads.process_next(seconds=0, error="INVALID_DURATION")
    media_id = upload(api, key, runtime, media_samples.video("video/mp4"), "video/mp4", "clip.mp4")
    post_id = publish_now(api, key, content="A clip", media=[media_id])
    runtime.drain()
    target = read(api, key, post_id)["post_targets"][0]
    assert target["status"] == "failed" and target["error"]["code"] == "media_rejected"
    assert "INVALID_DURATION" in target["error"]["message"]
    assert threads.posts == [] and publishes(threads) == []


# --- failures ---------------------------------------------------------------------------------------
def test_a_500_is_retried_and_publishes_once(api, key, threads, runtime, services, account):
    post_id = publish_now(api, key)
    threads.fail_next(1, status=500, on="threads_publish")
    with pytest.raises(RetryLaterError):
        publish_directly(services, runtime)
    assert read(api, key, post_id)["post_targets"][0]["error"]["code"] == "platform_unavailable"
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published" and len(threads.posts) == 1
    # The retry took up the container the first attempt created: one container, asked about first.
    assert [endpoint for _, endpoint, _ in threads.calls].count("threads") == 1


def test_throttling_is_retried_later(api, key, threads, runtime, services, account):
    post_id = publish_now(api, key)
    threads.rate_limit_next(1, on="threads", code=4)  # Graph throttling: HTTP 400, code 4
    with pytest.raises(RetryLaterError):
        publish_directly(services, runtime)
    assert read(api, key, post_id)["post_targets"][0]["error"]["code"] == "rate_limited"
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published" and len(threads.posts) == 1


def test_the_24_hour_posting_quota_waits_an_hour(api, key, threads, runtime, services, account):
    threads.posts_per_day = 1
    publish_now(api, key, content="First")
    runtime.drain()
    post_id = publish_now(api, key, content="Second")
    with pytest.raises(RetryLaterError) as later:
        publish_directly(services, runtime)
    assert later.value.seconds == threads_adapter.QUOTA_WAIT_SECONDS
    error = read(api, key, post_id)["post_targets"][0]["error"]
    assert error["code"] == "rate_limited" and "24 hours" in error["message"]
    assert [p["text"] for p in threads.posts] == ["First"]


def test_an_answer_lost_after_publish_is_outcome_unknown_and_never_republished(
    api, key, threads, runtime, services, account
):
    post_id = publish_now(api, key, content="Only once")
    threads.drop_after_accept_next(on="threads_publish")
    assert publish_directly(services, runtime) == "failed"  # at once: no retry is even scheduled
    post = read(api, key, post_id)
    assert post["status"] == "failed" and post["post_targets"][0]["error"]["code"] == "outcome_unknown"
    runtime.drain()
    assert [p["text"] for p in threads.posts] == ["Only once"] and len(publishes(threads)) == 1


# --- tokens ------------------------------------------------------------------------------------------------
def test_a_token_near_its_end_is_refreshed_and_the_new_one_stored(
    api, key, threads, runtime, services, workspace, account
):
    credentials = held(services, workspace, account["id"])
    before = credentials.value["access_token"]
    threads.advance(55 * 24 * 3600)  # 5 days left at Threads
    credentials.replace({**credentials.value, "expires_at": int(time.time()) + 5 * 24 * 3600})
    post_id = publish_now(api, key)
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published"
    ((refreshed, new),) = threads.refreshes
    assert refreshed == before and held(services, workspace, account["id"]).value["access_token"] == new
    assert held(services, workspace, account["id"]).value["expires_at"] > time.time() + 59 * 24 * 3600
    assert [endpoint for _, endpoint, _ in threads.calls][0] == "refresh_access_token"  # before posting


def test_a_token_too_young_to_refresh_is_used_as_it_is(api, key, threads, runtime, services, workspace, account):
    # Threads refreshes a token only once it is 24 hours old; until its end it still works.
    credentials = held(services, workspace, account["id"])
    credentials.replace({**credentials.value, "expires_at": int(time.time()) + 3600})
    post_id = publish_now(api, key)
    runtime.drain()
    assert read(api, key, post_id)["status"] == "published" and threads.refreshes == []


def test_a_revoked_token_flags_the_integration(api, key, threads, runtime, account):
    threads.revoke_tokens()  # the user removed openpost in Threads' settings
    post_id = publish_now(api, key)
    runtime.drain()
    target = read(api, key, post_id)["post_targets"][0]
    assert target["status"] == "failed" and target["error"]["code"] == "integration_needs_refresh"
    assert api.get(f"/v1/integrations/{account['id']}", key).json["data"]["status"] == "needs_refresh"
    assert threads.posts == []


# --- waiting within the worker's time -------------------------------------------------------------------
class Waiting(ManualClock):
    """The worker's clock; a pause passes on Threads' clock too."""

    def __init__(self, threads):
        super().__init__()
        self.threads, self.pauses = threads, self.slept

    def sleep(self, seconds):
        super().sleep(seconds)
        self.threads.advance(seconds)


def _adapter(services, workspace, account, waiting):
    integration = IntegrationStore().get(workspace.workspace.id, "live", account["id"])
    held_credentials = AccountCredentials(services.credentials, integration.workspace_id, "live", integration.id)
    return threads_adapter.Threads.build(integration, held_credentials, deployment=services.deployment, clock=waiting)


def test_a_video_still_processing_at_the_budget_is_taken_up_by_the_next_attempt(
    api, key, runtime, threads, services, workspace, account
):
    waiting = Waiting(threads)
    worker = _adapter(services, workspace, account, waiting)
    media_id = upload(api, key, runtime, media_samples.video("video/mp4"), "video/mp4", "long.mp4")
    from chalicelib.domain.attachments import attachments

    # The part as the engine hands it over: the file's stored snapshot, read from our bucket.
    (attachment,) = attachments(
        [{"id": media_id, "kind": "video", "content_type": "video/mp4", "size": 4096, "key": None}], None
    )
    kept = {}
    threads.process_next(seconds=120)  # longer than the part may wait
    part = Part(
        text="Long clip",
        index=0,
        total=1,
        idempotency_key="t:0",
        media=[attachment],
        time_left=40.0,
        remember=kept.__setitem__,
    )
    with pytest.raises(TransientError) as error:
        worker.publish(part)
    assert error.value.code == "media_still_processing" and sum(waiting.pauses) <= 20.0
    assert publishes(threads) == [] and list(kept) == [threads_adapter.CONTAINER_HANDLE]

    threads.advance(120)
    again = Part(
        text="Long clip",
        index=0,
        total=1,
        idempotency_key="t:0",
        media=[attachment],
        time_left=40.0,
        uploads=dict(kept),
    )
    ref = worker.publish(again)
    assert [p["id"] for p in threads.posts] == [ref.id]
    assert [endpoint for _, endpoint, _ in threads.calls].count("threads") == 1  # one container, taken up


def test_a_container_found_published_is_never_published_again(api, key, threads, services, workspace, account):
    worker = _adapter(services, workspace, account, Waiting(threads))
    kept = {}
    threads.fail_next(1, status=500, on="threads_publish")
    with pytest.raises(TransientError):
        worker.publish(
            Part(text="Once", index=0, total=1, idempotency_key="o:0", remember=kept.__setitem__, time_left=TIME_LEFT)
        )
    # Meanwhile the container got published (the answer to a publish was lost on the way back).
    container_id = kept[threads_adapter.CONTAINER_HANDLE]["container_id"]
    token = held(services, workspace, account["id"]).value["access_token"]
    assert (
        requests.post(
            f"{threads.url}/v1.0/me/threads_publish",
            data={"creation_id": container_id},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).status_code
        == 200
    )
    with pytest.raises(OutcomeUnknownError):
        worker.publish(
            Part(text="Once", index=0, total=1, idempotency_key="o:0", uploads=dict(kept), time_left=TIME_LEFT)
        )
    assert len(threads.posts) == 1

"""The media acceptance path on X and Mastodon, end to end: two images uploaded in two steps with alt
text (the PUT to moto's S3, S3's notification to the verifier), one post to an X account and a
Mastodon account connected through the API, the publisher's Lambda handler fed from moto's queue,
and what each platform's local server stored read back: the exact bytes, in order, with alt text.
(Bluesky's is in test_bluesky.py, against the real Bluesky server.)"""

from __future__ import annotations

import pytest
import requests
from mastodon_mock.config import SeedAccount, SeedConfig
from mastodon_mock.testing import MockServer

from tests import media_samples
from tests.conftest import services_with
from tests.integration.test_x import CALLBACK, callback_path, register_x_app, start_connect, x_settings
from tests.platform_servers.x_api import XApiServer

TOKEN = "openpost-mastodon-token-media"


@pytest.fixture
def x():
    with XApiServer(client_id="openpost-client", client_secret="openpost-secret") as server:
        server.add_user(id="1460000000000000001", username="openpost", name="openpost HQ")
        yield server


@pytest.fixture
def mastodon():
    seed = SeedConfig(accounts=[SeedAccount(username="openpost", display_name="openpost", access_token=TOKEN)])
    with MockServer(seed=seed) as server:
        yield server.base_url


@pytest.fixture
def services(aws, clock, x):
    register_x_app(aws, x)
    with services_with(aws, clock, **x_settings(x), allow_loopback_platforms=True) as built:
        yield built


@pytest.fixture
def key(workspace):
    return workspace.live_key


def upload(api, key, runtime, data: bytes, content_type: str, filename: str, alt_text: str) -> str:
    ticket = api.post(
        "/v1/media/upload",
        key,
        {"filename": filename, "content_type": content_type, "size": len(data), "alt_text": alt_text},
    ).json["data"]
    assert requests.put(ticket["upload_url"], data=data, headers=ticket["upload_headers"]).status_code == 200
    runtime.drain("media")
    media = api.get(f"/v1/media/{ticket['id']}", key).json["data"]
    assert media["status"] == "ready", media
    return media["id"]


def test_two_images_with_alt_text_reach_x_and_mastodon(api, key, runtime, x, mastodon):
    started = start_connect(api, key)
    assert started["redirect_uri"] == CALLBACK
    back = callback_path(x.authorize(started["url"]))  # X, with media.write
    assert api.get(back, headers={"Accept": "application/json"}).status == 200
    answer = api.post("/v1/integrations/mastodon/connect", key, {"instance_url": mastodon, "access_token": TOKEN})
    assert answer.status == 201, answer

    photos = [
        (media_samples.image("image/jpeg", 1200, 675), "image/jpeg", "stage.jpg", "The stage before the talk"),
        (media_samples.image("image/png", 400, 400, seed=3), "image/png", "badge.png", "A round green badge"),
    ]
    ids = [upload(api, key, runtime, *photo) for photo in photos]
    created = api.post("/v1/posts", key, {"content": "Launch day", "platforms": ["twitter", "mastodon"], "media": ids})
    assert created.status == 201, created
    post_id = created.json["data"]["id"]
    assert api.post(f"/v1/posts/{post_id}/publish", key).status == 202
    runtime.drain()
    post = api.get(f"/v1/posts/{post_id}", key).json["data"]
    assert post["status"] == "published", post["post_targets"]
    results = post["platform_results"]

    (tweet,) = [tweet for tweet in x.tweets if tweet["id"] == results["twitter"]["post_id"]]
    assert [(item["data"], item["media_type"], item["alt_text"]) for item in tweet["media"]] == [
        (data, content_type, alt) for data, content_type, _, alt in photos
    ]

    status = requests.get(
        f"{mastodon}/api/v1/statuses/{results['mastodon']['post_id']}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    ).json()
    attached = status["media_attachments"]
    assert [(item["type"], item["description"]) for item in attached] == [("image", alt) for *_, alt in photos]
    assert [requests.get(item["url"], timeout=5).content for item in attached] == [data for data, *_ in photos]

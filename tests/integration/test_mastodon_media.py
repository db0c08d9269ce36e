"""Mastodon statuses with images and video.

The media itself goes to mastodon-mock, a real server of Mastodon's client API, and what it stored is
read back through that API (the status's ``media_attachments``, and the files at their URLs), as a
follower's client would see them. mastodon-mock processes every upload at once, so the waits for a
file still processing (202, then 206 until 200), and the instance's refusals of an upload, are shown
by a small server that follows Mastodon's documentation (tests/platform_servers/mastodon_media.py).

The adapter's waits run on a clock the test moves: no test sleeps for real.
"""

from __future__ import annotations

import io

import pytest
import requests

from chalicelib.clock import ManualClock
from chalicelib.data.integrations import IntegrationStore
from chalicelib.domain.records import Integration
from chalicelib.platforms.base import (
    Attachment,
    AuthenticationFailedError,
    Part,
    PermanentError,
    PlatformRateLimitedError,
    TransientError,
)
from chalicelib.platforms.mastodon import Mastodon
from tests import media_samples
from tests.conftest import TIME_LEFT
from tests.integration.conftest import MASTODON_TOKEN as TOKEN
from tests.integration.conftest import connect
from tests.platform_servers import mastodon_media
from tests.platform_servers.mastodon_media import MediaProcessingServer


@pytest.fixture
def services(chat_services):
    return chat_services


@pytest.fixture
def key(workspace):
    return workspace.live_key


class Waiting(ManualClock):
    """The adapter's clock: sleeping moves it on at once, and each pause is kept."""

    @property
    def pauses(self) -> list:
        return self.slept


class Held:
    def __init__(self, value: dict) -> None:
        self.value = value


def adapter(instance_url: str, token: str = TOKEN, profile: dict = None, waiting: Waiting = None) -> Mastodon:
    integration = Integration(
        id="i",
        workspace_id="w",
        mode="live",
        platform="mastodon",
        username="openpost",
        display_name="openpost",
        status="active",
        created_at=None,
        updated_at=None,
        profile=profile or {},
    )
    waiting = waiting or Waiting()
    return Mastodon(
        integration,
        Held({"instance_url": instance_url, "access_token": token}),
        clock=waiting,
    )


def image(media_id: str, alt_text=None, *, content_type="image/png", seed=1, filename=None, **declared) -> Attachment:
    data = media_samples.image(content_type, 64, 48, seed=seed)
    facts = {"size": len(data), "width": 64, "height": 48, **declared}
    return Attachment(
        id=media_id,
        kind="image",
        content_type=content_type,
        alt_text=alt_text,
        filename=f"{media_id}.png" if filename is None else filename,
        opener=lambda: io.BytesIO(data),
        **facts,
    )


def video(media_id: str, alt_text=None, *, content_type="video/mp4", width=1280, height=720) -> Attachment:
    data = media_samples.video(content_type, width, height)
    return Attachment(
        id=media_id,
        kind="video",
        content_type=content_type,
        size=len(data),
        alt_text=alt_text,
        filename=f"{media_id}.{'mov' if content_type == 'video/quicktime' else 'mp4'}",
        width=width,
        height=height,
        opener=lambda: io.BytesIO(data),
    )


def part(text: str, media: list, key: str = "t:0") -> Part:
    return Part(text=text, index=0, total=1, idempotency_key=key, media=media, time_left=TIME_LEFT)


def fetch(url: str) -> bytes:
    answer = requests.get(url, timeout=5)
    answer.raise_for_status()
    return answer.content


# --- on mastodon-mock ------------------------------------------------------------------------------
def test_two_images_with_their_descriptions(mastodon):
    photos = [
        image("m1", "A red kite over the ridge", seed=1),
        image("m2", "The same kite, landing in the grass", content_type="image/jpeg", seed=2, filename="landing.jpg"),
    ]
    ref = adapter(mastodon.url).publish(part("Kites today", photos))
    status = mastodon.get(f"/api/v1/statuses/{ref.id}")
    assert status["content"] == "<p>Kites today</p>" and ref.url == status["url"]
    attached = status["media_attachments"]
    assert [(item["type"], item["description"]) for item in attached] == [
        ("image", "A red kite over the ridge"),
        ("image", "The same kite, landing in the grass"),
    ]
    assert [fetch(item["url"]) for item in attached] == [photo.read() for photo in photos]  # in the author's order


def test_a_video_with_its_description(mastodon):
    clip = video("v1", "Waves breaking on the harbour wall")
    ref = adapter(mastodon.url).publish(part("", [clip]))
    (attached,) = mastodon.get(f"/api/v1/statuses/{ref.id}")["media_attachments"]
    assert (attached["type"], attached["description"]) == ("video", "Waves breaking on the harbour wall")
    assert fetch(attached["url"]) == clip.read()


def test_a_repeated_part_uploads_again_but_makes_one_status(mastodon):
    # The engine asks again when an answer was lost; the status's Idempotency-Key makes the second
    # call return the first status, and the second upload is simply never attached.
    first = adapter(mastodon.url).publish(part("Once", [image("m1", "A kite")], key="target-7:0"))
    again = adapter(mastodon.url).publish(part("Once", [image("m1", "A kite")], key="target-7:0"))
    assert again.id == first.id
    assert len(mastodon.statuses()) == 1
    assert len(mastodon.get(f"/api/v1/statuses/{first.id}")["media_attachments"]) == 1


class UploadTripwire:
    """A fault rule on the server's upload route: still armed afterwards means nothing was uploaded."""

    def __init__(self, instance) -> None:
        self.url = instance.url
        rule = {
            "match": {"methods": ["POST"], "path": "/api/v2/media"},
            "effect": {"type": "status", "status": 503},
            "count": 1,
        }
        answer = requests.post(f"{self.url}/api/v1/_mock/faults", json=rule, timeout=5)
        answer.raise_for_status()
        self.id = answer.json()["id"]

    def armed(self) -> bool:
        rules = requests.get(f"{self.url}/api/v1/_mock/faults", timeout=5).json()
        return any(rule["id"] == self.id and rule["remaining"] == 1 for rule in rules)


def test_more_attachments_than_the_connected_server_allows_are_refused_before_uploading(
    api, key, services, workspace, mastodon
):
    shown = connect(api, key, "mastodon", {"instance_url": mastodon.url, "access_token": TOKEN})
    integration = IntegrationStore().get(workspace.workspace.id, "live", shown["id"])
    tripwire = UploadTripwire(mastodon)
    five = [image(f"m{n}", f"Photo {n}", seed=n) for n in range(1, 6)]
    publisher = Mastodon(integration, Held({"instance_url": mastodon.url, "access_token": TOKEN}))
    with pytest.raises(PermanentError) as refused:
        publisher.publish(part("Too many", five))
    assert refused.value.code == "too_many_media" and "at most 4" in refused.value.message
    assert tripwire.armed() and mastodon.statuses() == []


@pytest.mark.parametrize(
    "media, code",
    [
        ([video("v1", content_type="video/quicktime")], "media_type_not_supported"),  # not among its types
        ([image("m1", size=10 * 1_048_576)], "media_too_large"),  # 10 MiB: not under it
        ([image("m1", width=5000, height=4000)], "media_too_large"),  # over 16.7 MP
        ([video("v1", width=1920, height=1280)], "media_too_large"),  # over 2.3 MP of video
        ([video("v1"), image("m1")], "too_many_media"),  # a video goes alone
    ],
    ids=["type", "image-bytes", "image-pixels", "video-pixels", "video-and-image"],
)
def test_the_servers_media_limits_are_checked_before_uploading(mastodon, media, code):
    # The limits as the server reports them, which is what a connected account's profile keeps.
    instance = mastodon.get("/api/v2/instance")
    profile = {
        "domain": instance["domain"],
        "max_media_attachments": 4,
        "media_attachments": instance["configuration"]["media_attachments"],
    }
    tripwire = UploadTripwire(mastodon)
    with pytest.raises(PermanentError) as refused:
        adapter(mastodon.url, profile=profile).publish(part("Refused", media))
    assert refused.value.code == code
    assert tripwire.armed() and mastodon.statuses() == []


def test_media_within_the_servers_limits_goes_out(mastodon):
    instance = mastodon.get("/api/v2/instance")
    profile = {
        "domain": instance["domain"],
        "max_media_attachments": 4,
        "media_attachments": instance["configuration"]["media_attachments"],
    }
    limits = profile["media_attachments"]
    photos = [image(f"m{n}", f"Photo {n}", seed=n, size=limits["image_size_limit"] - 1) for n in range(1, 5)]
    ref = adapter(mastodon.url, profile=profile).publish(part("Four", photos))
    assert len(mastodon.get(f"/api/v1/statuses/{ref.id}")["media_attachments"]) == 4


# --- on a server that processes media in the background --------------------------------------------
@pytest.fixture
def processing():
    with MediaProcessingServer(ready_after=2) as server:
        yield server


def on(server: MediaProcessingServer, waiting: Waiting = None) -> Mastodon:
    return adapter(server.base_url, token=mastodon_media.TOKEN, waiting=waiting)


def test_adapters_built_for_a_deployment_share_its_session_and_clock(processing):
    """Adapters are handed the container's one HTTP session and its clock when built: a second
    adapter reuses the connection the first one opened, and their waits pass on that clock."""
    from chalicelib.platforms import http, registry
    from chalicelib.platforms.base import Deployment

    shared, waiting = http.new_session(), Waiting()
    deployment = Deployment(settings=None, session=shared, clock=waiting)
    first, second = (
        registry.adapter_for(
            adapter(processing.base_url, token=mastodon_media.TOKEN).integration,
            Held({"instance_url": processing.base_url, "access_token": mastodon_media.TOKEN}),
            deployment=deployment,
        )
        for _ in range(2)
    )
    assert first.session is shared and second.session is shared and first.clock is waiting
    first.publish(part("A clip", [video("v1")]))
    (pool,) = shared.get_adapter(processing.base_url).poolmanager.pools._container.values()
    opened = pool.num_connections
    second.publish(part("Another", [image("m1")], key="t2:0"))
    assert pool.num_connections == opened == 1  # the second adapter's calls went over the same connection
    assert waiting.pauses == [1.0, 2.0, 1.0, 2.0]  # both waits for processing, on the deployment's clock


def test_a_video_still_processing_is_checked_until_ready(processing):
    waiting = Waiting()
    ref = on(processing, waiting).publish(part("A clip", [video("v1", "Harbour at dusk")]))
    assert processing.calls == ["upload", "check", "check", "status"]  # 202, then 206, then 200
    assert waiting.pauses == [1.0, 2.0]
    (upload,) = processing.uploads
    assert (upload["filename"], upload["content_type"], upload["description"]) == (
        "v1.mp4",
        "video/mp4",
        "Harbour at dusk",
    )
    assert upload["data"] == video("v1").read()
    (status,) = processing.statuses
    assert ref.id == status["id"] and [item["id"] for item in status["media_attachments"]] == [upload["id"]]


def test_every_file_is_uploaded_before_the_first_check(processing):
    on(processing).publish(part("Two", [image("m1", "One"), image("m2", "Two", seed=2)]))
    assert processing.calls[:2] == ["upload", "upload"] and processing.calls[-1] == "status"
    assert [item["description"] for item in processing.uploads] == ["One", "Two"]


def test_the_wait_ends_with_the_time_the_worker_has_left():
    """A worker with 40 s left (its Lambda context said so) keeps the adapter's reserve of them and
    waits only the rest, where a fresh one would wait its whole budget."""
    waiting = Waiting()
    short = Part(
        text="A long clip", index=0, total=1, idempotency_key="t:0", media=[video("v1", "A long clip")], time_left=40.0
    )
    with MediaProcessingServer(ready_after=None) as server:
        with pytest.raises(TransientError) as later:
            on(server, waiting).publish(short)
    assert later.value.code == "media_still_processing"
    assert sum(waiting.pauses) == pytest.approx(40.0 - Mastodon.reserve)
    assert server.statuses == []


def test_still_processing_at_the_end_of_the_budget_is_tried_again_later():
    waiting = Waiting()
    with MediaProcessingServer(ready_after=None) as server:
        with pytest.raises(TransientError) as later:
            on(server, waiting).publish(part("A long clip", [video("v1", "A long clip")]))
    assert later.value.code == "media_still_processing" and not isinstance(later.value, PlatformRateLimitedError)
    assert sum(waiting.pauses) == pytest.approx(TIME_LEFT - Mastodon.reserve)
    assert max(waiting.pauses) <= 5.0 and server.calls.count("check") == len(waiting.pauses)
    assert "status" not in server.calls and server.statuses == []


def test_a_retry_takes_up_a_file_still_processing_instead_of_uploading_again():
    """Uploading again on each retry would restart the instance's processing every time; the kept
    media id is checked at once instead."""
    kept = {}

    def attempt():
        return Part(
            text="A long clip",
            index=0,
            total=1,
            idempotency_key="clip:0",
            uploads=dict(kept),
            media=[video("v1", "A long clip")],
            remember=kept.__setitem__,
            time_left=TIME_LEFT,
        )

    with MediaProcessingServer(ready_after=None) as server:
        with pytest.raises(TransientError):
            on(server, Waiting()).publish(attempt())
        (upload,) = server.uploads
        assert kept == {"v1": {"media_id": upload["id"]}}
        server.ready_after = 1  # processing has finished meanwhile
        server.calls.clear()
        waiting = Waiting()
        ref = on(server, waiting).publish(attempt())
    assert server.calls == ["check", "status"] and waiting.pauses == []
    assert len(server.uploads) == 1
    (status,) = server.statuses
    assert ref.id == status["id"] and [item["id"] for item in status["media_attachments"]] == [upload["id"]]


def test_a_kept_file_the_instance_no_longer_has_is_uploaded_again():
    stale = Part(
        text="A clip",
        index=0,
        total=1,
        idempotency_key="clip:0",
        media=[video("v1", "A clip")],
        uploads={"v1": {"media_id": "109999999999999999"}},
        time_left=TIME_LEFT,
    )
    with MediaProcessingServer(ready_after=1) as server:
        on(server, Waiting()).publish(stale)
    assert server.calls == ["check", "upload", "check", "status"]  # 404, then afresh
    (status,) = server.statuses
    assert [item["id"] for item in status["media_attachments"]] == [server.uploads[0]["id"]]


def test_processing_that_fails_refuses_the_part():
    with MediaProcessingServer(ready_after=1, processing_error="Validation failed: File is invalid") as server:
        with pytest.raises(PermanentError) as refused:
            on(server).publish(part("Broken", [video("v1")]))
    assert refused.value.code == "media_rejected" and "File is invalid" in refused.value.message
    assert server.statuses == []


@pytest.mark.parametrize(
    "status, body, headers, kind, code",
    [
        (503, {"error": "Service temporarily unavailable"}, {}, TransientError, "platform_unavailable"),
        (500, {"error": "Error processing thumbnail for uploaded media"}, {}, TransientError, "platform_unavailable"),
        (
            422,
            {"error": "Validation failed: File content type is invalid, File is invalid"},
            {},
            PermanentError,
            "media_rejected",
        ),
        (413, None, {}, PermanentError, "media_rejected"),  # a proxy's limit: no JSON
        (429, {"error": "Too many requests"}, {"Retry-After": "7"}, PlatformRateLimitedError, "rate_limited"),
        (401, {"error": "The access token is invalid"}, {}, AuthenticationFailedError, "integration_needs_refresh"),
    ],
    ids=["503", "500", "422", "413", "429", "401"],
)
def test_a_refused_upload(processing, status, body, headers, kind, code):
    processing.fail_uploads(status, body, headers)
    with pytest.raises(kind) as failed:
        on(processing).publish(part("Refused", [image("m1", "A kite")]))
    assert type(failed.value) is kind and failed.value.code == code
    if status == 429:
        assert failed.value.retry_after == 7
    if status in (422, 413):
        assert (
            "File content type is invalid" if status == 422 else "larger than the server accepts"
        ) in failed.value.message
    assert processing.calls == ["upload"] and processing.statuses == []


def test_an_instance_that_cannot_be_reached_is_tried_again():
    with pytest.raises(TransientError) as later:
        adapter("http://127.0.0.1:9").publish(part("Hello", [image("m1", "A kite")]))
    assert type(later.value) is TransientError


@pytest.mark.parametrize(
    "filename, content_type, sent",
    [
        ("", "image/png", "m1.png"),  # a file with no name is no file to the instance
        ("holiday.jpeg", "image/png", "holiday.png"),  # named wrongly: the bytes are a PNG
        ("holiday.JPG", "image/jpeg", "holiday.JPG"),
    ],
)
def test_the_file_name_matches_what_the_file_is(filename, content_type, sent):
    with MediaProcessingServer(ready_after=0) as server:
        on(server).publish(part("Named", [image("m1", "A kite", content_type=content_type, filename=filename)]))
    assert [(item["filename"], item["content_type"]) for item in server.uploads] == [(sent, content_type)]
    assert server.calls == ["upload", "status"]  # ready at once: no check

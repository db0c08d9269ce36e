"""/v1/media: two-step uploads verified from the bytes that landed, media by URL, and what posts
may use. The PUT goes to the presigned URL over HTTP (moto's S3), and S3's own notification reaches
the verifier through the media queue, as in a deployment."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from tests import media_samples
from tests.conftest import problem

FUTURE = "2026-05-02T14:00:00Z"


@pytest.fixture
def key(workspace):
    return workspace.test_key


@pytest.fixture
def s3(aws):
    return boto3.client("s3", region_name=aws.region)


def request_upload(api, key, data: bytes, content_type="image/png", filename="launch.png", **extra):
    answer = api.post(
        "/v1/media/upload", key, {"filename": filename, "content_type": content_type, "size": len(data), **extra}
    )
    assert answer.status == 201, answer
    return answer.json["data"]


def upload(api, key, runtime, data: bytes, content_type="image/png", put_bytes=None, **extra):
    """Both steps, then the verifier: the media as GET shows it afterwards."""
    ticket = request_upload(api, key, data, content_type, **extra)
    put = requests.put(
        ticket["upload_url"], data=put_bytes if put_bytes is not None else data, headers=ticket["upload_headers"]
    )
    assert put.status_code == 200, put.text
    runtime.drain("media")
    return api.get(f"/v1/media/{ticket['id']}", key).json["data"]


def keys_in(s3, bucket, prefix):
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


# --- step one: the upload URL ------------------------------------------------------------------------
def test_upload_url_signs_type_and_length(api, key, clock):
    data = media_samples.image("image/jpeg", 320, 200)
    ticket = request_upload(api, key, data, "image/jpeg", alt_text="A launch photo")
    assert ticket["status"] == "pending" and ticket["size"] is None and ticket["declared_size"] == len(data)
    query = parse_qs(urlsplit(ticket["upload_url"]).query)
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host"]
    assert ticket["upload_method"] == "PUT"
    assert ticket["upload_headers"] == {"Content-Type": "image/jpeg", "Content-Length": str(len(data))}
    assert ticket["upload_expires_at"] == "2026-05-01T13:00:00Z"
    assert ticket["alt_text"] == "A launch photo"


@pytest.mark.parametrize(
    "body, field, code",
    [
        (
            {"filename": "a.pdf", "content_type": "application/pdf", "size": 10},
            "content_type",
            "unsupported_media_type",
        ),
        ({"filename": "a.svg", "content_type": "image/svg+xml", "size": 10}, "content_type", "unsupported_media_type"),
        ({"filename": "a.png", "content_type": "image/png", "size": 20 * 1024 * 1024 + 1}, "size", "media_too_large"),
        ({"filename": "a.mp4", "content_type": "video/mp4", "size": 1024**3 + 1}, "size", "media_too_large"),
        ({"filename": "a.png", "content_type": "image/png", "size": 0}, "size", None),
        ({"filename": "../a.png", "content_type": "image/png", "size": 10}, "filename", None),
        ({"filename": "a.png", "content_type": "image/png"}, "size", None),
    ],
)
def test_what_cannot_be_uploaded_is_refused_before_a_url(api, key, aws, body, field, code):
    answer = problem(api.post("/v1/media/upload", key, body), 422, code)
    assert answer["errors"][0]["field"] == field
    table = boto3.client("dynamodb", region_name=aws.region)
    assert table.scan(TableName="openpost-test-media")["Count"] == 0


def test_abandoned_uploads_expire(api, key, aws, s3, workspace):
    ticket = request_upload(api, key, b"x" * 100)
    item = boto3.client("dynamodb", region_name=aws.region).get_item(
        TableName="openpost-test-media",
        Key={"scope": {"S": f"{workspace.workspace.id}#test"}, "id": {"S": ticket["id"]}},
    )["Item"]
    # TTL one day after the URL stops working; the bucket empties uploads/ after a day as well.
    assert int(item["expires_at"]["N"]) == int(dt.datetime(2026, 5, 2, 13, tzinfo=dt.UTC).timestamp())
    rules = s3.get_bucket_lifecycle_configuration(Bucket=aws.media_bucket)["Rules"]
    assert any(rule["Filter"].get("Prefix") == "uploads/" and rule["Expiration"]["Days"] == 1 for rule in rules)


# --- step two and verification ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "content_type, width, height",
    [("image/jpeg", 640, 480), ("image/png", 300, 200), ("image/gif", 32, 16), ("image/webp", 120, 90)],
)
def test_a_true_image_becomes_ready_with_its_dimensions(api, key, runtime, aws, s3, content_type, width, height):
    data = media_samples.image(content_type, width, height)
    media = upload(api, key, runtime, data, content_type)
    assert media["status"] == "ready", media
    assert (media["size"], media["width"], media["height"]) == (len(data), width, height)
    # Moved out of uploads/ (which the lifecycle empties) into media/.
    assert keys_in(s3, aws.media_bucket, "uploads/") == []
    (stored,) = keys_in(s3, aws.media_bucket, "media/")
    assert stored.endswith(media["id"])
    assert s3.get_object(Bucket=aws.media_bucket, Key=stored)["Body"].read() == data


def test_a_video_becomes_ready(api, key, runtime):
    data = media_samples.video("video/mp4", 1920, 1080, size=200_000)
    media = upload(api, key, runtime, data, "video/mp4", filename="clip.mp4")
    assert (media["status"], media["kind"], media["width"], media["height"]) == ("ready", "video", 1920, 1080)


@pytest.mark.parametrize(
    "declared, sent, code",
    [
        ("image/jpeg", media_samples.lying_image(), "unsupported_type"),
        ("image/png", media_samples.image("image/jpeg"), "type_mismatch"),
        ("video/mp4", media_samples.image("image/png"), "type_mismatch"),
        ("image/png", b"<html><body>not a picture</body></html>", "unsupported_type"),
    ],
)
def test_a_file_that_lies_about_its_type_is_rejected(api, key, runtime, aws, s3, declared, sent, code):
    media = upload(api, key, runtime, sent, declared)
    assert media["status"] == "rejected" and media["rejection_code"] == code, media
    assert media["rejection_reason"]
    assert keys_in(s3, aws.media_bucket, "") == []  # nothing of it is kept


def test_a_file_that_lies_about_its_size_is_rejected(api, key, runtime):
    # S3 itself refuses a PUT whose length differs from the signed one; moto does not, so this is
    # the verifier's check at work.
    data = media_samples.image("image/png", 64, 64)
    ticket = request_upload(api, key, data + b"\0" * 500)
    requests.put(ticket["upload_url"], data=data, headers={"Content-Type": "image/png"})
    runtime.drain("media")
    media = api.get(f"/v1/media/{ticket['id']}", key).json["data"]
    assert media["status"] == "rejected" and media["rejection_code"] == "size_mismatch", media
    assert media["size"] == len(data)


def test_a_repeated_notification_changes_nothing(api, key, runtime, aws, s3):
    data = media_samples.image("image/png")
    ticket = request_upload(api, key, data)
    requests.put(ticket["upload_url"], data=data, headers=ticket["upload_headers"])
    messages = runtime.receive("media")
    runtime.deliver("media", messages)
    first = api.get(f"/v1/media/{ticket['id']}", key).json["data"]
    runtime.time_passes("media")
    runtime.deliver("media", messages)  # S3 delivers at least once
    assert api.get(f"/v1/media/{ticket['id']}", key).json["data"] == first
    assert len(keys_in(s3, aws.media_bucket, "media/")) == 1


def test_a_second_put_to_a_used_url_is_discarded(api, key, runtime, aws, s3):
    data = media_samples.image("image/png", 10, 10)
    ticket = request_upload(api, key, data)
    requests.put(ticket["upload_url"], data=data, headers=ticket["upload_headers"])
    runtime.drain("media")
    other = media_samples.image("image/png", 10, 10, seed=7)
    requests.put(ticket["upload_url"], data=other, headers=ticket["upload_headers"])
    runtime.drain("media")
    assert keys_in(s3, aws.media_bucket, "uploads/") == []
    (stored,) = keys_in(s3, aws.media_bucket, "media/")
    assert s3.get_object(Bucket=aws.media_bucket, Key=stored)["Body"].read() == data


def test_the_s3_test_event_is_ignored(runtime, aws):
    # Configuring the notification makes S3 send one s3:TestEvent; it must not fail the batch.
    response = runtime.deliver("media")
    assert response == {"batchItemFailures": []}


# --- reading, describing, deleting -------------------------------------------------------------------
def test_media_of_another_workspace_or_mode_is_not_found(api, key, runtime, services, workspace):
    media = upload(api, key, runtime, media_samples.image())
    other = services.workspaces.create("Other")
    problem(api.get(f"/v1/media/{media['id']}", other.test_key), 404, "media_not_found")
    problem(api.get(f"/v1/media/{media['id']}", workspace.live_key), 404, "media_not_found")
    problem(api.request("DELETE", f"/v1/media/{media['id']}", workspace.live_key), 404)


def test_alt_text_can_be_changed(api, key, runtime):
    media = upload(api, key, runtime, media_samples.image())
    answer = api.request("PATCH", f"/v1/media/{media['id']}", key, body={"alt_text": "A bar chart"})
    assert answer.status == 200 and answer.json["data"]["alt_text"] == "A bar chart"
    answer = api.request("PATCH", f"/v1/media/{media['id']}", key, body={"alt_text": None})
    assert answer.json["data"]["alt_text"] is None


def test_delete_removes_record_and_file(api, key, runtime, aws, s3):
    media = upload(api, key, runtime, media_samples.image())
    assert api.delete(f"/v1/media/{media['id']}", key).status == 204
    problem(api.get(f"/v1/media/{media['id']}", key), 404)
    assert keys_in(s3, aws.media_bucket, "") == []


def test_media_a_scheduled_post_uses_cannot_be_deleted(api, key, runtime):
    media = upload(api, key, runtime, media_samples.image())
    post = api.post(
        "/v1/posts",
        key,
        {"content": "With a picture", "platforms": ["twitter"], "media": [media["id"]], "schedule_at": FUTURE},
    ).json["data"]
    body = problem(api.delete(f"/v1/media/{media['id']}", key), 409, "media_in_use")
    assert post["id"] in body["detail"]
    # Edited to drop the picture, the post no longer holds it.
    api.request("PATCH", f"/v1/posts/{post['id']}", key, body={"media": []})
    assert api.delete(f"/v1/media/{media['id']}", key).status == 204


# --- posts with uploaded media ---------------------------------------------------------------------
def test_a_post_takes_ready_media_only(api, key, runtime, services, workspace):
    pending = request_upload(api, key, media_samples.image())
    problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["twitter"], "media": [pending["id"]]}),
        422,
        "media_not_ready",
    )
    rejected = upload(api, key, runtime, media_samples.lying_image(), "image/jpeg")
    body = problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["twitter"], "media_ids": [rejected["id"]]}),
        422,
        "media_rejected",
    )
    assert body["errors"][0]["field"] == "media_ids[0]"
    other_mode = upload(api, workspace.live_key, runtime, media_samples.image())
    problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["twitter"], "media": [other_mode["id"]]}),
        422,
        "unknown_media",
    )
    body = problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["twitter"], "media_ids": [""]}), 422, "unknown_media"
    )
    assert body["errors"][0]["field"] == "media_ids[0]"
    ready = upload(api, key, runtime, media_samples.image(), alt_text="A chart")
    answer = api.post("/v1/posts", key, {"content": "x", "platforms": ["twitter"], "media": [ready["id"]]})
    assert answer.status == 201, answer
    assert answer.json["data"]["media_ids"] == [ready["id"]]


def test_each_platforms_limits_are_checked_at_create(api, key, runtime):
    big = upload(api, key, runtime, media_samples.image("image/png", pad_to=1_100_000))
    assert big["status"] == "ready" and big["size"] > 1_000_000
    body = problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["bluesky", "mastodon"], "media": [big["id"]]}),
        422,
        "media_too_large",
    )
    (error,) = body["errors"]
    assert error["platform"] == "bluesky" and error["field"] == "media_ids[0]"
    clip = upload(api, key, runtime, media_samples.video(size=50_000), "video/mp4")
    body = problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["bluesky"], "media": [clip["id"]]}),
        422,
        "media_kind_not_supported",
    )
    picture = upload(api, key, runtime, media_samples.image())
    body = problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["twitter"], "media": [picture["id"], clip["id"]]}),
        422,
    )
    assert {error["code"] for error in body["errors"]} & {"video_with_images", "too_many_videos"}


# --- media by URL ------------------------------------------------------------------------------------
def test_media_by_url_is_fetched_into_the_bucket_once(api, key, media_host, aws, s3):
    png = media_samples.image("image/png", 200, 100)
    url = media_host.add("/chart.png", png, "image/png")
    post = api.post(
        "/v1/posts",
        key,
        {"content": "Look", "platforms": ["bluesky"], "media": {"images": [{"url": url, "alt_text": "A chart"}]}},
    )
    assert post.status == 201, post
    assert post.json["data"]["media"]["images"] == [{"url": url, "alt_text": "A chart"}]
    (stored,) = keys_in(s3, aws.media_bucket, "media/")
    assert s3.get_object(Bucket=aws.media_bucket, Key=stored)["Body"].read() == png
    # An edit that keeps the URL does not fetch it again.
    api.request("PATCH", f"/v1/posts/{post.json['data']['id']}", key, body={"content": "Look again"})
    assert media_host.requests["/chart.png"] == 1


def test_media_by_url_is_verified_like_an_upload(api, key, media_host):
    url = media_host.add("/photo.jpg", media_samples.lying_image(), "image/jpeg")
    body = problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["twitter"], "media": {"images": [{"url": url}]}}),
        422,
        "unsupported_type",
    )
    assert body["errors"][0]["field"] == "media.images[0]"
    missing = problem(
        api.post(
            "/v1/posts",
            key,
            {
                "content": "x",
                "platforms": ["twitter"],
                "segments": [{"content": "more", "media_urls": [media_host.base_url + "/gone.png"]}],
            },
        ),
        422,
        "url_http_error",
    )
    assert missing["errors"][0]["field"] == "segments[0].media_urls[0]"


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.7/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.1.1/a.png",
        "http://[::ffff:10.0.0.1]/a.png",
    ],
)
def test_private_addresses_are_refused(api, key, url, aws):
    body = problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["twitter"], "media": {"images": [{"url": url}]}}),
        422,
        "url_not_allowed",
    )
    assert body["errors"][0]["field"] == "media.images[0]"
    problem(api.post("/v1/media", key, {"url": url}), 422, "url_not_allowed")


def test_loopback_is_refused_unless_the_local_switch_is_on(aws, clock, workspace, media_host):
    from chalice.test import Client

    import app as application
    from tests.conftest import ApiClient, services_with

    url = media_host.add("/a.png", media_samples.image(), "image/png")
    with services_with(aws, clock, allow_loopback_media_urls=False), Client(application.app) as client:
        answer = ApiClient(client).post("/v1/media", workspace.test_key, {"url": url})
    problem(answer, 422, "url_not_allowed")
    assert media_host.requests["/a.png"] == 0


class ContextNearItsEnd:
    """The Lambda context of a request whose invocation has little time left."""

    def __init__(self, millis: int):
        self.millis = millis
        self.aws_request_id = "req-near-its-end"

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


@pytest.fixture
def little_time_left(monkeypatch):
    """Requests run as if the gateway had handed them to an invocation with 4 s left."""
    from chalice.local import LocalGateway

    monkeypatch.setattr(LocalGateway, "_generate_lambda_context", lambda gateway: ContextNearItsEnd(4_000))


def test_a_request_with_little_time_left_fetches_nothing_and_says_so(api, key, media_host, aws, s3, little_time_left):
    url = media_host.add("/late.png", media_samples.image(), "image/png")
    body = problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["bluesky"], "media": {"images": [{"url": url}]}}),
        422,
        "url_timeout",
    )
    assert body["errors"][0]["field"] == "media.images[0]" and url in body["errors"][0]["message"]
    imported = problem(api.post("/v1/media", key, {"url": url}), 422, "url_timeout")
    assert imported["errors"][0]["field"] == "url"
    assert media_host.requests["/late.png"] == 0  # not even a connection: there was no time for it
    assert keys_in(s3, aws.media_bucket, "") == []
    assert api.get("/v1/posts", key).json["data"] == []


def test_the_fetch_budget_is_the_time_left_less_the_margin_and_at_most_twenty_seconds(services, clock):
    from chalicelib.domain.media import FETCH_BUDGET_SECONDS, FETCH_MARGIN_SECONDS

    def budget(time_left):
        return services.media.fetch_deadline(time_left) - clock.monotonic()

    assert (FETCH_BUDGET_SECONDS, FETCH_MARGIN_SECONDS) == (20.0, 5.0)
    assert budget(lambda: 12.5) == 7.5  # the invocation's end comes first
    assert budget(lambda: 29.0) == 20.0  # the gateway's 29 s: the cap comes first
    assert budget(lambda: 3.0) == 0.0
    assert budget(None) == 20.0  # no Lambda context (a direct call): the cap alone


def test_media_can_be_fetched_on_its_own(api, key, media_host):
    url = media_host.add("/clip.mp4", media_samples.video(size=30_000), "video/mp4")
    answer = api.post("/v1/media", key, {"url": url, "alt_text": "A clip"})
    assert answer.status == 201, answer
    media = answer.json["data"]
    assert (media["status"], media["kind"], media["source_url"], media["alt_text"]) == ("ready", "video", url, "A clip")
    assert api.get(f"/v1/media/{media['id']}", key).json["data"]["size"] == 30_000


def test_a_verifier_that_dies_before_recording_its_verdict_is_retried(api, key, runtime, aws, s3):
    """The file was copied to media/ but the verdict never written (DynamoDB failed, the function
    died): the message comes back, the upload is judged again, and one copy remains."""
    from botocore.exceptions import EndpointConnectionError

    from chalicelib.data.models import MediaRecord

    failures = {"left": 1}

    def dies_once(**_):
        if failures["left"]:
            failures["left"] -= 1
            raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    data = media_samples.image("image/png", 32, 32)
    ticket = request_upload(api, key, data)
    requests.put(ticket["upload_url"], data=data, headers=ticket["upload_headers"])
    # The fault is injected in the AWS SDK under PynamoDB (each botocore client has its own hooks).
    events = MediaRecord._get_connection().connection.client.meta.events
    events.register("before-call.dynamodb.UpdateItem", dies_once)
    try:
        response = runtime.deliver("media")
    finally:
        events.unregister("before-call.dynamodb.UpdateItem", dies_once)
    assert len(response["batchItemFailures"]) == 1
    assert api.get(f"/v1/media/{ticket['id']}", key).json["data"]["status"] == "pending"
    runtime.time_passes("media")
    runtime.drain("media")
    assert api.get(f"/v1/media/{ticket['id']}", key).json["data"]["status"] == "ready"
    assert keys_in(s3, aws.media_bucket, "uploads/") == []
    assert len(keys_in(s3, aws.media_bucket, "media/")) == 1


def test_a_stored_file_gone_or_unreadable_reaches_adapters_as_the_engines_error_kinds(services, aws, s3):
    """What the publisher hands adapters reads from the bucket: a file deleted under a post is a
    failure to explain (permanent), S3 unreachable is a reason to try again (transient)."""
    from botocore.exceptions import EndpointConnectionError

    from chalicelib.domain.attachments import attachments
    from chalicelib.platforms.base import PermanentError, TransientError

    s3.put_object(Bucket=aws.media_bucket, Key="media/w/test/kept", Body=b"\x89PNG....")
    item = {"id": "m1", "kind": "image", "content_type": "image/png", "size": 8}
    kept, gone = attachments(
        [dict(item, key="media/w/test/kept"), dict(item, key="media/w/test/gone")], services.media_objects
    )
    assert kept.read() == b"\x89PNG...."
    with pytest.raises(PermanentError) as missing:
        gone.read()
    assert missing.value.code == "media_unavailable"

    def unreachable(**_):
        raise EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")

    events = services.media_objects.client.meta.events
    events.register("before-call.s3.GetObject", unreachable)
    try:
        with pytest.raises(TransientError):
            kept.read()
    finally:
        events.unregister("before-call.s3.GetObject", unreachable)

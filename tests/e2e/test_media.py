"""Media through the local stack, as the guide's step 3 does it: curl asks for an upload URL, curl
PUTs the file to it (moto's S3), S3's notification reaches the verifier through the media queue, and
a post with the media publishes. Also the two refusals: a file that lies, a private-address URL."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest
import requests

from tests import media_samples
from tests.platform_servers.media_host import MediaHost

pytestmark = pytest.mark.e2e


def curl(*arguments: str) -> dict:
    assert shutil.which("curl"), "the guide's commands need curl"
    done = subprocess.run(
        ["curl", "--silent", "--show-error", "--fail-with-body", *arguments], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def request_upload(stack, path, content_type):
    return curl(
        "-X",
        "POST",
        f"{stack.base_url}/v1/media/upload",
        "-H",
        f"Authorization: Bearer {stack.state['test_key']}",
        "-H",
        "Content-Type: application/json",
        "-d",
        json.dumps({"filename": path.name, "content_type": content_type, "size": path.stat().st_size}),
    )["data"]


def put_file(url, path, content_type):
    curl("-X", "PUT", url, "-H", f"Content-Type: {content_type}", "--data-binary", f"@{path}")


def call(stack, method, path, body=None):
    headers = {"Authorization": f"Bearer {stack.state['test_key']}"}
    return requests.request(method, f"{stack.base_url}{path}", json=body, headers=headers, timeout=30)


def wait_for(stack, path, field, wanted, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        data = call(stack, "GET", path).json()["data"]
        if data[field] in wanted:
            return data
        time.sleep(0.2)
    raise AssertionError(f"{path} is {data[field]}, not {wanted}, after {seconds} s")


def test_the_guides_two_step_upload_then_a_post_with_two_images(stack, tmp_path):
    ids = []
    for name, content_type, alt in (
        ("launch.jpg", "image/jpeg", "The launch stage"),
        ("team.png", "image/png", "The team on stage"),
    ):
        path = tmp_path / name
        path.write_bytes(media_samples.image(content_type, 640, 360))
        ticket = request_upload(stack, path, content_type)
        put_file(ticket["upload_url"], path, content_type)
        media = wait_for(stack, f"/v1/media/{ticket['id']}", "status", ("ready", "rejected"))
        assert media["status"] == "ready", media
        assert (media["width"], media["height"], media["size"]) == (640, 360, path.stat().st_size)
        assert call(stack, "PATCH", f"/v1/media/{media['id']}", {"alt_text": alt}).status_code == 200
        ids.append(media["id"])

    content = f"Launch photos {ids[0]}"  # the stack is shared: other tests' posts are in the sandbox too
    post = call(
        stack, "POST", "/v1/posts", {"content": content, "platforms": ["bluesky", "twitter"], "media": ids}
    ).json()["data"]
    assert call(stack, "POST", f"/v1/posts/{post['id']}/publish").status_code == 202
    published = wait_for(stack, f"/v1/posts/{post['id']}", "status", ("published", "failed"))
    assert published["status"] == "published", published["post_targets"]
    # The sandbox keeps what a platform would: the files and their alt text, in order.
    for target in published["post_targets"]:
        (sent,) = [item for item in sandbox_posts(stack, target["integrations"]["id"]) if item["text"] == content]
        assert [(item["media_id"], item["alt_text"]) for item in sent["media"]] == [
            (ids[0], "The launch stage"),
            (ids[1], "The team on stage"),
        ]


def sandbox_posts(stack, integration_id):
    """What the sandbox platform holds for an account, read from its table in the stack's moto."""
    import boto3

    table = boto3.resource(
        "dynamodb", region_name=stack.state["region"], endpoint_url=stack.state["aws_endpoint_url"]
    ).Table(f"{stack.state['resource_prefix']}-sandbox")
    items = table.query(
        KeyConditionExpression="integration_id = :id", ExpressionAttributeValues={":id": integration_id}
    )["Items"]
    # PynamoDB keeps the media list as a JSON string.
    return [
        {"text": item.get("text"), "media": json.loads(item["media"])}
        for item in items
        if item.get("kind") == "post" and item.get("media")
    ]


def test_a_file_that_lies_about_its_type_is_rejected(stack, tmp_path):
    path = tmp_path / "holiday.jpg"
    path.write_bytes(media_samples.lying_image())
    ticket = request_upload(stack, path, "image/jpeg")
    put_file(ticket["upload_url"], path, "image/jpeg")
    media = wait_for(stack, f"/v1/media/{ticket['id']}", "status", ("ready", "rejected"))
    assert media["status"] == "rejected" and media["rejection_code"] == "unsupported_type", media


def test_a_private_address_is_refused_and_a_local_file_server_is_allowed(stack):
    refused = call(
        stack,
        "POST",
        "/v1/posts",
        {
            "content": "x",
            "platforms": ["bluesky"],
            "media": {"images": [{"url": "http://169.254.169.254/latest/meta-data/iam/"}]},
        },
    )
    assert refused.status_code == 422 and refused.json()["code"] == "url_not_allowed", refused.text
    with MediaHost() as host:  # the documented local switch lets the stack fetch from this machine
        url = host.add("/chart.webp", media_samples.image("image/webp", 300, 300), "image/webp")
        created = call(
            stack,
            "POST",
            "/v1/posts",
            {
                "content": "A chart",
                "platforms": ["bluesky"],
                "media": {"images": [{"url": url, "alt_text": "A chart"}]},
            },
        )
    assert created.status_code == 201, created.text

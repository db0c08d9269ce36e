"""A post at the documented maximum of every field at once is created, listed, replayed and
published; pages of such posts stay within Lambda's 6 MB response.

Every field is at its documented maximum (content 63,206 with room for the " (1/25)" a platform
without threads adds, 24 segments of 5,000, an override, 4 images with 1,500-character alt text)
as far as the request's own documented maximum, 256 KiB, allows: in ASCII all of them at once; in
CJK (3 bytes a character) and emoji (4) each text is cut in the same proportion to fit the body.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.api.routing import MAX_BODY_BYTES
from tests import media_samples
from tests.integration.test_publishing import platform_saw

VARIANTS = {
    # character, how much of each maximum fits in 256 KiB
    "ascii": ("a", 1.0),
    "cjk": ("漢", 0.33),
    "emoji": ("🚀", 0.245),
}


def _largest_post(character: str, share: float, image_url: str) -> dict:
    def text(maximum: int) -> str:
        return character * int(maximum * share)

    alt = text(1500)
    return {
        "content": text(63199),
        "platforms": ["facebook"],
        "platform_overrides": {"facebook": text(63199)},
        "segments": [{"content": text(5000)} for _ in range(24)],
        "media": {"images": [{"url": image_url, "alt_text": alt}] * 4},
        "tags": [f"tag{n}" for n in range(50)],
    }


def _utf8(body) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_largest_post_is_created_listed_replayed_and_published(
    api, workspace, runtime, services, media_host, variant
):
    character, share = VARIANTS[variant]
    url = media_host.add("/chart.png", media_samples.image("image/png"), "image/png")
    body = _largest_post(character, share, url)
    raw = _utf8(body)
    assert MAX_BODY_BYTES * 0.9 < len(raw) <= MAX_BODY_BYTES  # as large as a request may be
    key, headers = workspace.test_key, {"Idempotency-Key": f"largest-{variant}"}

    created = api.post("/v1/posts", key, raw=raw, headers=headers)
    assert created.status == 201, created
    post = created.json["data"]
    texts = [segment["content"] for segment in body["segments"]]
    assert post["content"] == body["content"] and [segment["content"] for segment in post["segments"]] == texts
    assert post["platform_overrides"] == body["platform_overrides"]
    assert [image["alt_text"] for image in post["media"]["images"]] == [body["media"]["images"][0]["alt_text"]] * 4

    replay = api.post("/v1/posts", key, raw=raw, headers=headers)
    assert replay.headers["idempotent-replayed"] == "true" and replay.json == created.json

    listed = api.get("/v1/posts?limit=100", key).json
    assert listed["total"] == 1 and listed["data"][0]["id"] == post["id"] and listed["data"][0]["truncated"] is True
    whole = api.get(f"/v1/posts/{post['id']}", key).json["data"]
    assert whole["truncated"] is False and [segment["content"] for segment in whole["segments"]] == texts

    assert api.post(f"/v1/posts/{post['id']}/publish", key).status == 202
    runtime.drain()
    published = api.get(f"/v1/posts/{post['id']}", key).json["data"]
    assert published["status"] == "published", published["post_targets"]
    parts = [part["text"] for part in platform_saw(services, workspace, "facebook")]
    assert len(parts) == 25
    assert parts[0].startswith(body["platform_overrides"]["facebook"]) and "(1/25)" in parts[0]
    assert parts[24].startswith(body["segments"][23]["content"])


def test_a_page_of_the_largest_posts_stays_within_the_response_limit(api, workspace, media_host):
    url = media_host.add("/chart.png", media_samples.image("image/png"), "image/png")
    raw = _utf8(_largest_post("a", 1.0, url))
    for _ in range(30):  # 30 x 250 KB: 7.5 MB if listed whole
        assert api.post("/v1/posts", workspace.test_key, raw=raw).status == 201
    page = api.get("/v1/posts?limit=100", workspace.test_key)
    assert page.status == 200 and page.json["total"] == 30 and len(page.json["data"]) == 30
    assert len(page.raw) < 5 * 1024 * 1024
    assert all(item["truncated"] for item in page.json["data"])

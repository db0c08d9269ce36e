"""Every curl example of the posts references (001: OpenPost, 004: Octopost), adapted to the local
stack, our ids and our key, gets the documented answer over real HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

pytestmark = pytest.mark.e2e


def in_days(days: int, hour: int = 14) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


class Api:
    def __init__(self, stack):
        self.base = stack.base_url
        self.key = stack.state["test_key"]

    def __call__(self, method, path, json=None, headers=None):
        headers = {"Authorization": f"Bearer {self.key}", **(headers or {})}
        if json is not None:
            headers["Content-Type"] = "application/json"
        return requests.request(method, f"{self.base}{path}", json=json, headers=headers, timeout=15)


@pytest.fixture
def api(stack):
    return Api(stack)


def data(answer, status):
    assert answer.status_code == status, answer.text
    return answer.json()["data"]


# --- 001, OpenPost: Posts ------------------------------------------------------------------------
def test_openpost_create_scheduled(api):
    when = in_days(3)
    post = data(
        api(
            "POST",
            "/v1/posts",
            {
                "content": "Big launch today",
                "platforms": ["twitter", "bluesky"],
                "schedule_at": when,
                "tags": ["launch"],
            },
        ),
        201,
    )
    assert post["status"] == "scheduled" and post["content"] == "Big launch today"
    assert post["scheduled_at"] == when and post["published_at"] is None and post["tags"] == ["launch"]
    assert sorted(t["integrations"]["platform"] for t in post["post_targets"]) == ["bluesky", "twitter"]
    assert all(t["status"] == "pending" and t["platform_post_url"] is None for t in post["post_targets"])
    assert post["created_at"].endswith("Z")


def test_openpost_overrides_and_settings(api):
    post = data(
        api(
            "POST",
            "/v1/posts",
            {
                "content": "Big launch today",
                "platforms": ["twitter", "bluesky"],
                "platform_overrides": {"bluesky": "Big launch today on Bluesky too!"},
                "platform_settings": {"twitter": {"who_can_reply": "following"}},
            },
        ),
        201,
    )
    assert post["status"] == "draft"
    assert post["platform_overrides"] == {"bluesky": "Big launch today on Bluesky too!"}
    assert post["platform_settings"] == {"twitter": {"who_can_reply": "following"}}


def test_openpost_publish_now(api):
    post = data(api("POST", "/v1/posts", {"content": "Now", "platforms": ["twitter"]}), 201)
    answer = api("POST", f"/v1/posts/{post['id']}/publish")
    assert data(answer, 202)["status"] == "publishing"


def test_openpost_list_get_update_delete_and_groups(api):
    group = "3a6f1e9e-4c2b-4a1d-9e3a-112233445566"
    first = data(api("POST", "/v1/posts", {"content": "One", "platforms": ["twitter"], "group_id": group}), 201)
    second = data(api("POST", "/v1/posts", {"content": "Two", "platforms": ["bluesky"], "group_id": group}), 201)
    listed = api("GET", "/v1/posts?status=draft").json()
    assert listed["limit"] == 20 and listed["total"] >= 2 and listed["data"][0]["status"] == "draft"
    assert data(api("GET", f"/v1/posts/{first['id']}"), 200)["content"] == "One"
    patched = data(
        api("PATCH", f"/v1/posts/{first['id']}", {"content": "One, edited", "tags": ["x"], "scheduled_at": in_days(2)}),
        200,
    )
    assert patched["content"] == "One, edited" and patched["status"] == "scheduled"
    group_page = api("GET", f"/v1/posts/group/{group}").json()
    assert {p["id"] for p in group_page["data"]} == {first["id"], second["id"]} and group_page["total"] == 2
    assert api("DELETE", f"/v1/posts/{first['id']}").status_code == 204  # cancels the scheduled post
    assert api("DELETE", f"/v1/posts/group/{group}").status_code == 204
    assert api("GET", f"/v1/posts/{second['id']}").status_code == 404


def test_openpost_update_of_a_published_post_is_refused(api):
    post = data(api("POST", "/v1/posts", {"content": "Going", "platforms": ["twitter"]}), 201)
    api("POST", f"/v1/posts/{post['id']}/publish")
    answer = api("PATCH", f"/v1/posts/{post['id']}", {"content": "too late"})
    # api-decisions: 409 for an edit of a publishing or published post (001 said 400).
    assert answer.status_code == 409 and answer.headers["Content-Type"] == "application/problem+json"


# --- 004, Octopost: Posts -------------------------------------------------------------------------
def test_octopost_create_draft(api):
    post = data(
        api(
            "POST",
            "/v1/posts",
            {"content": "Excited to announce our Series A!", "platforms": ["twitter", "linkedin", "bluesky"]},
        ),
        201,
    )
    assert post["status"] == "draft" and post["scheduled_for"] is None and post["media"] is None
    assert post["platforms"] == ["bluesky", "linkedin", "twitter"] and post["platform_results"] is None
    assert post["created_at"] == post["updated_at"] and post["published_at"] is None


def test_octopost_thread(api):
    post = data(
        api(
            "POST",
            "/v1/posts",
            {
                "content": "I shipped a new macOS app for managing Claude rules.",
                "platforms": ["twitter", "threads", "bluesky", "mastodon"],
                "segments": [{"content": "https://rulebook.app"}],
            },
        ),
        201,
    )
    assert post["segments"] == [{"content": "https://rulebook.app", "media_urls": []}]
    assert len(post["post_targets"]) == 4


def test_octopost_scheduled_with_media(api):
    # The image is fetched when the post is written: example.com becomes a file server on this
    # machine, which the local stack may reach (its documented loopback switch).
    from tests import media_samples
    from tests.platform_servers.media_host import MediaHost

    when = in_days(4, hour=9)
    with MediaHost() as host:
        url = host.add("/blog-header.png", media_samples.image("image/png", 1200, 630), "image/png")
        media = {"images": [{"url": url, "alt_text": "Blog post header image"}]}
        post = data(
            api(
                "POST",
                "/v1/posts",
                {
                    "content": "New blog post: Building a cross-posting API",
                    "platforms": ["twitter", "bluesky"],
                    "scheduled_for": when,
                    "media": media,
                },
            ),
            201,
        )
    assert post["status"] == "scheduled" and post["scheduled_for"] == when
    assert post["media"] == {**media, "video": None}


def test_octopost_list_with_offset_and_total(api):
    answer = api("GET", "/v1/posts?status=published&limit=5&offset=0")
    body = answer.json()
    assert answer.status_code == 200 and body["limit"] == 5 and body["offset"] == 0
    assert isinstance(body["total"], int) and all(p["status"] == "published" for p in body["data"])


def test_octopost_get_put_publish_delete(api):
    post = data(
        api(
            "POST",
            "/v1/posts",
            {"content": "Excited to announce our Series A!", "platforms": ["twitter", "linkedin", "bluesky"]},
        ),
        201,
    )
    assert data(api("GET", f"/v1/posts/{post['id']}"), 200)["id"] == post["id"]
    updated = data(
        api(
            "PUT",
            f"/v1/posts/{post['id']}",
            {
                "content": "Excited to announce our Series A! Read more on our blog.",
                "platforms": ["twitter", "linkedin", "bluesky", "threads"],
            },
        ),
        200,
    )
    assert updated["content"].endswith("Read more on our blog.") and updated["status"] == "draft"
    assert updated["platforms"] == ["bluesky", "linkedin", "threads", "twitter"]
    assert updated["updated_at"] >= updated["created_at"]
    publishing = data(api("POST", f"/v1/posts/{post['id']}/publish"), 202)
    assert publishing["status"] == "publishing" and publishing["platform_results"] is None
    again = api("POST", f"/v1/posts/{post['id']}/publish")
    assert again.status_code == 409 and again.json()["code"] == "post_not_publishable"

    draft = data(api("POST", "/v1/posts", {"content": "Bye", "platforms": ["twitter"]}), 201)
    deleted = api("DELETE", f"/v1/posts/{draft['id']}")
    assert deleted.status_code == 204 and deleted.text == ""


def test_octopost_errors(api):
    over = api("POST", "/v1/posts", {"content": "x" * 281, "platforms": ["twitter", "bluesky"]})
    assert over.status_code == 422
    problem = over.json()
    assert problem["errors"][0]["platform"] == "twitter" and problem["errors"][0]["field"] == "content"
    five = api(
        "POST",
        "/v1/posts",
        {"content": "x", "platforms": ["twitter"], "media": {"images": [{"url": "https://example.com/a.png"}] * 5}},
    )
    assert five.status_code == 422 and five.json()["errors"][0]["field"] == "media.images"
    both = api(
        "POST",
        "/v1/posts",
        {
            "content": "x",
            "platforms": ["twitter"],
            "media": {"images": [{"url": "https://example.com/a.png"}], "video": {"url": "https://example.com/v.mp4"}},
        },
    )
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "media"
    assert api("GET", "/v1/posts/post_abc123").status_code == 404


def test_openpost_guide_idempotent_create(api):
    body = {"content": "Big launch today 🚀", "platforms": ["twitter"], "schedule_at": in_days(5)}
    first = api("POST", "/v1/posts", body, headers={"Idempotency-Key": "demo-launch-v1"})
    second = api("POST", "/v1/posts", body, headers={"Idempotency-Key": "demo-launch-v1"})
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"

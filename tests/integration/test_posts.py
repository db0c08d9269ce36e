"""/v1/posts: the contract of both seed APIs, with api-decisions settling their conflicts."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.conftest import problem

FUTURE = "2026-05-02T14:00:00Z"  # the test clock stands at 2026-05-01T12:00:00Z


@pytest.fixture
def key(workspace):
    return workspace.test_key


def create(api, key, **fields):
    body = {"content": "Hello world", "platforms": ["twitter"], **fields}
    answer = api.post("/v1/posts", key, body)
    assert answer.status == 201, answer
    return answer.json["data"]


# --- create ------------------------------------------------------------------------------------
def test_create_draft_and_scheduled(api, key):
    draft = create(api, key)
    assert draft["status"] == "draft" and draft["scheduled_at"] is None and draft["published_at"] is None
    assert [t["status"] for t in draft["post_targets"]] == ["pending"]
    assert draft["post_targets"][0]["integrations"]["platform"] == "twitter"
    assert draft["platform_results"] is None and draft["segments"] is None and draft["media"] is None
    scheduled = create(api, key, schedule_at=FUTURE, platforms=["twitter", "bluesky"], tags=["launch"])
    assert scheduled["status"] == "scheduled"
    assert scheduled["scheduled_at"] == scheduled["scheduled_for"] == FUTURE
    assert {t["integrations"]["platform"] for t in scheduled["post_targets"]} == {"twitter", "bluesky"}
    assert scheduled["tags"] == ["launch"] and scheduled["created_at"] == "2026-05-01T12:00:00Z"


def test_octopost_names_are_accepted(api, key):
    post = create(api, key, platforms=["x", "bluesky"], scheduled_for="2026-05-02T16:00:00+02:00")
    assert post["scheduled_at"] == FUTURE and post["platforms"] == ["bluesky", "twitter"]


def test_targets_by_integration_id(api, workspace, key):
    integrations = api.get("/v1/integrations", key).json["data"]
    bluesky = next(item for item in integrations if item["platform"] == "bluesky")
    post = create(api, key, platforms=[], integrations=[bluesky["id"]])
    assert [t["integrations"]["id"] for t in post["post_targets"]] == [bluesky["id"]]
    assert post["integrations"] == [bluesky["id"]]


@pytest.mark.parametrize(
    "schedule, code",
    [
        ("2026-05-01T11:59:59Z", "schedule_in_past"),
        ("2026-10-29T12:00:01Z", "schedule_too_far"),  # 180 days and a second
    ],
)
def test_schedule_window(api, key, schedule, code):
    body = problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["twitter"], "schedule_at": schedule}), 422, code
    )
    assert body["errors"][0]["field"] == "schedule_at"


def test_schedule_at_exactly_180_days_is_accepted(api, key):
    assert create(api, key, schedule_at="2026-10-28T12:00:00Z")["status"] == "scheduled"


def test_schedule_without_zone_is_refused(api, key):
    body = problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["twitter"], "schedule_at": "2026-05-02T14:00:00"}),
        422,
    )
    assert body["errors"][0]["field"] == "schedule_at" and "zone" in body["errors"][0]["message"]


def test_unknown_platform_and_no_integration(api, workspace, key):
    body = problem(api.post("/v1/posts", key, {"content": "x", "platforms": ["myspace"]}), 422)
    assert body["errors"][0]["field"] == "platforms[0]"
    body = problem(
        api.post("/v1/posts", workspace.live_key, {"content": "x", "platforms": ["linkedin"]}),
        422,
        "no_active_integration",
    )
    assert body["errors"][0]["platform"] == "linkedin"
    problem(api.post("/v1/posts", key, {"content": "x"}), 422, "no_target")
    problem(api.post("/v1/posts", key, {"content": "x", "integrations": ["nope"]}), 422, "unknown_integration")


def test_an_account_connected_elsewhere_is_found_at_once(api, workspace, key, clock):
    """Integrations are cached per container, but never so that a just-connected account is refused."""
    from chalicelib.data.integrations import to_record
    from chalicelib.domain.records import Integration

    live = workspace.live_key
    assert api.post("/v1/posts", live, {"content": "x", "platforms": ["discord"]}).status == 422  # warms the cache
    now = clock.now()
    to_record(
        Integration(
            id="0196a0c4-2222-7000-8000-000000000002",
            workspace_id=workspace.workspace.id,
            mode="live",
            platform="discord",
            username="#launches",
            display_name="Launches",
            status="active",
            created_at=now,
            updated_at=now,
        )
    ).save()
    post = create(api, live, platforms=["discord"])
    assert [t["integrations"]["platform"] for t in post["post_targets"]] == ["discord"]


def test_live_mode_has_no_sandbox_integrations(api, workspace):
    problem(
        api.post("/v1/posts", workspace.live_key, {"content": "x", "platforms": ["twitter"]}),
        422,
        "no_active_integration",
    )


# --- character limits (api-decisions) ----------------------------------------------------------
def test_limits_name_platform_and_field(api, key):
    body = problem(
        api.post("/v1/posts", key, {"content": "a" * 281, "platforms": ["twitter", "bluesky"]}),
        422,
        "character_limit_exceeded",
    )
    assert body["errors"] == [
        {
            "field": "content",
            "platform": "twitter",
            "code": "character_limit_exceeded",
            "message": body["errors"][0]["message"],
        }
    ]
    assert "280" in body["errors"][0]["message"] and "281" in body["errors"][0]["message"]
    assert create(api, key, content="a" * 280, platforms=["twitter", "bluesky"])


def test_override_is_checked_for_its_platform_only(api, key):
    long_text = "b" * 290
    post = create(
        api, key, content="short", platforms=["twitter", "bluesky"], platform_overrides={"bluesky": long_text}
    )
    assert post["platform_overrides"] == {"bluesky": long_text}
    body = problem(
        api.post(
            "/v1/posts",
            key,
            {"content": long_text, "platforms": ["twitter", "bluesky"], "platform_overrides": {"twitter": "t" * 281}},
        ),
        422,
    )
    assert {(e["field"], e["platform"]) for e in body["errors"]} == {("platform_overrides.twitter", "twitter")}


def test_segments_are_checked_per_platform(api, key):
    segments = [{"content": "fine"}, {"content": "fine too"}, {"content": "🙂" * 141}]  # 282 weighted on X
    body = problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["twitter", "bluesky"], "segments": segments}),
        422,
        "character_limit_exceeded",
    )
    assert [(e["field"], e["platform"]) for e in body["errors"]] == [("segments[2].content", "twitter")]
    post = create(api, key, platforms=["bluesky"], segments=segments)
    assert len(post["segments"]) == 3


def test_limits_are_checked_on_update_too(api, key):
    post = create(api, key)
    body = problem(api.request("PATCH", f"/v1/posts/{post['id']}", key, body={"content": "c" * 281}), 422)
    assert body["errors"][0]["field"] == "content"
    assert api.get(f"/v1/posts/{post['id']}", key).json["data"]["content"] == "Hello world"


def test_thread_size_limits(api, key):
    body = problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["bluesky"], "segments": [{"content": "s"}] * 25}), 422
    )
    assert body["errors"][0]["field"] == "segments"
    body = problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["bluesky"], "segments": [{"content": "s" * 5001}]}),
        422,
    )
    assert body["errors"][0]["field"] == "segments[0].content"


# --- media -------------------------------------------------------------------------------------
def test_media_rules(api, key, media_host):
    from tests import media_samples

    url = media_host.add("/a.png", media_samples.image("image/png"), "image/png")
    image = {"url": url, "alt_text": "A chart"}
    post = create(api, key, media={"images": [image] * 4})
    assert post["media"] == {"images": [image] * 4, "video": None}
    assert media_host.requests["/a.png"] == 1  # one URL named four times is fetched once
    body = problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["twitter"], "media": {"images": [image] * 5}}), 422
    )
    assert body["errors"][0]["field"] == "media.images"
    body = problem(
        api.post(
            "/v1/posts",
            key,
            {
                "content": "x",
                "platforms": ["twitter"],
                "media": {"images": [image], "video": {"url": media_host.base_url + "/v.mp4"}},
            },
        ),
        422,
    )
    assert body["errors"][0]["field"] == "media"
    body = problem(
        api.post(
            "/v1/posts",
            key,
            {"content": "x", "platforms": ["twitter"], "media": {"images": [{"url": "ftp://example.com/a.png"}]}},
        ),
        422,
    )
    assert body["errors"][0]["field"] == "media.images[0].url"
    problem(
        api.post("/v1/posts", key, {"content": "x", "platforms": ["twitter"], "media": ["med_unknown"]}),
        422,
        "unknown_media",
    )
    assert media_host.requests["/a.png"] == 1  # refused bodies fetch nothing


# --- platform settings -------------------------------------------------------------------------
def test_platform_settings(api, key):
    post = create(api, key, platform_settings={"twitter": {"who_can_reply": "following", "unlisted_field": 1}})
    assert post["platform_settings"] == {"twitter": {"who_can_reply": "following"}}
    body = problem(
        api.post(
            "/v1/posts",
            key,
            {"content": "x", "platforms": ["twitter"], "platform_settings": {"twitter": {"who_can_reply": "anyone"}}},
        ),
        422,
    )
    assert body["errors"][0]["field"] == "platform_settings.twitter.who_can_reply"
    body = problem(
        api.post(
            "/v1/posts",
            key,
            {
                "content": "x",
                "platforms": ["twitter"],
                "platform_settings": {"tiktok": {"privacy_level": "EVERYONE"}, "youtube": {"privacy": "secret"}},
            },
        ),
        422,
    )
    assert {e["field"] for e in body["errors"]} == {
        "platform_settings.tiktok.privacy_level",
        "platform_settings.youtube.privacy",
    }


# --- reading and listing -----------------------------------------------------------------------
def test_list_newest_first_with_exact_totals(api, key):
    ids = [create(api, key, content=f"post {n}")["id"] for n in range(5)]
    scheduled = create(api, key, schedule_at=FUTURE)["id"]
    page = api.get("/v1/posts?limit=2&offset=1", key).json
    assert page["total"] == 6 and page["limit"] == 2 and page["offset"] == 1
    assert [p["id"] for p in page["data"]] == [ids[4], ids[3]]
    drafts = api.get("/v1/posts?status=draft", key).json
    assert drafts["total"] == 5 and [p["id"] for p in drafts["data"]] == list(reversed(ids))
    assert [p["id"] for p in api.get("/v1/posts?status=scheduled", key).json["data"]] == [scheduled]
    assert api.get("/v1/posts?status=published", key).json == {
        "data": [],
        "total": 0,
        "limit": 20,
        "offset": 0,
        "next_cursor": None,
    }
    problem(api.get("/v1/posts?status=archived", key), 400, "invalid_query")
    problem(api.get("/v1/posts?limit=101", key), 400, "invalid_query")


def test_other_workspace_and_mode_get_404(api, services, workspace, key):
    post = create(api, key)
    problem(api.get(f"/v1/posts/{post['id']}", workspace.live_key), 404, "post_not_found")
    other = services.workspaces.create("Other").test_key
    problem(api.get(f"/v1/posts/{post['id']}", other), 404, "post_not_found")
    problem(api.request("PATCH", f"/v1/posts/{post['id']}", other, body={"content": "mine"}), 404)
    problem(api.delete(f"/v1/posts/{post['id']}", other), 404)
    problem(api.post(f"/v1/posts/{post['id']}/publish", other), 404)
    assert api.get(f"/v1/posts/{post['id']}", key).json["data"]["content"] == "Hello world"


# --- editing -------------------------------------------------------------------------------------
def test_patch_and_put_are_partial(api, key):
    post = create(api, key, tags=["a"], schedule_at=FUTURE)
    patched = api.request("PATCH", f"/v1/posts/{post['id']}", key, body={"content": "Edited"}).json["data"]
    assert patched["content"] == "Edited" and patched["tags"] == ["a"] and patched["status"] == "scheduled"
    put = api.request("PUT", f"/v1/posts/{post['id']}", key, body={"platforms": ["twitter", "bluesky"]}).json["data"]
    assert put["content"] == "Edited" and {t["integrations"]["platform"] for t in put["post_targets"]} == {
        "twitter",
        "bluesky",
    }
    twitter_target = next(t["id"] for t in post["post_targets"])
    assert twitter_target in {t["id"] for t in put["post_targets"]}  # an edit keeps existing targets' ids
    assert put["updated_at"] == "2026-05-01T12:00:00Z"


def test_unschedule_reschedule_and_counts(api, key):
    post = create(api, key, schedule_at=FUTURE)
    draft = api.request("PATCH", f"/v1/posts/{post['id']}", key, body={"schedule_at": None}).json["data"]
    assert draft["status"] == "draft" and draft["scheduled_at"] is None
    assert api.get("/v1/posts?status=scheduled", key).json["total"] == 0
    assert api.get("/v1/posts?status=draft", key).json["total"] == 1
    again = api.request("PUT", f"/v1/posts/{post['id']}", key, body={"scheduled_for": "2026-05-03T09:00:00Z"}).json[
        "data"
    ]
    assert again["status"] == "scheduled" and again["scheduled_at"] == "2026-05-03T09:00:00Z"
    problem(
        api.request("PATCH", f"/v1/posts/{post['id']}", key, body={"schedule_at": "2020-01-01T00:00:00Z"}),
        422,
        "schedule_in_past",
    )
    problem(
        api.request("PATCH", f"/v1/posts/{post['id']}", key, body={"status": "draft", "schedule_at": FUTURE}),
        422,
        "status_conflict",
    )


def test_segments_empty_list_removes_the_thread(api, key):
    post = create(api, key, segments=[{"content": "reply"}])
    assert api.request("PUT", f"/v1/posts/{post['id']}", key, body={"segments": []}).json["data"]["segments"] is None


def test_a_publishing_post_cannot_be_edited_published_or_deleted(api, key):
    post = create(api, key)
    assert api.post(f"/v1/posts/{post['id']}/publish", key).status == 202
    body = problem(
        api.request("PATCH", f"/v1/posts/{post['id']}", key, body={"content": "late"}), 409, "post_not_editable"
    )
    assert "publishing" in body["detail"]
    problem(api.request("PUT", f"/v1/posts/{post['id']}", key, body={"content": "late"}), 409)
    problem(api.post(f"/v1/posts/{post['id']}/publish", key), 409, "post_not_publishable")
    problem(api.delete(f"/v1/posts/{post['id']}", key), 409, "post_publishing")


# --- publishing now ------------------------------------------------------------------------------
def test_publish_now_queues_each_target_at_once(api, key, aws):
    post = create(api, key, platforms=["twitter", "bluesky"], schedule_at=FUTURE)
    answer = api.post(f"/v1/posts/{post['id']}/publish", key)
    assert answer.status == 202 and answer.json["data"]["status"] == "publishing"
    messages = boto3.client("sqs").receive_message(QueueUrl=aws.queue_urls["publish"], MaxNumberOfMessages=10)
    bodies = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
    assert sorted(b["target_id"] for b in bodies) == sorted(t["id"] for t in post["post_targets"])
    assert {b["post_id"] for b in bodies} == {post["id"]} and len({b["dispatch_id"] for b in bodies}) == 1
    assert api.get("/v1/posts?status=publishing", key).json["total"] == 1
    assert api.get("/v1/posts?status=scheduled", key).json["total"] == 0


def test_publish_checks_limits_again_with_the_instance_limit(api, workspace, key, clock):
    """Mastodon's limit is the instance's; if it shrinks after a post was written, publishing says so
    (once this container's view of the workspace's integrations is refreshed: at most 60 s)."""
    from chalicelib.data.models import IntegrationRecord, scope_of

    post = create(api, key, platforms=["mastodon"], content="twenty characters!!!")
    record = next(
        r for r in IntegrationRecord.query(scope_of(workspace.workspace.id, "test")) if r.platform == "mastodon"
    )
    record.update(actions=[IntegrationRecord.profile.set({"max_characters": 10})])
    clock.advance(seconds=60)
    body = problem(api.post(f"/v1/posts/{post['id']}/publish", key), 422, "character_limit_exceeded")
    assert body["errors"][0]["platform"] == "mastodon" and "10" in body["errors"][0]["message"]
    assert api.get(f"/v1/posts/{post['id']}", key).json["data"]["status"] == "draft"


def test_publish_when_the_queue_fails_leaves_the_post_unchanged(api, key, services, aws):
    post = create(api, key, schedule_at=FUTURE)
    boto3.client("sqs").delete_queue(QueueUrl=aws.queue_urls["publish"])
    body = problem(api.post(f"/v1/posts/{post['id']}/publish", key), 503, "temporarily_unavailable")
    assert body["detail"]
    again = api.get(f"/v1/posts/{post['id']}", key).json["data"]
    assert again["status"] == "scheduled" and again["scheduled_at"] == FUTURE
    assert api.get("/v1/posts?status=scheduled", key).json["total"] == 1


# --- duplicate, delete, groups ------------------------------------------------------------------
def test_duplicate_is_a_new_draft(api, key):
    post = create(api, key, schedule_at=FUTURE, tags=["t"], segments=[{"content": "more"}])
    copy = api.post(f"/v1/posts/{post['id']}/duplicate", key)
    assert copy.status == 201
    data = copy.json["data"]
    assert data["id"] != post["id"] and data["status"] == "draft" and data["scheduled_at"] is None
    assert data["content"] == post["content"] and data["tags"] == ["t"] and data["segments"] == post["segments"]
    assert {t["id"] for t in data["post_targets"]}.isdisjoint({t["id"] for t in post["post_targets"]})


def test_delete_cancels_and_counts(api, key):
    post = create(api, key, schedule_at=FUTURE)
    assert api.delete(f"/v1/posts/{post['id']}", key).status == 204
    problem(api.get(f"/v1/posts/{post['id']}", key), 404, "post_not_found")
    problem(api.delete(f"/v1/posts/{post['id']}", key), 404)
    assert api.get("/v1/posts", key).json["total"] == 0
    assert api.get("/v1/posts?status=scheduled", key).json["total"] == 0


def test_groups(api, key):
    group = "0196a0c4-1111-7000-8000-000000000001"
    ids = [create(api, key, group_id=group, content=f"part {n}")["id"] for n in range(3)]
    create(api, key, content="not in the group")
    listed = api.get(f"/v1/posts/group/{group}", key).json
    assert listed["total"] == 3 and [p["id"] for p in listed["data"]] == list(reversed(ids))
    assert all(p["group_id"] == group for p in listed["data"])
    assert api.delete(f"/v1/posts/group/{group}", key).status == 204
    assert api.get(f"/v1/posts/group/{group}", key).json["total"] == 0
    assert api.get("/v1/posts", key).json["total"] == 1


def test_group_delete_refuses_while_one_is_publishing(api, key):
    group = "campaign-1"
    first = create(api, key, group_id=group)
    create(api, key, group_id=group)
    api.post(f"/v1/posts/{first['id']}/publish", key)
    problem(api.delete(f"/v1/posts/group/{group}", key), 409, "post_publishing")
    assert api.get(f"/v1/posts/group/{group}", key).json["total"] == 2


# --- idempotent create ---------------------------------------------------------------------------
def test_idempotent_create(api, key):
    headers = {"Idempotency-Key": "demo-launch-v1"}
    body = {"content": "Big launch today 🚀", "platforms": ["twitter"], "schedule_at": FUTURE}
    first = api.post("/v1/posts", key, body, headers=headers)
    second = api.post("/v1/posts", key, body, headers=headers)
    assert first.status == second.status == 201 and first.json == second.json
    assert second.headers["idempotent-replayed"] == "true"
    assert api.get("/v1/posts", key).json["total"] == 1
    problem(api.post("/v1/posts", key, {**body, "content": "other"}, headers=headers), 422, "idempotency_key_reused")

"""The local Threads server, proven against Meta's documented rules before any adapter relies on it.

Each test drives the server over HTTP with ``requests``, as a client would, and checks both the answer
and what Threads would then hold (posts, media bytes, tokens).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests import media_samples
from tests.platform_servers.threads_api import CONTAINER_SECONDS, REPLY_CONTROLS, ThreadsApiServer

REDIRECT = "https://openpost.example/connect/threads/callback"


@pytest.fixture
def threads():
    with ThreadsApiServer(redirect_uris=[REDIRECT], video_processing_seconds=30) as server:
        server.add_user(username="openpost_test")
        yield server


@pytest.fixture
def token(threads):
    return threads.issue_token()


def call(threads, method, path, token=None, **params):
    if token is not None:
        params["access_token"] = token
    kwargs = {"params": params} if method == "GET" else {"data": params}
    return requests.request(method, threads.url + path, timeout=10, **kwargs)


def graph_error(answer, code, subcode=None, status=400):
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code, error
    if subcode is not None:
        assert error.get("error_subcode") == subcode, error
    assert error["fbtrace_id"] and error["type"] and error["message"]
    return error


def create(threads, token, **params):
    answer = call(threads, "POST", "/v1.0/me/threads", token, **params)
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def status(threads, token, container_id):
    return call(threads, "GET", f"/v1.0/{container_id}", token, fields="status,error_message").json()


def publish(threads, token, container_id):
    return call(threads, "POST", "/v1.0/me/threads_publish", token, creation_id=container_id)


def post_text(threads, token, text="hello", **params):
    answer = publish(threads, token, create(threads, token, media_type="TEXT", text=text, **params))
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


# --- OAuth --------------------------------------------------------------------------------------------
def authorize_url(threads, **overrides):
    query = {
        "client_id": threads.client_id,
        "redirect_uri": REDIRECT,
        "scope": "threads_basic,threads_content_publish",
        "response_type": "code",
        "state": "st-123",
        **overrides,
    }
    return threads.authorize_url + "?" + "&".join(f"{k}={v}" for k, v in query.items() if v is not None)


def exchange(threads, code, **overrides):
    form = {
        "client_id": threads.client_id,
        "client_secret": threads.client_secret,
        "code": code,
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT,
        **overrides,
    }
    return requests.post(threads.url + "/oauth/access_token", data=form, timeout=10)


def code_from(redirect):
    query = parse_qs(urlsplit(redirect).query)
    return query["code"][0], query.get("state", [None])[0]


def test_the_whole_authorization_dance_ends_with_a_long_lived_token_that_reads_the_profile(threads):
    redirect = threads.authorize(authorize_url(threads))
    assert redirect.startswith(REDIRECT + "?") and redirect.endswith("#_")
    code, state = code_from(redirect)
    assert state == "st-123"
    short = exchange(threads, code)
    assert short.status_code == 200
    body = short.json()
    assert set(body) == {"access_token", "user_id"}
    user = next(iter(threads.users.values()))
    assert str(body["user_id"]) == user.id

    long = requests.get(
        threads.url + "/access_token",
        timeout=10,
        params={
            "grant_type": "th_exchange_token",
            "client_secret": threads.client_secret,
            "access_token": body["access_token"],
        },
    )
    assert long.status_code == 200
    assert long.json()["token_type"] == "bearer" and long.json()["expires_in"] == 60 * 24 * 60 * 60
    assert threads.exchanges == [(body["access_token"], long.json()["access_token"])]

    me = call(threads, "GET", "/v1.0/me", long.json()["access_token"], fields="id,username,name")
    assert me.json() == {"id": user.id, "username": "openpost_test", "name": user.name}
    assert call(threads, "GET", f"/v1.0/{user.id}", long.json()["access_token"]).json() == {"id": user.id}


@pytest.mark.parametrize(
    "overrides",
    [
        {"scope": None},
        {"redirect_uri": None},
        {"response_type": "token"},
        {"client_id": "123"},
        {"redirect_uri": "https://elsewhere.example/cb"},
        {"scope": "threads_basic,threads_everything"},
    ],
)
def test_the_authorization_window_refuses_a_malformed_request(threads, overrides):
    with pytest.raises(ValueError):
        threads.authorize(authorize_url(threads, **overrides))


def test_state_is_optional(threads):
    code, state = code_from(threads.authorize(authorize_url(threads, state=None)))
    assert code and state is None


def test_a_code_works_once_and_only_with_the_app_secret_and_the_same_redirect(threads):
    code, _ = code_from(threads.authorize(authorize_url(threads)))
    graph_error(exchange(threads, code, client_secret="wrong"), 1)
    code, _ = code_from(threads.authorize(authorize_url(threads)))
    graph_error(exchange(threads, code, redirect_uri=REDIRECT + "/other"), 100, 36008)
    code, _ = code_from(threads.authorize(authorize_url(threads)))
    assert exchange(threads, code).status_code == 200
    graph_error(exchange(threads, code), 100, 36009)
    code, _ = code_from(threads.authorize(authorize_url(threads)))
    threads.advance(3601)
    graph_error(exchange(threads, code), 100, 36007)


def test_only_a_short_lived_token_is_exchanged_and_only_on_the_unversioned_path(threads):
    short = threads.issue_token(long_lived=False)
    params = {"grant_type": "th_exchange_token", "client_secret": threads.client_secret, "access_token": short}
    graph_error(requests.get(threads.url + "/v1.0/access_token", params=params, timeout=10), 100)
    graph_error(requests.get(threads.url + "/access_token", params={**params, "client_secret": "x"}, timeout=10), 1)
    graph_error(
        requests.get(threads.url + "/access_token", params={**params, "grant_type": "fb_exchange_token"}, timeout=10),
        100,
    )
    long = threads.issue_token()
    graph_error(requests.get(threads.url + "/access_token", params={**params, "access_token": long}, timeout=10), 100)


def test_a_short_lived_token_lasts_an_hour(threads):
    short = threads.issue_token(long_lived=False)
    assert call(threads, "GET", "/me", short).status_code == 200
    threads.advance(3600)
    graph_error(call(threads, "GET", "/me", short), 190, 463)


def refresh(threads, token):
    return requests.get(
        threads.url + "/refresh_access_token",
        timeout=10,
        params={"grant_type": "th_refresh_token", "access_token": token},
    )


def test_a_long_lived_token_refreshes_after_a_day_and_before_it_expires(threads, token):
    graph_error(refresh(threads, token), 100)  # under 24 hours old
    threads.advance(24 * 3600 + 1)
    answer = refresh(threads, token)
    assert answer.status_code == 200
    new = answer.json()["access_token"]
    assert new != token and answer.json()["expires_in"] == 60 * 24 * 3600
    assert threads.refreshes == [(token, new)]
    threads.advance(59 * 24 * 3600)  # the old one is now 60 days old
    graph_error(call(threads, "GET", "/me", token), 190, 463)
    assert call(threads, "GET", "/me", new).status_code == 200
    graph_error(refresh(threads, token), 190, 463)  # expired: not refreshable
    graph_error(
        requests.get(
            threads.url + "/v1.0/refresh_access_token",
            timeout=10,
            params={"grant_type": "th_refresh_token", "access_token": new},
        ),
        100,
    )


def test_tokens_are_checked_on_every_call(threads, token):
    graph_error(call(threads, "GET", "/me"), 104)
    graph_error(call(threads, "GET", "/me", "not-a-token"), 190)
    answer = requests.get(threads.url + "/v1.0/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200
    threads.revoke_tokens()
    graph_error(call(threads, "GET", "/me", token), 190, 460)


def test_publishing_needs_the_content_publish_permission(threads):
    basic = threads.issue_token(scope="threads_basic")
    assert call(threads, "GET", "/me", basic).status_code == 200
    graph_error(call(threads, "POST", "/me/threads", basic, media_type="TEXT", text="hi"), 10)
    graph_error(call(threads, "GET", "/me/threads_publishing_limit", basic), 10)


# --- text posts -----------------------------------------------------------------------------------------
def test_a_text_post_is_created_then_published_and_reads_back(threads, token):
    container = create(threads, token, media_type="TEXT", text="Hello Threads", reply_control="mentioned_only")
    assert status(threads, token, container) == {"id": container, "status": "FINISHED"}
    answer = publish(threads, token, container)
    assert answer.status_code == 200 and set(answer.json()) == {"id"}
    media_id = answer.json()["id"]
    assert media_id != container
    assert status(threads, token, container)["status"] == "PUBLISHED"
    read = call(
        threads,
        "GET",
        f"/v1.0/{media_id}",
        token,
        fields="id,media_type,text,permalink,shortcode,username,owner,is_reply,reply_audience",
    ).json()
    assert read["media_type"] == "TEXT_POST" and read["text"] == "Hello Threads"
    assert read["permalink"] == f"https://www.threads.net/@openpost_test/post/{read['shortcode']}"
    assert read["is_reply"] is False and read["reply_audience"] == "MENTIONED_ONLY"
    [post] = threads.posts
    assert (post["id"], post["text"], post["reply_control"], post["reply_to_id"]) == (
        media_id,
        "Hello Threads",
        "mentioned_only",
        None,
    )


def test_a_container_is_published_once(threads, token):
    container = create(threads, token, media_type="TEXT", text="once")
    assert publish(threads, token, container).status_code == 200
    graph_error(publish(threads, token, container), 24, 4279009)
    assert len(threads.posts) == 1


@pytest.mark.parametrize(
    "text, accepted",
    [
        ("a" * 500, True),
        ("a" * 501, False),
        ("🚀" * 125, True),
        ("🚀" * 125 + "a", False),  # an emoji counts its 4 UTF-8 bytes
        ("’" * 166 + "ab", True),
        ("’" * 167, False),  # so do curly quotes (3 bytes each)
    ],
)
def test_text_is_limited_to_500_utf8_bytes(threads, token, text, accepted):
    answer = call(threads, "POST", "/me/threads", token, media_type="TEXT", text=text)
    if accepted:
        assert answer.status_code == 200
    else:
        error = graph_error(answer, 100)
        assert error["message"] == "Param text must be at most 500 characters long."


@pytest.mark.parametrize(
    "params",
    [
        {"media_type": "TEXT"},
        {"text": "no type"},
        {"media_type": "POLL", "text": "x"},
        {"media_type": "TEXT", "text": "x", "reply_control": "nobody"},
        {"media_type": "TEXT", "text": "x", "is_carousel_item": "true"},
        {"media_type": "TEXT", "text": "x", "is_carousel_item": "maybe"},
        {"media_type": "IMAGE"},
        {"media_type": "VIDEO"},
        {"media_type": "CAROUSEL"},
    ],
)
def test_malformed_containers_are_refused_with_code_100(threads, token, params):
    graph_error(call(threads, "POST", "/me/threads", token, **params), 100)
    assert threads.containers == {}


@pytest.mark.parametrize("reply_control", REPLY_CONTROLS)
def test_every_documented_reply_control_is_accepted(threads, token, reply_control):
    post_text(threads, token, reply_control=reply_control)
    assert threads.posts[-1]["reply_control"] == reply_control


def test_parameters_come_as_query_form_multipart_or_json(threads, token):
    url = threads.url + "/v1.0/me/threads"
    by_query = requests.post(url, params={"media_type": "TEXT", "text": "q", "access_token": token}, timeout=10)
    by_form = requests.post(url, data={"media_type": "TEXT", "text": "f", "access_token": token}, timeout=10)
    by_multipart = requests.post(
        url, files={"media_type": (None, "TEXT"), "text": (None, "m"), "access_token": (None, token)}, timeout=10
    )
    by_json = requests.post(
        url, json={"media_type": "TEXT", "text": "j"}, timeout=10, headers={"Authorization": f"Bearer {token}"}
    )
    assert [a.status_code for a in (by_query, by_form, by_multipart, by_json)] == [200] * 4
    assert [c.text for c in threads.containers.values()] == ["q", "f", "m", "j"]


def test_auto_publish_text_publishes_at_creation(threads, token):
    answer = call(threads, "POST", "/me/threads", token, media_type="TEXT", text="now", auto_publish_text="true")
    assert answer.status_code == 200
    assert threads.posts[0]["id"] == answer.json()["id"]


def test_a_path_naming_another_user_and_unknown_objects_and_fields_are_refused(threads, token):
    other = threads.add_user(username="other")
    graph_error(call(threads, "POST", f"/v1.0/{other.id}/threads", token, media_type="TEXT", text="x"), 100, 33)
    graph_error(call(threads, "GET", "/v1.0/123456789", token), 100, 33)
    graph_error(call(threads, "GET", "/v1.0/me", token, fields="id,email"), 100)
    me = next(iter(threads.users.values()))
    assert call(threads, "POST", f"/v1.0/{me.id}/threads", token, media_type="TEXT", text="x").status_code == 200


# --- replies -------------------------------------------------------------------------------------------
def test_a_reply_names_its_parent_and_reads_back_as_one(threads, token):
    parent = threads.add_post(text="a question")
    reply = post_text(threads, token, text="an answer", reply_to_id=parent)
    assert threads.posts[-1]["reply_to_id"] == parent
    read = call(threads, "GET", f"/{reply}", token, fields="is_reply,replied_to,root_post").json()
    assert read == {"id": reply, "is_reply": True, "replied_to": {"id": parent}, "root_post": {"id": parent}}
    nested = post_text(threads, token, text="and more", reply_to_id=reply)
    assert call(threads, "GET", f"/{nested}", token, fields="root_post").json()["root_post"] == {"id": parent}


def test_a_reply_to_a_post_that_does_not_exist_is_refused(threads, token):
    graph_error(call(threads, "POST", "/me/threads", token, media_type="TEXT", text="x", reply_to_id="999"), 100)


# --- images, videos, carousels ----------------------------------------------------------------------------
def test_an_image_is_fetched_once_from_its_url_and_published_with_those_bytes(threads, token, media_host):
    data = media_samples.image("image/jpeg")
    url = media_host.add("/photo.jpg", data, "image/jpeg") + "?X-Amz-Expires=300&X-Amz-Signature=abc"
    container = create(threads, token, media_type="IMAGE", image_url=url, text="a photo", alt_text="a red square")
    assert media_host.requests["/photo.jpg"] == 1
    assert status(threads, token, container)["status"] == "FINISHED"
    media_id = publish(threads, token, container).json()["id"]
    post = threads.posts[-1]
    assert (post["data"], post["content_type"], post["alt_text"], post["media_url"]) == (
        data,
        "image/jpeg",
        "a red square",
        url,
    )
    read = call(threads, "GET", f"/{media_id}", token, fields="media_type,media_url,alt_text").json()
    assert read["media_type"] == "IMAGE"
    assert requests.get(read["media_url"], timeout=10).content == data
    assert [(f.url, f.status, f.error) for f in threads.fetches] == [(url, 200, None)]


def test_an_image_threads_cannot_fetch_or_read_is_refused_at_creation(threads, token, media_host):
    missing = media_host.base_url + "/gone.png"
    not_image = media_host.add("/page.png", b"<html>sign in</html>", "image/png")  # the header lies
    webp = media_host.add("/a.webp", media_samples.image("image/webp"), "image/webp")
    for url in (missing, not_image, webp, "http://127.0.0.1:9/closed.png", "ftp://example.com/a.png"):
        graph_error(call(threads, "POST", "/me/threads", token, media_type="IMAGE", image_url=url), 1, 2207052)
    big = media_host.add("/big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (8 * 1024 * 1024), "image/png")
    graph_error(call(threads, "POST", "/me/threads", token, media_type="IMAGE", image_url=big), 36000, 2207004)
    assert threads.containers == {}


def test_a_video_stays_in_progress_until_processed_and_cannot_be_published_before(threads, token, media_host):
    data = media_samples.video()
    container = create(threads, token, media_type="VIDEO", video_url=media_host.add("/v.mp4", data, "video/mp4"))
    assert status(threads, token, container) == {"id": container, "status": "IN_PROGRESS"}
    graph_error(publish(threads, token, container), 24, 4279009)
    threads.advance(29)
    assert status(threads, token, container)["status"] == "IN_PROGRESS"
    threads.advance(1)
    assert status(threads, token, container)["status"] == "FINISHED"
    assert publish(threads, token, container).status_code == 200
    assert threads.posts[-1]["data"] == data and threads.posts[-1]["content_type"] == "video/mp4"


def test_a_video_that_fails_shows_error_and_its_reason(threads, token, media_host):
    gone = create(threads, token, media_type="VIDEO", video_url=media_host.base_url + "/gone.mp4")
    not_video = create(
        threads, token, media_type="VIDEO", video_url=media_host.add("/v.mp4", b"not a video at all", "video/mp4")
    )
    too_long = create(
        threads,
        token,
        media_type="VIDEO",
        video_url=media_host.add("/long.mp4", _with_duration(media_samples.video(), seconds=301), "video/mp4"),
    )
    threads.process_next(seconds=5, error="INVALID_FRAME_RATE")
    scripted = create(threads, token, media_type="VIDEO", video_url=media_host.add("/ok.mp4", media_samples.video()))
    threads.advance(30)
    for container, reason in (
        (gone, "FAILED_DOWNLOADING_VIDEO"),
        (not_video, "FAILED_PROCESSING_VIDEO"),
        (too_long, "INVALID_DURATION"),
        (scripted, "INVALID_FRAME_RATE"),
    ):
        assert status(threads, token, container) == {"id": container, "status": "ERROR", "error_message": reason}
        graph_error(publish(threads, token, container), 24, 4279009)
    assert threads.posts == []


def _with_duration(video: bytes, seconds: int) -> bytes:
    """The sample MP4 with its mvhd duration (timescale 1000) changed."""
    import struct

    at = video.index(b"mvhd") + 4 + 4 + 4 + 4 + 4  # box type, version/flags, created, modified, timescale
    return video[:at] + struct.pack(">I", seconds * 1000) + video[at + 4 :]


def test_an_unpublished_container_expires_after_24_hours(threads, token):
    container = create(threads, token, media_type="TEXT", text="later")
    threads.advance(CONTAINER_SECONDS)
    assert status(threads, token, container)["status"] == "EXPIRED"
    graph_error(publish(threads, token, container), 24, 4279009)


def test_a_carousel_publishes_its_items_in_the_order_given(threads, token, media_host):
    images = [media_samples.image("image/png", seed=n) for n in range(2)]
    items = [
        create(
            threads,
            token,
            media_type="IMAGE",
            is_carousel_item="true",
            image_url=media_host.add(f"/{n}.png", images[n], "image/png"),
        )
        for n in range(2)
    ]
    items.insert(
        1,
        create(
            threads,
            token,
            media_type="VIDEO",
            is_carousel_item="true",
            video_url=media_host.add("/v.mp4", media_samples.video(), "video/mp4"),
        ),
    )
    carousel = create(threads, token, media_type="CAROUSEL", children=",".join(items), text="three things")
    assert status(threads, token, carousel)["status"] == "IN_PROGRESS"  # the video item processes
    graph_error(publish(threads, token, carousel), 24, 4279009)
    graph_error(publish(threads, token, items[0]), 100)  # an item is not a post
    threads.advance(30)
    media_id = publish(threads, token, carousel).json()["id"]
    post = threads.posts[-1]
    assert [child["media_type"] for child in post["children"]] == ["IMAGE", "VIDEO", "IMAGE"]
    assert [post["children"][0]["data"], post["children"][2]["data"]] == images
    read = call(threads, "GET", f"/{media_id}", token, fields="media_type,children,text").json()
    assert read["media_type"] == "CAROUSEL_ALBUM" and read["text"] == "three things"
    assert [c["id"] for c in read["children"]["data"]] == [c["id"] for c in post["children"]]
    assert call(threads, "GET", "/me/threads_publishing_limit", token).json()["data"][0]["quota_usage"] == 1


def test_a_carousel_needs_2_to_20_items_created_as_carousel_items(threads, token, media_host):
    url = media_host.add("/a.png", media_samples.image("image/png"), "image/png")
    items = [create(threads, token, media_type="IMAGE", is_carousel_item="true", image_url=url) for _ in range(21)]
    single = create(threads, token, media_type="IMAGE", image_url=url)
    for children in (items[:1], items, [items[0], single], [items[0], "999"], [items[0], items[0]]):
        graph_error(
            call(threads, "POST", "/me/threads", token, media_type="CAROUSEL", children=",".join(children)), 100
        )
    assert call(threads, "POST", "/me/threads", token, media_type="CAROUSEL", children=",".join(items[:20])).ok


def test_a_carousel_with_a_failed_item_fails(threads, token, media_host):
    good = create(
        threads,
        token,
        media_type="IMAGE",
        is_carousel_item="true",
        image_url=media_host.add("/a.png", media_samples.image("image/png"), "image/png"),
    )
    bad = create(threads, token, media_type="VIDEO", is_carousel_item="true", video_url=media_host.base_url + "/no.mp4")
    carousel = create(threads, token, media_type="CAROUSEL", children=f"{good},{bad}")
    threads.advance(30)
    assert status(threads, token, carousel)["status"] == "ERROR"
    graph_error(publish(threads, token, carousel), 24, 4279009)


# --- limits -------------------------------------------------------------------------------------------
def test_posts_per_24_hours_are_capped_at_publish_and_reported_by_the_limit_endpoint():
    with ThreadsApiServer(posts_per_day=2, replies_per_day=1) as threads:
        token = threads.issue_token()
        first, second = post_text(threads, token, "one"), post_text(threads, token, "two")
        container = create(threads, token, media_type="TEXT", text="three")  # creation is not capped
        graph_error(publish(threads, token, container), 9, 2207042)
        reply = post_text(threads, token, "a reply does not use the post quota", reply_to_id=first)
        graph_error(
            publish(threads, token, create(threads, token, media_type="TEXT", text="r", reply_to_id=second)), 9, 2207042
        )
        limits = call(
            threads,
            "GET",
            "/v1.0/me/threads_publishing_limit",
            token,
            fields="quota_usage,config,reply_quota_usage,reply_config",
        ).json()
        assert limits == {
            "data": [
                {
                    "quota_usage": 2,
                    "config": {"quota_total": 2, "quota_duration": 86400},
                    "reply_quota_usage": 1,
                    "reply_config": {"quota_total": 1, "quota_duration": 86400},
                }
            ]
        }
        threads.advance(24 * 3600)  # the window moves on (and the unpublished container expired)
        graph_error(publish(threads, token, container), 24, 4279009)
        assert reply and post_text(threads, token, "four")
        assert [p["text"] for p in threads.posts][-1] == "four"


def test_the_documented_default_quotas(threads, token):
    data = call(threads, "GET", "/me/threads_publishing_limit", token, fields="config,reply_config").json()["data"][0]
    assert data == {
        "config": {"quota_total": 250, "quota_duration": 86400},
        "reply_config": {"quota_total": 1000, "quota_duration": 86400},
    }


# --- faults -------------------------------------------------------------------------------------------
def test_an_injected_server_error_changes_nothing(threads, token):
    container = create(threads, token, media_type="TEXT", text="retry me")
    threads.fail_next(times=2, status=500, on="threads_publish")
    for _ in range(2):
        error = graph_error(publish(threads, token, container), 1, status=500)
        assert error["is_transient"] is True
    assert threads.posts == [] and publish(threads, token, container).status_code == 200


def test_an_injected_throttle_answers_the_graph_rate_limit_code(threads, token):
    threads.rate_limit_next(on="threads")
    graph_error(call(threads, "POST", "/me/threads", token, media_type="TEXT", text="x"), 4)
    threads.rate_limit_next(code=17, on="me")
    graph_error(call(threads, "GET", "/me", token), 17)
    assert threads.containers == {}


def test_a_dropped_answer_after_publishing_leaves_the_post_and_a_published_container(threads, token):
    container = create(threads, token, media_type="TEXT", text="did it work?")
    threads.drop_after_accept_next(on="threads_publish")
    with pytest.raises(requests.ConnectionError):
        publish(threads, token, container)
    assert len(threads.posts) == 1
    # What a client can learn afterwards: the container says PUBLISHED, and a second publish is refused.
    assert status(threads, token, container)["status"] == "PUBLISHED"
    graph_error(publish(threads, token, container), 24, 4279009)
    assert len(threads.posts) == 1


def test_a_slow_answer_hides_a_success_from_a_client_that_times_out(threads, token):
    container = create(threads, token, media_type="TEXT", text="slow")
    threads.delay_next(2.0, on="threads_publish")
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            threads.url + "/me/threads_publish", timeout=0.5, data={"creation_id": container, "access_token": token}
        )
    assert len(threads.posts) == 1


def test_a_delay_before_acting_lets_a_client_give_up_before_anything_happens(threads, token):
    threads.delay_next(1.0, on="threads", before=True)
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            threads.url + "/me/threads", timeout=0.3, data={"media_type": "TEXT", "text": "x", "access_token": token}
        )
    assert threads.containers == {}


def test_an_image_is_fetched_from_a_presigned_url_of_a_loopback_s3(threads, token):
    """The URL an adapter hands Threads is a presigned GET of openpost's media bucket: Threads must be
    able to fetch it while it is valid (moto's S3 on loopback stands for the bucket)."""
    import boto3
    from moto.server import ThreadedMotoServer

    s3_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    s3_server.start()
    try:
        host, port = s3_server.get_host_and_port()
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=f"http://{host}:{port}")
        s3.create_bucket(Bucket="openpost-media")
        data = media_samples.image("image/png", seed=7)
        s3.put_object(Bucket="openpost-media", Key="ws/1/photo.png", Body=data, ContentType="image/png")
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "openpost-media", "Key": "ws/1/photo.png"}, ExpiresIn=300
        )
        container = create(threads, token, media_type="IMAGE", image_url=url)
        publish(threads, token, container)
        assert threads.posts[-1]["data"] == data
        assert [(f.url, f.status) for f in threads.fetches] == [(url, 200)]
    finally:
        s3_server.stop()

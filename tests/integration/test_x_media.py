"""Images, GIFs and videos on X, through the adapter against the local X server over HTTP
(tests/platform_servers/x_api.py), which keeps uploads as X documents them: per account, checked
segment by segment and size against size, processed before a post may carry them.

The adapter is built as the engine builds it, for an account connected through the API, with two
stand-ins: a small chunk size, so a sample video of a few hundred KB takes several appends, and
pauses that are recorded instead of waited.
"""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from chalicelib.clock import ManualClock
from chalicelib.data.integrations import IntegrationStore
from chalicelib.domain.credentials import AccountCredentials
from chalicelib.platforms import adapter_for
from chalicelib.platforms.base import (
    Attachment,
    AuthenticationFailedError,
    Part,
    PermanentError,
    PlatformRateLimitedError,
    TransientError,
)
from chalicelib.platforms.twitter import adapter as twitter
from tests import media_samples
from tests.conftest import TIME_LEFT, RunningClock, services_with
from tests.integration.test_x import register_x_app, x_settings
from tests.platform_servers.x_api import SCOPE, XApiServer

CHUNK = 64 * 1024
USER_ID = "1460000000000000001"


@pytest.fixture
def x():
    with XApiServer(client_id="openpost-client", client_secret="openpost-secret") as server:
        server.add_user(id=USER_ID, username="openpost", name="openpost HQ")
        server.add_user(id="1460000000000000002", username="someone", name="Someone else")
        yield server


@pytest.fixture
def clock():
    """X's local server keeps real time (token lifetimes, rate-limit resets): the deployment's
    clock runs with it, and further when a test moves it."""
    return RunningClock()


@pytest.fixture
def services(aws, clock, x):
    register_x_app(aws, x)
    with services_with(aws, clock, **x_settings(x)) as built:
        yield built


@pytest.fixture(autouse=True)
def no_race_pauses(monkeypatch):
    monkeypatch.setattr(twitter, "RACE_WAITS", (0.0,))


class Pauses(ManualClock):
    """The adapter's clock: a pause is recorded (``taken``) and moves the clock on; nothing is waited."""

    @property
    def taken(self):
        return self.slept


def connect(api, key, x, scope=twitter.SCOPES):
    """Connects the X account through the API, granting ``scope`` on X's consent screen."""
    started = api.get("/v1/integrations/twitter/connect", key).json["data"]
    url = urlsplit(started["url"])
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    authorize = url._replace(query=urlencode({**query, "scope": scope})).geturl()
    back = urlsplit(x.authorize(authorize, USER_ID))
    answer = api.get(f"{back.path}?{back.query}", headers={"Accept": "application/json"})
    assert answer.status == 200, answer
    return answer.json["data"]


@pytest.fixture
def account(api, workspace, x):
    connected = connect(api, workspace.live_key, x)
    x.requests.clear()
    return connected


@pytest.fixture
def pauses():
    return Pauses()


def adapter(services, workspace, account, pauses, **options):
    integration = IntegrationStore().get(workspace.workspace.id, "live", account["id"])
    held = AccountCredentials(services.credentials, workspace.workspace.id, "live", account["id"])
    return adapter_for(
        integration,
        held,
        deployment=services.deployment,
        clock=pauses,
        chunk_bytes=CHUNK,
        **options,
    )


@pytest.fixture
def x_adapter(services, workspace, account, pauses):
    return adapter(services, workspace, account, pauses)


class Stream(io.BytesIO):
    """A stored file that remembers how much was asked of it at a time."""

    def __init__(self, data, reads):
        super().__init__(data)
        self._reads = reads

    def read(self, size=-1):
        self._reads.append(size)
        return super().read(size)


def attachment(data, content_type, alt_text=None, name="m1", reads=None, size=None):
    reads = [] if reads is None else reads
    return Attachment(
        id=name,
        kind="video" if content_type.startswith("video/") else "image",
        content_type=content_type,
        size=len(data) if size is None else size,
        filename=f"{name}.bin",
        alt_text=alt_text,
        opener=lambda: Stream(data, reads),
    )


def part(text, *media):
    return Part(text=text, index=0, total=1, idempotency_key=f"{text}:0", media=list(media), time_left=TIME_LEFT)


def calls(x):
    """The calls made, with media ids replaced by a placeholder."""
    return [
        (method, "/".join("{id}" if piece.isdigit() and len(piece) > 1 else piece for piece in path.split("/")))
        for method, path in x.requests
    ]


def upload_calls(appends, metadata=True):
    return (
        [("POST", "/2/media/upload/initialize")]
        + [("POST", "/2/media/upload/{id}/append")] * appends
        + [("POST", "/2/media/upload/{id}/finalize")]
        + ([("POST", "/2/media/metadata")] if metadata else [])
    )


# --- what reaches X ------------------------------------------------------------------------------------
def test_two_images_with_alt_text(x, x_adapter):
    png, jpeg = media_samples.image("image/png", 64, 48), media_samples.image("image/jpeg", 40, 30)
    longest = "A" * twitter.ALT_TEXT_MAX_CHARACTERS  # X's limit, exactly
    ref = x_adapter.publish(
        part(
            "Two pictures",
            attachment(png, "image/png", "A blue square", "a"),
            attachment(jpeg, "image/jpeg", longest, "b"),
        )
    )
    (tweet,) = x.tweets
    assert ref.id == tweet["id"] and tweet["text"] == "Two pictures"
    assert tweet["media_ids"] == [item["id"] for item in tweet["media"]]  # in the order given
    assert [(m["data"], m["media_type"], m["category"], m["alt_text"]) for m in tweet["media"]] == [
        (png, "image/png", "tweet_image", "A blue square"),
        (jpeg, "image/jpeg", "tweet_image", longest),
    ]
    assert calls(x) == upload_calls(1) * 2 + [("POST", "/2/tweets")]


def test_a_post_of_media_alone_sends_an_empty_text(x, x_adapter):
    # X's OpenAPI document: text defaults to "" because the backend rejects an absent value.
    ref = x_adapter.publish(part("", attachment(media_samples.image("image/png"), "image/png", "A square")))
    (tweet,) = x.tweets
    assert ref.id == tweet["id"] and tweet["text"] == "" and len(tweet["media"]) == 1
    assert x.bodies[-1]["text"] == ""


def test_an_image_without_alt_text_sets_none(x, x_adapter):
    png = media_samples.image("image/png")
    x_adapter.publish(part("", attachment(png, "image/png")))
    (tweet,) = x.tweets
    assert tweet["text"] == "" and tweet["media"][0]["alt_text"] is None
    assert calls(x) == upload_calls(1, metadata=False) + [("POST", "/2/tweets")]


def test_a_gif_goes_up_as_a_gif_and_waits_for_processing(x, x_adapter, pauses):
    gif = media_samples.image("image/gif", 32, 32)
    x.process_next(checks=1, check_after_secs=2)
    x_adapter.publish(part("Moving", attachment(gif, "image/gif", "A looping square")))
    (media,) = x.tweets[0]["media"]
    assert (media["type"], media["category"], media["data"], media["alt_text"]) == (
        "animated_gif",
        "tweet_gif",
        gif,
        "A looping square",
    )
    assert pauses.taken == [2]  # X's check_after_secs, honoured
    assert ("GET", "/2/media/upload") in x.requests


def test_a_video_goes_up_in_chunks_and_waits_for_processing(x, x_adapter, pauses):
    video = media_samples.video("video/mp4", size=300_000)
    reads = []
    x.process_next(checks=2, check_after_secs=3)
    x_adapter.publish(part("Watch this", attachment(video, "video/mp4", reads=reads)))
    (tweet,) = x.tweets
    (media,) = tweet["media"]
    assert (media["type"], media["category"], media["data"]) == ("video", "tweet_video", video)
    appends = -(-len(video) // CHUNK)
    assert appends == 5
    assert calls(x) == upload_calls(appends, metadata=False) + [("GET", "/2/media/upload")] * 2 + [
        ("POST", "/2/tweets")
    ]
    assert pauses.taken == [3, 3]
    assert max(reads) <= CHUNK  # never the whole file at once
    assert x.media[media["id"]].status_checks == 2


# --- failures during the upload -------------------------------------------------------------------------
def test_failed_processing_is_permanent_and_posts_nothing(x, x_adapter):
    # X's processing_info has no field for the reason: the user is told which file, and what to check.
    x.process_next(checks=1, fails=True)
    with pytest.raises(PermanentError) as refused:
        x_adapter.publish(part("Watch this", attachment(media_samples.video(size=100_000), "video/mp4", name="launch")))
    assert refused.value.code == "media_rejected"
    assert "launch.bin" in refused.value.message and "video/mp4" in refused.value.message
    assert x.tweets == [] and ("POST", "/2/tweets") not in x.requests


def test_processing_longer_than_the_budget_is_tried_again_later(x, x_adapter, pauses):
    x.process_next(checks=10, check_after_secs=15)
    with pytest.raises(TransientError) as later:
        x_adapter.publish(part("Watch this", attachment(media_samples.video(size=100_000), "video/mp4")))
    assert type(later.value) is TransientError
    assert sum(pauses.taken) <= TIME_LEFT - twitter.RESERVE_SECONDS and pauses.taken == [15, 15]
    assert x.tweets == []


def test_a_retry_takes_up_an_upload_still_processing_instead_of_uploading_again(x, x_adapter, pauses):
    """A long video outlasts one attempt's wait. Uploading it again on the retry would restart X's
    processing every time and the post would never go out; the kept media id is polled instead."""
    video = media_samples.video(size=100_000)
    kept = {}

    def attempt():
        return Part(
            text="Watch this",
            index=0,
            total=1,
            idempotency_key="watch:0",
            uploads=dict(kept),
            media=[attachment(video, "video/mp4")],
            remember=kept.__setitem__,
            time_left=TIME_LEFT,
        )

    x.process_next(checks=4, check_after_secs=15)
    with pytest.raises(TransientError) as later:
        x_adapter.publish(attempt())
    assert later.value.code == "media_still_processing"
    (media_id,) = x.media
    assert kept["m1"]["media_id"] == media_id
    ref = x_adapter.publish(attempt())  # the engine's retry
    (tweet,) = x.tweets
    assert tweet["id"] == ref.id and tweet["media_ids"] == [media_id]
    assert list(x.media) == [media_id]  # uploaded once
    assert calls(x).count(("POST", "/2/media/upload/initialize")) == 1


def test_a_kept_upload_x_no_longer_knows_is_uploaded_again(x, x_adapter):
    video = media_samples.video(size=50_000)
    stale = Part(
        text="Watch this",
        index=0,
        total=1,
        idempotency_key="watch:0",
        uploads={"m1": {"media_id": "1999999999999999999", "expires_at": 4102444800}},
        media=[attachment(video, "video/mp4")],
        time_left=TIME_LEFT,
    )
    x_adapter.publish(stale)
    (tweet,) = x.tweets
    assert tweet["media"][0]["data"] == video and tweet["media_ids"] != ["1999999999999999999"]


def test_an_append_refused_with_503_is_transient_and_a_retry_uploads_afresh(x, x_adapter):
    video = media_samples.video(size=200_000)
    x.fail_next(1, status=503, on="media/upload/append")
    with pytest.raises(TransientError) as later:
        x_adapter.publish(part("Watch this", attachment(video, "video/mp4")))
    assert type(later.value) is TransientError and later.value.code == "platform_unavailable"
    assert x.tweets == []
    x_adapter.publish(part("Watch this", attachment(video, "video/mp4")))  # what the engine's retry does
    (tweet,) = x.tweets
    assert tweet["media"][0]["data"] == video and len(x.media) == 2  # the first upload is left to expire


def test_a_timeout_during_an_upload_is_transient_never_outcome_unknown(
    x, services, workspace, account, pauses, monkeypatch
):
    monkeypatch.setattr(twitter.XClient, "default_timeouts", (2.0, 0.5))
    slow = adapter(services, workspace, account, pauses)
    x.hang_after_accept_next(seconds=3, on="media/upload/append")
    with pytest.raises(TransientError) as later:
        slow.publish(part("Watch this", attachment(media_samples.video(size=100_000), "video/mp4")))
    assert type(later.value) is TransientError
    assert x.tweets == []


def test_a_429_during_the_upload_waits_for_the_window(x, x_adapter):
    x.rate_limit_next(reset_in=42, on="media/upload/finalize")
    with pytest.raises(PlatformRateLimitedError) as later:
        x_adapter.publish(part("Two", attachment(media_samples.image(), "image/png")))
    assert 40 <= later.value.retry_after <= 42
    assert x.tweets == []


def test_an_access_token_expiring_mid_upload_is_refreshed_and_the_upload_goes_on(
    x, x_adapter, services, workspace, account
):
    video = media_samples.video(size=300_000)
    held = AccountCredentials(services.credentials, workspace.workspace.id, "live", account["id"])
    before = held.value
    real_append = x_adapter._client.append_upload
    expired = []

    def append_then_expire(access_token, media_id, segment_index, chunk):
        if segment_index == 2 and not expired:
            x.expire_access_tokens()  # X says 401 from now on; our clock still trusts the token
            expired.append(access_token)
        return real_append(access_token, media_id=media_id, segment_index=segment_index, chunk=chunk)

    x_adapter._client.append_upload = append_then_expire
    x_adapter.publish(part("Watch this", attachment(video, "video/mp4")))
    (tweet,) = x.tweets
    assert tweet["media"][0]["data"] == video
    assert x.requests.count(("POST", "/2/oauth2/token")) == 1
    assert calls(x).count(("POST", "/2/media/upload/{id}/append")) == 5 + 1  # the refused one, sent again
    after = held.reload()
    assert after["access_token"] != before["access_token"] and after["refresh_token"] != before["refresh_token"]


def test_a_token_granted_without_media_write_is_refused_with_a_way_out(api, x, services, workspace, pauses):
    old = connect(api, workspace.live_key, x, scope=SCOPE)  # as accounts connected before media were
    x.requests.clear()
    without_media = adapter(services, workspace, old, pauses)
    with pytest.raises(PermanentError) as refused:
        without_media.publish(part("Look", attachment(media_samples.image(), "image/png")))
    assert not isinstance(refused.value, AuthenticationFailedError)  # the account still posts text
    assert "Reconnect" in refused.value.message and x.tweets == []
    without_media.publish(part("Words only"))
    assert [t["text"] for t in x.tweets] == ["Words only"]


# --- refused before anything is uploaded --------------------------------------------------------------
@pytest.mark.parametrize(
    "media, code",
    [
        (lambda: [attachment(media_samples.image(), "image/png", "A" * 1001)], "alt_text_too_long"),
        (lambda: [attachment(media_samples.image(), "image/png", name=f"m{i}") for i in range(5)], "too_many_images"),
        (
            lambda: [attachment(media_samples.video(), "video/mp4"), attachment(media_samples.image(), "image/png")],
            "too_many_media",
        ),
        (
            lambda: [
                attachment(media_samples.image("image/gif"), "image/gif"),
                attachment(media_samples.image("image/gif"), "image/gif", name="m2"),
            ],
            "too_many_media",
        ),
        (lambda: [attachment(b"x", "image/png", size=6 * 1024 * 1024)], "media_too_large"),
    ],
)
def test_what_x_would_refuse_is_refused_before_any_upload(x, x_adapter, media, code):
    with pytest.raises(PermanentError) as refused:
        x_adapter.publish(part("Too much", *media()))
    assert refused.value.code == code
    assert x.requests == []


def test_a_file_shorter_than_its_recorded_size_is_refused_by_x_at_finalize(x, x_adapter):
    png = media_samples.image()
    with pytest.raises(PermanentError) as refused:
        x_adapter.publish(part("Short", attachment(png, "image/png", size=len(png) + 10)))
    assert refused.value.code == "media_rejected" and "do not add up" in refused.value.message
    assert x.tweets == []


# --- the local server keeps X's rules -------------------------------------------------------------------
class Bearer:
    """Raw calls to the local server with one account's token."""

    def __init__(self, x, user_id, scope=f"{SCOPE} media.write"):
        self._url = x.url
        self._headers = {"Authorization": f"Bearer {x.issue_tokens(user_id, scope)['access_token']}"}

    def __call__(self, method, path, **kwargs):
        return requests.request(method, self._url + path, headers=self._headers, timeout=5, **kwargs)

    def upload(self, data, media_type="image/png", category="tweet_image", total=None, indexes=None):
        media_id = self(
            "POST",
            "/2/media/upload/initialize",
            json={
                "media_type": media_type,
                "total_bytes": len(data) if total is None else total,
                "media_category": category,
            },
        ).json()["data"]["id"]
        for index in indexes or [0]:
            answer = self(
                "POST",
                f"/2/media/upload/{media_id}/append",
                data={"segment_index": str(index)},
                files={"media": ("blob", data, "application/octet-stream")},
            )
            assert answer.status_code == 200, answer.text
        return media_id


def invalid_media(answer, *ids):
    body = answer.json()
    return answer.status_code == 400 and body["errors"] == [
        {"parameters": {"media.media_ids": list(ids)}, "message": "Your media IDs are invalid."}
    ]


def test_the_server_refuses_posts_with_media_x_would_refuse(x):
    mine, theirs = Bearer(x, USER_ID), Bearer(x, "1460000000000000002")
    assert invalid_media(mine("POST", "/2/tweets", json={"text": "?", "media": {"media_ids": ["123"]}}), "123")
    unfinished = mine.upload(media_samples.image())
    assert invalid_media(mine("POST", "/2/tweets", json={"text": "", "media": {"media_ids": [unfinished]}}), unfinished)
    x.process_next(checks=2)
    video = mine.upload(media_samples.video(), "video/mp4", "tweet_video")
    finalized = mine("POST", f"/2/media/upload/{video}/finalize").json()["data"]
    assert finalized["processing_info"]["state"] == "pending"
    assert invalid_media(mine("POST", "/2/tweets", json={"text": "", "media": {"media_ids": [video]}}), video)
    status = mine("GET", "/2/media/upload", params={"media_id": video, "command": "STATUS"}).json()["data"]
    assert status["processing_info"]["state"] == "in_progress"
    status = mine("GET", "/2/media/upload", params={"media_id": video, "command": "STATUS"}).json()["data"]
    assert status["processing_info"]["state"] == "succeeded"
    assert invalid_media(theirs("POST", "/2/tweets", json={"text": "", "media": {"media_ids": [video]}}), video)
    assert mine("POST", "/2/tweets", json={"text": "", "media": {"media_ids": [video]}}).status_code == 201
    x.advance(25 * 60 * 60)  # media expires after a day
    again = Bearer(x, USER_ID)
    assert invalid_media(again("POST", "/2/tweets", json={"text": "Again", "media": {"media_ids": [video]}}), video)


def refused_field(answer, field):
    return answer.status_code == 400 and field in answer.json()["errors"][0]["parameters"]


def test_the_server_refuses_what_x_openapi_document_forbids(x):
    """CreatePostsRequest (xdevplatform/xdk specs/openapi.json): no fields it does not list, in the
    body or in media and reply; text present; media_ids 1 to 4 ids of digits."""
    mine = Bearer(x, USER_ID)
    image = mine.upload(media_samples.image())
    assert mine("POST", f"/2/media/upload/{image}/finalize").status_code == 200
    assert refused_field(mine("POST", "/2/tweets", json={"media": {"media_ids": [image]}}), "text")
    assert refused_field(mine("POST", "/2/tweets", json={"text": "Hi", "visibility": "all"}), "visibility")
    assert refused_field(
        mine("POST", "/2/tweets", json={"text": "Hi", "media": {"media_ids": [image], "alt": "x"}}), "media.alt"
    )
    assert refused_field(
        mine("POST", "/2/tweets", json={"text": "Hi", "reply": {"in_reply_to_tweet_id": "1", "root": "1"}}),
        "reply.root",
    )
    assert refused_field(mine("POST", "/2/tweets", json={"text": "Hi", "media": {"media_ids": []}}), "media.media_ids")
    assert refused_field(
        mine("POST", "/2/tweets", json={"text": "Hi", "media": {"media_ids": [image] * 5}}), "media.media_ids"
    )
    assert refused_field(
        mine("POST", "/2/tweets", json={"text": "Hi", "media": {"media_ids": ["m1"]}}), "media.media_ids"
    )
    assert x.tweets == []
    assert mine("POST", "/2/tweets", json={"text": "", "media": {"media_ids": [image]}}).status_code == 201


def test_the_server_checks_uploads_as_x_does(x):
    mine = Bearer(x, USER_ID)
    initialize = "/2/media/upload/initialize"
    assert (
        mine(
            "POST", initialize, json={"media_type": "image/png", "total_bytes": 10, "media_category": "tweet_gif"}
        ).status_code
        == 400
    )
    assert (
        mine(
            "POST", initialize, json={"media_type": "video/mp4", "total_bytes": 10, "media_category": "tweet_image"}
        ).status_code
        == 400
    )
    assert (
        mine(
            "POST",
            initialize,
            json={"media_type": "image/png", "total_bytes": 6 * 1024 * 1024, "media_category": "tweet_image"},
        ).status_code
        == 400
    )
    short = mine.upload(b"12345", total=10)
    answer = mine("POST", f"/2/media/upload/{short}/finalize")
    assert answer.status_code == 400 and "do not add up" in answer.json()["errors"][0]["message"]
    gap = mine.upload(b"12345", total=10, indexes=[0, 2])
    assert mine("POST", f"/2/media/upload/{gap}/finalize").status_code == 400
    out_of_range = mine(
        "POST",
        f"/2/media/upload/{short}/append",
        data={"segment_index": "1000"},
        files={"media": ("blob", b"x", "application/octet-stream")},
    )
    assert out_of_range.status_code == 400
    exact = mine.upload(b"\r\n--\r\n\x00\xff" * 100)  # bytes kept exactly, boundaries and all
    assert mine("POST", f"/2/media/upload/{exact}/finalize").status_code == 200
    assert x.media[exact].data == b"\r\n--\r\n\x00\xff" * 100
    assert (
        mine(
            "POST", "/2/media/metadata", json={"id": exact, "metadata": {"alt_text": {"text": "A" * 1001}}}
        ).status_code
        == 400
    )
    mine_only = mine.upload(b"12345")
    assert Bearer(x, "1460000000000000002")("POST", f"/2/media/upload/{mine_only}/finalize").status_code == 400
    assert mine("POST", f"/2/media/upload/{mine_only}/finalize").status_code == 200
    no_scope = Bearer(x, USER_ID, scope=SCOPE)
    assert (
        no_scope(
            "POST", initialize, json={"media_type": "image/png", "total_bytes": 10, "media_category": "tweet_image"}
        ).status_code
        == 403
    )
    assert requests.post(x.url + initialize, json={}, timeout=5).status_code == 401

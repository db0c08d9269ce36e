"""The sandbox platform: what test-mode posts become, and failures on demand (docs/sandbox.md)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from chalicelib.clock import ManualClock
from chalicelib.data.integrations import IntegrationStore
from chalicelib.data.models import SandboxPostRecord
from chalicelib.data.sandbox import SandboxStore
from chalicelib.platforms.base import (
    AuthenticationFailedError,
    OutcomeUnknownError,
    Part,
    PermanentError,
    PlatformRateLimitedError,
    PostRef,
    TransientError,
)
from chalicelib.platforms.registry import adapter_for
from chalicelib.platforms.sandbox import Sandbox
from tests.conftest import TIME_LEFT

BASE = "https://sandbox.openpost.dev"


@pytest.fixture
def accounts(workspace):
    """The workspace's test-mode sandbox integrations, by platform."""
    return {item.platform: item for item in IntegrationStore().list(workspace.workspace.id, "test")}


@pytest.fixture
def store(services):
    return SandboxStore()


@pytest.fixture
def adapter(accounts, store):
    """A fresh adapter for a platform, as a new Lambda container would build it. One clock for the
    test: the sandbox's latency passes on it, so adapters on separate clocks could mint ids out of
    order (a Bluesky record key made later sorting first)."""
    clock = ManualClock()

    def build(platform, **options):
        options.setdefault("clock", clock)
        return adapter_for(accounts[platform], store=store, **options)

    return build


def part(text="Hello from the sandbox", key="target-1#0", index=0, total=1, reply_to=None, root=None, media=()):
    return Part(
        text=text,
        index=index,
        total=total,
        idempotency_key=key,
        reply_to=reply_to,
        root=root,
        media=list(media),
        time_left=TIME_LEFT,
    )


def stored(store, account):
    return store.posts(account.id)


def ms_from_snowflake(value: str, epoch_ms: int) -> int:
    return (int(value) >> 22) + epoch_ms


# --- what a platform looks like -------------------------------------------------------------------


def test_every_sandbox_integration_is_served_by_the_sandbox(adapter, accounts):
    assert len(accounts) == 12
    for platform in accounts:
        built = adapter(platform)
        assert isinstance(built, Sandbox)
        assert built.name == platform


def test_thread_style_and_idempotency_follow_the_real_platforms(adapter):
    expected = {
        "twitter": ("reply", False),
        "bluesky": ("reply", True),
        "mastodon": ("reply", True),
        "discord": ("reply", False),
        "slack": ("reply", False),
        "telegram": ("reply", False),
        "threads": ("reply", False),
        "linkedin": ("numbered", False),
        "facebook": ("numbered", False),
        "instagram": ("numbered", False),
        "tiktok": ("numbered", False),
        "youtube": ("numbered", False),
    }
    for platform, (style, idempotent) in expected.items():
        built = adapter(platform)
        assert (built.thread_style, built.idempotent) == (style, idempotent), platform


def test_x_ids_are_snowflakes_carrying_their_time(adapter):
    clock = ManualClock(dt.datetime(2026, 5, 1, 12, 0, 0, 250000, tzinfo=dt.UTC))
    ref = adapter("twitter", clock=clock, latency=None).publish(part())
    assert re.fullmatch(r"\d{19}", ref.id)
    # X's epoch is 2010-11-04T01:42:54.657Z; the top bits are milliseconds since then, on our clock.
    assert ms_from_snowflake(ref.id, 1288834974657) == int(clock.time() * 1000)
    assert ref.url == f"{BASE}/twitter/openpost_sandbox/status/{ref.id}"
    assert ref.extra == {}


def test_bluesky_ids_are_at_uris_with_a_cid(adapter, accounts):
    first = adapter("bluesky").publish(part(key="a"))
    second = adapter("bluesky").publish(part(key="b"))
    pattern = r"at://(did:plc:[a-z2-7]{24})/app\.bsky\.feed\.post/([2-7a-z]{13})"
    did_1, rkey_1 = re.fullmatch(pattern, first.id).groups()
    did_2, rkey_2 = re.fullmatch(pattern, second.id).groups()
    assert did_1 == did_2  # one account, one DID
    assert rkey_1 < rkey_2  # record keys sort by time
    assert first.url == f"{BASE}/bluesky/profile/sandbox.openpost.test/post/{rkey_1}"
    assert re.fullmatch(r"bafyrei[a-z2-7]{52}", first.extra["cid"])
    assert first.extra["cid"] != second.extra["cid"]


def test_mastodon_and_discord_ids_carry_their_time(adapter):
    clock = ManualClock(dt.datetime(2026, 5, 1, 12, 0, 0, 250000, tzinfo=dt.UTC))
    toot = adapter("mastodon", clock=clock, latency=None).publish(part())
    message = adapter("discord", clock=clock, latency=None).publish(part())
    now_ms = int(clock.time() * 1000)
    assert re.fullmatch(r"\d{18}", toot.id)
    assert int(toot.id) >> 16 == now_ms  # Mastodon: milliseconds above 16 bits
    assert ms_from_snowflake(message.id, 1420070400000) == now_ms  # Discord's 2015 epoch
    assert toot.url == f"{BASE}/mastodon/sandbox@mastodon.openpost.test/{toot.id}"
    assert message.url == f"{BASE}/discord/sandbox/{message.id}"


@pytest.mark.parametrize(
    "platform, shape",
    [
        ("slack", r"\d{10}\.\d{6}"),
        ("telegram", r"\d{8,16}"),
        ("linkedin", r"urn:li:share:\d{19}"),
        ("threads", r"\d{17,19}"),
        ("instagram", r"\d{17,19}"),
        ("tiktok", r"\d{17,19}"),
        ("facebook", r"\d{15}_\d{15,17}"),
        ("youtube", r"[A-Za-z0-9_-]{11}"),
    ],
)
def test_other_platforms_ids_and_urls(adapter, accounts, platform, shape):
    refs = [adapter(platform).publish(part(key=f"k{number}")) for number in range(2)]
    handle = accounts[platform].username.lstrip("@#")
    for ref in refs:
        assert re.fullmatch(shape, ref.id), ref.id
        assert ref.url == f"{BASE}/{platform}/{handle}/{ref.id}"
    assert refs[0].id != refs[1].id


def test_latency_is_a_random_wait_within_the_range(adapter):
    clock = ManualClock()
    built = adapter("twitter", clock=clock, latency=(0.02, 0.08))
    for number in range(5):
        built.publish(part(key=f"k{number}"))
    assert len(clock.slept) == 5
    assert all(0.02 <= seconds <= 0.08 for seconds in clock.slept)
    assert len(set(clock.slept)) > 1

    fixed = ManualClock()
    adapter("twitter", clock=fixed, latency=(0.3, 0.3)).publish(part(key="fixed"))
    assert fixed.slept == [0.3]

    none = ManualClock()
    adapter("twitter", clock=none, latency=None).publish(part(key="none"))
    assert none.slept == []


# --- threads and what is stored -------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["bluesky", "twitter"])
def test_a_thread_is_stored_as_a_reply_chain_in_order(adapter, store, accounts, platform):
    texts = ["One", "Two", "Three"]
    refs = []
    for index, text in enumerate(texts):
        previous = refs[-1] if refs else None
        root = refs[0] if refs else None
        refs.append(
            adapter(platform).publish(part(text, key=f"t#{index}", index=index, total=3, reply_to=previous, root=root))
        )
    posts = stored(store, accounts[platform])
    assert [post["text"] for post in posts] == texts
    assert [post["id"] for post in posts] == [ref.id for ref in refs]
    assert [post["reply_to"] for post in posts] == [None, refs[0].id, refs[1].id]
    assert [post["root"] for post in posts] == [None, refs[0].id, refs[0].id]
    assert all(post["created_at"] is not None for post in posts)


def test_bluesky_refuses_a_reply_without_root_or_cid(adapter, store, accounts):
    first = adapter("bluesky").publish(part(key="t#0"))
    with pytest.raises(PermanentError):
        adapter("bluesky").publish(part(key="t#1", reply_to=first, root=None))
    with pytest.raises(PermanentError):
        bare = PostRef(id=first.id, url=first.url)
        adapter("bluesky").publish(part(key="t#1", reply_to=bare, root=bare))
    assert len(stored(store, accounts["bluesky"])) == 1


def test_media_is_stored_with_alt_text(adapter, store, accounts):
    from chalicelib.platforms.base import Attachment

    media = [
        Attachment(
            id="0196a0c4-7777-7000-8000-000000000007",
            kind="image",
            content_type="image/png",
            size=2048,
            alt_text="A cat on a keyboard",
        )
    ]
    adapter("mastodon").publish(part("Look", media=media))
    (post,) = stored(store, accounts["mastodon"])
    assert post["media"] == [
        {
            "media_id": "0196a0c4-7777-7000-8000-000000000007",
            "kind": "image",
            "content_type": "image/png",
            "size": 2048,
            "alt_text": "A cat on a keyboard",
        }
    ]


def test_markers_are_removed_from_what_is_stored(adapter, store, accounts):
    built = adapter("twitter")
    with pytest.raises(TransientError):
        built.publish(part("Launch day [sandbox:500x1] is here", key="k1"))
    built.publish(part("Launch day [sandbox:500x1] is here", key="k1"))
    script = "[sandbox:429:5x1]\nFirst line\nSecond [sandbox:rejectx1]"
    with pytest.raises(PlatformRateLimitedError):
        built.publish(part(script, key="k2"))
    with pytest.raises(PermanentError):
        built.publish(part(script, key="k2"))
    built.publish(part(script, key="k2"))
    texts = [post["text"] for post in stored(store, accounts["twitter"])]
    assert texts == ["Launch day is here", "First line\nSecond"]


def test_each_integration_sees_only_its_own_posts(adapter, store, accounts):
    adapter("twitter").publish(part("For X"))
    adapter("bluesky").publish(part("For Bluesky"))
    assert [post["text"] for post in stored(store, accounts["twitter"])] == ["For X"]
    assert [post["text"] for post in stored(store, accounts["bluesky"])] == ["For Bluesky"]


# --- failures on demand ---------------------------------------------------------------------------


def test_a_5xx_on_every_try(adapter, store, accounts):
    for _ in range(3):
        with pytest.raises(TransientError) as caught:
            adapter("twitter").publish(part("Down [sandbox:503]"))
        assert not isinstance(caught.value, PlatformRateLimitedError)
        assert "503" in caught.value.message
    assert stored(store, accounts["twitter"]) == []


def test_a_5xx_for_the_first_two_tries_counts_across_containers(adapter, store, accounts):
    for _ in range(2):
        with pytest.raises(TransientError):
            adapter("mastodon").publish(part("Flaky [sandbox:500x2]"))  # a new adapter: a new container
    ref = adapter("mastodon").publish(part("Flaky [sandbox:500x2]"))
    assert [post["id"] for post in stored(store, accounts["mastodon"])] == [ref.id]


def test_tries_are_counted_per_part(adapter):
    with pytest.raises(TransientError):
        adapter("twitter").publish(part("[sandbox:500x1]", key="post-1#0"))
    with pytest.raises(TransientError):  # another part starts its own count
        adapter("twitter").publish(part("[sandbox:500x1]", key="post-1#1"))
    adapter("twitter").publish(part("[sandbox:500x1]", key="post-1#0"))


def test_rate_limited_with_retry_after(adapter, store, accounts):
    with pytest.raises(PlatformRateLimitedError) as caught:
        adapter("bluesky").publish(part("Busy [sandbox:429:30]"))
    assert caught.value.retry_after == 30
    assert caught.value.code == "rate_limited"
    with pytest.raises(PlatformRateLimitedError) as again:
        adapter("bluesky").publish(part("Busy [sandbox:429:30]"))
    assert again.value.retry_after == 30
    with pytest.raises(PlatformRateLimitedError) as unsaid:
        adapter("bluesky").publish(part("Busy [sandbox:429]", key="other"))
    assert unsaid.value.retry_after is None
    assert stored(store, accounts["bluesky"]) == []


def test_rate_limited_once_then_published(adapter, store, accounts):
    with pytest.raises(PlatformRateLimitedError) as caught:
        adapter("twitter").publish(part("Busy [sandbox:429:30x1]"))
    assert caught.value.retry_after == 30
    adapter("twitter").publish(part("Busy [sandbox:429:30x1]"))
    assert [post["text"] for post in stored(store, accounts["twitter"])] == ["Busy"]


def test_markers_take_turns_in_the_order_written(adapter, store, accounts):
    text = "[sandbox:429:7x1] [sandbox:502x2] Scripted [sandbox:auth]"
    with pytest.raises(PlatformRateLimitedError):
        adapter("twitter").publish(part(text))
    for _ in range(2):
        with pytest.raises(TransientError) as later:
            adapter("twitter").publish(part(text))
        assert not isinstance(later.value, PlatformRateLimitedError) and "502" in later.value.message
    for _ in range(2):  # a marker without a count fails every try from its turn on
        with pytest.raises(AuthenticationFailedError):
            adapter("twitter").publish(part(text))
    assert stored(store, accounts["twitter"]) == []
    ordered = "[sandbox:429:7x1] [sandbox:502x2] Scripted"
    for expected in (PlatformRateLimitedError, TransientError, TransientError):
        with pytest.raises(expected):
            adapter("twitter").publish(part(ordered, key="second"))
    adapter("twitter").publish(part(ordered, key="second"))
    assert [post["text"] for post in stored(store, accounts["twitter"])] == ["Scripted"]


def test_reject_is_permanent(adapter, store, accounts):
    with pytest.raises(PermanentError) as caught:
        adapter("twitter").publish(part("Nope [sandbox:reject]"))
    assert caught.value.code == "platform_rejected"
    assert not isinstance(caught.value, AuthenticationFailedError)
    assert stored(store, accounts["twitter"]) == []


def test_auth_asks_for_a_reconnect(adapter, store, accounts):
    with pytest.raises(AuthenticationFailedError) as caught:
        adapter("linkedin").publish(part("[sandbox:auth] Hello"))
    assert caught.value.code == "integration_needs_refresh"
    assert stored(store, accounts["linkedin"]) == []


def test_an_unknown_marker_is_refused_not_published(adapter, store, accounts):
    with pytest.raises(PermanentError) as caught:
        adapter("twitter").publish(part("Typo [sandbox:50O]"))
    assert caught.value.code == "sandbox_marker_invalid"
    assert stored(store, accounts["twitter"]) == []


def test_a_thread_fails_at_its_third_segment(adapter, store, accounts):
    texts = ["One", "Two", "Three [sandbox:reject]"]
    refs = []
    with pytest.raises(PermanentError):
        for index, text in enumerate(texts):
            refs.append(
                adapter("bluesky").publish(
                    part(
                        text,
                        key=f"t#{index}",
                        index=index,
                        total=3,
                        reply_to=refs[-1] if refs else None,
                        root=refs[0] if refs else None,
                    )
                )
            )
    assert len(refs) == 2
    assert [post["text"] for post in stored(store, accounts["bluesky"])] == ["One", "Two"]


# --- timeouts and idempotency ---------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["bluesky", "mastodon"])
def test_timeout_after_accept_on_an_idempotent_platform_publishes_once(adapter, store, accounts, platform):
    with pytest.raises(TransientError) as caught:
        adapter(platform).publish(part("Hello [sandbox:timeout-after-accept:x1]"))
    assert not isinstance(caught.value, OutcomeUnknownError)
    (accepted,) = stored(store, accounts[platform])  # the platform did accept it
    assert accepted["text"] == "Hello"
    retried = adapter(platform).publish(part("Hello [sandbox:timeout-after-accept:x1]"))
    assert retried.id == accepted["id"]
    assert [post["id"] for post in stored(store, accounts[platform])] == [accepted["id"]]


def test_timeout_after_accept_on_x_is_an_unknown_outcome(adapter, store, accounts):
    with pytest.raises(OutcomeUnknownError) as caught:
        adapter("twitter").publish(part("Hello [sandbox:timeout-after-acceptx1]"))
    assert caught.value.code == "outcome_unknown"
    assert len(stored(store, accounts["twitter"])) == 1
    # Repeating the call is exactly what the engine must not do: X would publish a second post.
    adapter("twitter").publish(part("Hello [sandbox:timeout-after-acceptx1]"))
    posts = stored(store, accounts["twitter"])
    assert [post["text"] for post in posts] == ["Hello", "Hello"]
    assert posts[0]["id"] != posts[1]["id"]


def test_timeout_before_accepting_stores_nothing(adapter, store, accounts):
    with pytest.raises(TransientError):
        adapter("mastodon").publish(part("[sandbox:timeout] Hi"))
    with pytest.raises(OutcomeUnknownError):
        adapter("twitter").publish(part("[sandbox:timeout] Hi"))
    assert stored(store, accounts["mastodon"]) == [] and stored(store, accounts["twitter"]) == []


@pytest.mark.parametrize("platform", ["bluesky", "mastodon"])
def test_an_idempotent_platform_answers_a_repeated_key_with_the_first_post(adapter, store, accounts, platform):
    first = adapter(platform).publish(part("Once", key="same"))
    again = adapter(platform).publish(part("Once", key="same"))
    assert again == first
    other = adapter(platform).publish(part("Once", key="different"))
    assert other.id != first.id
    assert [post["id"] for post in stored(store, accounts[platform])] == [first.id, other.id]


@pytest.mark.parametrize("platform", ["twitter", "slack", "telegram", "linkedin"])
def test_a_platform_without_idempotency_publishes_twice(adapter, store, accounts, platform):
    first = adapter(platform).publish(part("Twice", key="same"))
    second = adapter(platform).publish(part("Twice", key="same"))
    assert first.id != second.id
    assert [post["id"] for post in stored(store, accounts[platform])] == [first.id, second.id]


# --- the store on its own -------------------------------------------------------------------------


def test_store_counts_attempts_atomically_per_key(store):
    assert [store.record_attempt("integration-1", "k") for _ in range(3)] == [1, 2, 3]
    assert store.record_attempt("integration-1", "other") == 1
    assert store.record_attempt("integration-2", "k") == 1


def test_store_keeps_the_first_post_for_a_key(store, clock):
    assert store.find_by_key("integration-1", "k") is None
    first = store.save_post("integration-1", {"id": "101", "text": "first", "created_at": clock.now()}, "k")
    second = store.save_post("integration-1", {"id": "102", "text": "second"}, "k")
    assert first["id"] == second["id"] == "101" and second["text"] == "first"
    assert store.find_by_key("integration-1", "k")["id"] == "101"
    assert [post["id"] for post in store.posts("integration-1")] == ["101"]
    keyless = store.save_post("integration-1", {"id": "103", "text": "no key"})
    assert keyless["id"] == "103"
    assert [post["id"] for post in store.posts("integration-1")] == ["101", "103"]


def test_store_lists_in_creation_order_with_a_query(store, monkeypatch):
    ids = [str(9 - number) for number in range(6)]  # platform ids that sort the other way
    for post_id in ids:
        store.save_post("integration-1", {"id": post_id, "text": f"post {post_id}"})
    store.record_attempt("integration-1", "k")  # other kinds of item are not posts
    store.save_post("integration-1", {"id": "x", "text": "keyed"}, "k")

    def no_scan(*args, **kwargs):
        raise AssertionError("the sandbox store must not Scan")

    monkeypatch.setattr(SandboxPostRecord, "scan", no_scan)
    posts = store.posts("integration-1")
    assert [post["id"] for post in posts] == ids + ["x"]
    assert set(posts[0]) >= {"id", "text", "reply_to", "root", "media", "created_at"}


def test_store_speaks_in_domain_errors(store, monkeypatch):
    from pynamodb.exceptions import QueryError

    from chalicelib.errors import ServiceUnavailableError

    def broken(*args, **kwargs):
        raise QueryError("DynamoDB is unreachable")

    monkeypatch.setattr(SandboxPostRecord, "query", broken)
    with pytest.raises(ServiceUnavailableError):
        store.posts("integration-1")

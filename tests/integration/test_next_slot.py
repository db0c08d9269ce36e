"""GET /v1/integrations/{id}/next-slot: the next whole hour, within 7 days, at least 1 hour from every
post planned on the account; and the rule itself (chalicelib/domain/slots.py) at its edges."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from chalicelib.domain.slots import next_free_slot

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def key(workspace):
    return workspace.test_key


@pytest.fixture
def accounts(api, key):
    """The test world's sandbox integrations, by platform."""
    return {item["platform"]: item["id"] for item in api.get("/v1/integrations", key).json["data"]}


def schedule(api, key, when: str, *integration_ids: str) -> dict:
    answer = api.post(
        "/v1/posts",
        key,
        {"content": f"At {when}", "platforms": [], "integrations": list(integration_ids), "schedule_at": when},
    )
    assert answer.status == 201, answer
    return answer.json["data"]


def next_slot(api, key, integration_id: str) -> dict:
    answer = api.get(f"/v1/integrations/{integration_id}/next-slot", key)
    assert answer.status == 200, answer
    return answer.json["data"]


def problem(answer, status: int, code: str) -> dict:
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json["code"] == code, answer.json
    return answer.json


# --- the endpoint --------------------------------------------------------------------------------
def test_an_empty_calendar_offers_the_next_whole_hour(api, key, accounts, clock):
    clock.set(at("2026-05-01T12:10:00Z"))
    answer = api.get(f"/v1/integrations/{accounts['twitter']}/next-slot", key)
    assert answer.status == 200
    assert answer.json == {
        "data": {
            "date": "2026-05-01T13:00:00Z",
            "platform": "twitter",
            "integration_id": accounts["twitter"],
            "searched_until": "2026-05-08T12:10:00Z",
        }
    }


@pytest.mark.parametrize("now", ["2026-05-01T12:00:00Z", "2026-05-01T12:00:00.001Z", "2026-05-01T12:59:59.999Z"])
def test_the_hour_under_way_is_never_offered(api, key, accounts, clock, now):
    """At 12:00:00 sharp, 12:00 is already passing: the first candidate is 13:00."""
    clock.set(at(now))
    assert next_slot(api, key, accounts["twitter"])["date"] == "2026-05-01T13:00:00Z"


@pytest.mark.parametrize(
    "post_at, expected",
    [
        ("2026-05-01T13:00:00Z", "2026-05-01T14:00:00Z"),  # an hour after the post
        ("2026-05-01T14:00:00Z", "2026-05-01T13:00:00Z"),  # an hour before the post
    ],
)
def test_a_post_exactly_one_hour_away_leaves_the_hour_free(api, key, accounts, post_at, expected):
    schedule(api, key, post_at, accounts["twitter"])
    assert next_slot(api, key, accounts["twitter"])["date"] == expected


def test_a_post_between_two_hours_takes_both(api, key, accounts):
    schedule(api, key, "2026-05-01T13:30:00Z", accounts["twitter"])
    assert next_slot(api, key, accounts["twitter"])["date"] == "2026-05-01T15:00:00Z"


def test_a_post_just_inside_the_gap_takes_the_hour(api, key, accounts):
    # 13:00 taken by the post itself; 14:00 is 59 min 59 s after it, so it is taken too.
    schedule(api, key, "2026-05-01T13:00:01Z", accounts["twitter"])
    assert next_slot(api, key, accounts["twitter"])["date"] == "2026-05-01T15:00:00Z"


def test_across_midnight_and_the_month_end(api, key, accounts, clock):
    clock.set(at("2026-05-31T23:10:00Z"))
    schedule(api, key, "2026-06-01T00:00:00Z", accounts["twitter"])
    assert next_slot(api, key, accounts["twitter"])["date"] == "2026-06-01T01:00:00Z"


def test_only_posts_planned_on_this_integration_count(api, key, accounts):
    twitter, bluesky = accounts["twitter"], accounts["bluesky"]
    schedule(api, key, "2026-05-01T13:30:00Z", twitter, bluesky)  # takes 13:00 and 14:00 on both
    schedule(api, key, "2026-05-01T15:00:00Z", bluesky)  # bluesky's 15:00 only
    draft = api.post("/v1/posts", key, {"content": "Someday", "platforms": [], "integrations": [twitter]})
    assert draft.status == 201 and draft.json["data"]["status"] == "draft"
    cancelled = schedule(api, key, "2026-05-01T15:00:00Z", twitter)
    assert api.delete(f"/v1/posts/{cancelled['id']}", key).status == 204
    assert next_slot(api, key, twitter)["date"] == "2026-05-01T15:00:00Z"
    assert next_slot(api, key, bluesky)["date"] == "2026-05-01T16:00:00Z"


def test_a_post_publishing_now_takes_the_time_it_started(api, key, accounts, clock):
    """Published early, a post planned for 14:30 goes out at 12:10: it takes 13:00, and no longer 14:00."""
    clock.set(at("2026-05-01T12:10:00Z"))
    post = schedule(api, key, "2026-05-01T14:30:00Z", accounts["twitter"])
    assert next_slot(api, key, accounts["twitter"])["date"] == "2026-05-01T13:00:00Z"
    assert api.post(f"/v1/posts/{post['id']}/publish", key).json["data"]["status"] == "publishing"
    assert next_slot(api, key, accounts["twitter"])["date"] == "2026-05-01T14:00:00Z"


@pytest.fixture
def posts_budget_of_100(services, workspace):
    """A larger budget for creating posts, set as an operator would, before the workspace's first
    request (a container reads a workspace's overrides at most once a minute)."""
    services.rate_limiter.set_override(workspace.workspace.id, "posts", quota=100, window=60)


# 85 posts at one instant of the test clock, which must not move: more than the default 60 a minute.
def test_a_full_week_answers_null_and_the_last_hour_counts(posts_budget_of_100, api, key, accounts):
    """Now is 12:00 on May 1: the candidates run from 13:00 to 12:00 on May 8, both included."""
    twitter = accounts["twitter"]
    start = at("2026-05-01T13:30:00Z")
    for step in range(83):  # 13:30, 15:30, ... 09:30 on May 8: each takes the hour before and after
        schedule(api, key, stamp(start + dt.timedelta(hours=2 * step)), twitter)
    schedule(api, key, "2026-05-08T11:00:00Z", twitter)
    assert next_slot(api, key, twitter)["date"] == "2026-05-08T12:00:00Z"  # now + 7 days is a candidate
    # A post just past the window still crowds its last hour.
    schedule(api, key, "2026-05-08T12:30:00Z", twitter)
    found = next_slot(api, key, twitter)
    assert found == {
        "date": None,
        "platform": "twitter",
        "integration_id": twitter,
        "searched_until": "2026-05-08T12:00:00Z",
    }


@pytest.mark.parametrize("status", ["disconnected", "needs_refresh"])
def test_an_integration_that_cannot_take_posts_is_409(api, key, workspace, accounts, services, status):
    from chalicelib.data.integrations import IntegrationStore, to_record

    current = IntegrationStore().get(workspace.workspace.id, "test", accounts["twitter"])
    to_record(dataclasses.replace(current, status=status)).save()
    body = problem(api.get(f"/v1/integrations/{accounts['twitter']}/next-slot", key), 409, "integration_not_active")
    assert "reconnect" in body["detail"]
    assert next_slot(api, key, accounts["bluesky"])["date"] == "2026-05-01T13:00:00Z"


def test_unknown_and_foreign_integrations_are_404(api, key, workspace, accounts, services):
    twitter = accounts["twitter"]
    problem(api.get("/v1/integrations/not-an-id/next-slot", key), 404, "integration_not_found")
    problem(api.get(f"/v1/integrations/{twitter}/next-slot", workspace.live_key), 404, "integration_not_found")
    other = services.workspaces.create("Other").test_key
    problem(api.get(f"/v1/integrations/{twitter}/next-slot", other), 404, "integration_not_found")
    problem(api.get(f"/v1/integrations/{twitter}/next-slot"), 401, "missing_api_key")
    assert next_slot(api, key, twitter)["integration_id"] == twitter


# --- the rule on its own -------------------------------------------------------------------------
NOON = at("2026-05-01T12:00:00Z")
HOUR = dt.timedelta(hours=1)
TICK = dt.timedelta(microseconds=1)


@pytest.mark.parametrize(
    "now, expected",
    [
        (NOON, "2026-05-01T13:00:00Z"),
        (NOON + TICK, "2026-05-01T13:00:00Z"),
        (NOON + HOUR - TICK, "2026-05-01T13:00:00Z"),
        (at("2026-12-31T23:00:00Z"), "2027-01-01T00:00:00Z"),
    ],
)
def test_rule_first_candidate_is_the_next_whole_hour(now, expected):
    assert next_free_slot(now, []) == at(expected)


@pytest.mark.parametrize(
    "busy, expected",
    [
        ([NOON + HOUR], "2026-05-01T14:00:00Z"),  # 14:00 is exactly an hour after: free
        ([NOON + HOUR + TICK], "2026-05-01T15:00:00Z"),  # a microsecond closer to 14:00: taken
        ([NOON + 2 * HOUR], "2026-05-01T13:00:00Z"),  # 13:00 is exactly an hour before: free
        ([NOON + 2 * HOUR - TICK], "2026-05-01T15:00:00Z"),  # a microsecond closer to 13:00: taken
        ([NOON + 4 * HOUR, NOON + HOUR, NOON + 2.5 * HOUR], "2026-05-01T17:00:00Z"),  # in any order
    ],
)
def test_rule_gap_is_at_least_an_hour_either_way(busy, expected):
    assert next_free_slot(NOON, busy) == at(expected)


def test_rule_counts_a_post_due_before_now():
    """An overdue post is still about to go out: it crowds the hour after it."""
    now = NOON + dt.timedelta(minutes=10)
    assert next_free_slot(now, [NOON + dt.timedelta(minutes=5)]) == at("2026-05-01T14:00:00Z")
    assert next_free_slot(now, [NOON]) == at("2026-05-01T13:00:00Z")


def test_rule_horizon_includes_its_last_hour():
    busy = [NOON + HOUR]  # takes 13:00 only
    assert next_free_slot(NOON, busy, horizon=2 * HOUR) == at("2026-05-01T14:00:00Z")
    assert next_free_slot(NOON, busy, horizon=2 * HOUR - TICK) is None
    assert next_free_slot(NOON, [], horizon=HOUR - TICK) is None


def test_rule_searches_168_hours_whatever_the_minute():
    # A post at every half hour from 12:30 on May 1 to 11:30 on May 8 takes every hour in between.
    busy = [NOON + HOUR / 2 + step * HOUR for step in range(168)]
    for now in (NOON, NOON + dt.timedelta(minutes=10), NOON + HOUR - TICK):
        # The last candidate is 12:00 on May 8 (13:00 would be past now + 7 days): taken here ...
        assert next_free_slot(now, busy) is None
        # ... and free once the post at 11:30 is gone, so it was searched.
        assert next_free_slot(now, busy[:-1]) == at("2026-05-08T12:00:00Z")


def test_rule_works_in_utc_whatever_the_zone():
    india = dt.timezone(dt.timedelta(hours=5, minutes=30))
    now = dt.datetime(2026, 5, 1, 18, 10, tzinfo=india)  # 12:40 UTC
    busy = [dt.datetime(2026, 5, 1, 18, 30, tzinfo=india)]  # 13:00 UTC
    found = next_free_slot(now, busy)
    assert found == at("2026-05-01T14:00:00Z") and found.utcoffset() == dt.timedelta(0)


def test_rule_refuses_times_without_a_zone():
    with pytest.raises(ValueError):
        next_free_slot(dt.datetime(2026, 5, 1, 12), [])
    with pytest.raises(ValueError):
        next_free_slot(NOON, [dt.datetime(2026, 5, 1, 13)])

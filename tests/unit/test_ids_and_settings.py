from __future__ import annotations

import datetime as dt
import pathlib
import uuid

import pytest

from chalicelib.clock import ManualClock, SystemClock, format_timestamp
from chalicelib.ids import is_uuid, uuid7
from chalicelib.settings import Settings


def test_uuid7_is_version_7_and_sorts_by_creation():
    clock = SystemClock()
    ids = [uuid7(clock) for _ in range(5000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    millis = int(ids[-1].replace("-", "")[:12], 16)
    assert abs(millis / 1000 - dt.datetime.now(dt.UTC).timestamp()) < 5
    assert is_uuid(ids[0]) and not is_uuid("pst_7vQxW2")


def _millis(identifier: str) -> int:
    return int(identifier.replace("-", "")[:12], 16)


def test_uuid7_carries_the_clocks_time_and_sorts_within_one_millisecond():
    moment = dt.datetime(2031, 3, 4, 5, 6, 7, 891000, tzinfo=dt.UTC)
    clock = ManualClock(moment)
    same_millisecond = [uuid7(clock) for _ in range(300)]
    assert same_millisecond == sorted(same_millisecond) and len(set(same_millisecond)) == 300
    assert {_millis(item) for item in same_millisecond} == {int(moment.timestamp() * 1000)}
    clock.advance(milliseconds=5)
    later = uuid7(clock)
    assert later > same_millisecond[-1] and _millis(later) == int(moment.timestamp() * 1000) + 5


def test_uuid7_from_a_clock_behind_the_last_id_carries_that_clocks_time():
    uuid7(ManualClock(dt.datetime(2040, 1, 1, tzinfo=dt.UTC)))
    earlier = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    made = [uuid7(ManualClock(earlier)) for _ in range(3)]
    assert {_millis(item) for item in made} == {int(earlier.timestamp() * 1000)}
    assert made == sorted(made)


def test_uuid7_borrows_the_next_millisecond_when_one_runs_out_and_stays_in_order():
    clock = ManualClock(dt.datetime(2032, 6, 1, tzinfo=dt.UTC))
    start = int(clock.now().timestamp() * 1000)
    made = [uuid7(clock) for _ in range(5000)]  # more than the 4096 one millisecond holds
    assert made == sorted(made) and len(set(made)) == 5000
    assert _millis(made[0]) == start and _millis(made[-1]) == start + 1
    clock.advance(milliseconds=1)  # the clock reaches the borrowed millisecond: still in order
    assert uuid7(clock) > made[-1]


def test_timestamps_are_utc_with_z():
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert format_timestamp(dt.datetime(2026, 5, 1, 16, 0, tzinfo=plus_two)) == "2026-05-01T14:00:00Z"
    assert format_timestamp(dt.datetime(2026, 5, 1, 14, 0, 0, 250000, tzinfo=dt.UTC)) == "2026-05-01T14:00:00.250Z"
    assert format_timestamp(None) is None


def test_settings_from_environment():
    settings = Settings.from_environ(
        {
            "AWS_REGION": "eu-west-1",
            "OPENPOST_RESOURCE_PREFIX": "acme",
            "OPENPOST_QUEUE_URL_PUBLISH": "https://sqs/publish",
        }
    )
    assert settings.region == "eu-west-1" and settings.table_name("posts") == "acme-posts"
    assert settings.queue_url("publish") == "https://sqs/publish"
    with pytest.raises(LookupError):
        settings.queue_url("events")


def test_auth_cache_cannot_exceed_60_seconds():
    with pytest.raises(ValueError):
        Settings.from_environ({"OPENPOST_AUTH_CACHE_SECONDS": "61"})


def test_settings_name_each_platform_app_secret_and_never_hold_its_value():
    settings = Settings.from_environ(
        {
            "OPENPOST_APP_SECRET_TWITTER": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-app-AbCdEf",
            "OPENPOST_APP_SECRETS_MAX_AGE": "300",
            # The variables that once carried the X app: no setting reads them any more.
            "OPENPOST_X_CLIENT_ID": "id-from-the-environment",
            "OPENPOST_X_CLIENT_SECRET": "secret-from-the-environment",
        }
    )
    assert settings.app_secrets == {"twitter": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-app-AbCdEf"}
    assert settings.app_secrets_max_age == 300
    dumped = settings.model_dump_json()
    assert "id-from-the-environment" not in dumped and "secret-from-the-environment" not in dumped
    assert Settings.from_environ({}).app_secrets_max_age == 60
    with pytest.raises(ValueError):
        Settings.from_environ({"OPENPOST_APP_SECRETS_MAX_AGE": "-1"})


def test_rate_limits_from_environment():
    from chalicelib.settings import RateLimit

    settings = Settings.from_environ(
        {"OPENPOST_RATE_LIMIT_POLICY_POSTS": "120/60", "OPENPOST_RATE_LIMIT_SHARD_RATE": "50"}
    )
    assert settings.rate_limits["posts"] == RateLimit(quota=120, window=60)
    assert settings.rate_limits["default"] == RateLimit(quota=600, window=60)  # the others keep theirs
    assert settings.rate_limit_shard_rate == 50 and settings.rate_limits_enabled
    assert not Settings.from_environ({"OPENPOST_RATE_LIMITS_ENABLED": "false"}).rate_limits_enabled
    # A window that does not divide the hour would straddle two counter items.
    with pytest.raises(ValueError, match="divides 3600"):
        Settings.from_environ({"OPENPOST_RATE_LIMIT_POLICY_POSTS": "120/7"})
    with pytest.raises(ValueError):
        Settings.from_environ({"OPENPOST_RATE_LIMIT_POLICY_POSTS": "0/60"})


def test_each_platform_declares_the_settings_it_reads_and_settings_carry_them():
    from chalicelib.platforms import registry

    declared = [setting for platform in registry.descriptors() for setting in platform.deployment_settings]
    assert len({setting.name for setting in declared}) == len(declared) >= 7  # no two platforms share one
    defaults = Settings.from_environ({})
    moved = Settings.from_environ({setting.variable: f"http://127.0.0.1:9/{setting.name}" for setting in declared})
    for setting in declared:
        assert setting.variable == f"OPENPOST_{setting.name.upper()}"
        assert getattr(defaults, setting.name) == setting.default and setting.default.startswith("https://")
        assert getattr(moved, setting.name) == f"http://127.0.0.1:9/{setting.name}"
    # The Settings module declares none of them itself: each comes from its platform's package.
    source = (pathlib.Path(__file__).resolve().parents[2] / "chalicelib" / "settings.py").read_text()
    assert not [setting.name for setting in declared if setting.name in source]

"""The CLI's reading of times (IANA zones, offsets, relative) and its drawing of charts and tables."""

from __future__ import annotations

import datetime as dt

import pytest
from openpost import _cli_format as fmt
from openpost.cli import main


@pytest.mark.parametrize(
    "written, utc",
    [
        ("2026-12-24 09:00 Europe/Paris", "2026-12-24T08:00:00+00:00"),
        ("2026-07-01 09:00 Europe/Paris", "2026-07-01T07:00:00+00:00"),  # summer time
        ("2026-12-24 09:00 America/New_York", "2026-12-24T14:00:00+00:00"),
        ("2026-12-24T09:00:00Z", "2026-12-24T09:00:00+00:00"),
        ("2026-12-24 09:00+05:30", "2026-12-24T03:30:00+00:00"),
        ("2026-12-24 09:00 UTC", "2026-12-24T09:00:00+00:00"),
    ],
)
def test_times_by_iana_zone(written, utc):
    assert fmt.parse_when(written).astimezone(dt.UTC).isoformat() == utc


@pytest.mark.parametrize("written", ["2026-12-24 09:00", "2026-12-24 09:00 Mars/Olympus", "tomorrow", "now+2y"])
def test_times_that_cannot_be_placed_are_refused(written):
    with pytest.raises(ValueError):
        fmt.parse_when(written)


def test_relative_times():
    moment = fmt.parse_when("now+2h")
    assert abs((moment - dt.datetime.now(dt.UTC)).total_seconds() - 7200) < 5


def test_a_bar_chart_scales_to_the_largest_value():
    chart = fmt.bar_chart([("a", 10), ("b", 5), ("c", 0)], width=10).splitlines()
    assert chart == ["a ██████████ 10", "b █████ 5", "c  0"]


def test_a_table_has_a_header_and_aligned_columns():
    assert fmt.table([{"id": "p1", "status": None}, {"id": "p22", "status": "draft"}], ("id", "status")) == (
        "ID   STATUS\np1   -\np22  draft"
    )


def test_a_time_without_a_zone_is_a_usage_error_before_any_call(capsys, monkeypatch):
    monkeypatch.setenv("OPENPOST_API_KEY", "op_test_sk_x")
    monkeypatch.setenv("OPENPOST_BASE_URL", "http://127.0.0.1:9")  # never reached
    assert main(["posts", "create", "--content", "hi", "--to", "bluesky", "--at", "2026-12-24 09:00"]) == 2
    assert "has no time zone" in capsys.readouterr().err

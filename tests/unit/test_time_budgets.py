"""A part's time budget comes from the Lambda context, less the publisher's margin, when it starts."""

from __future__ import annotations

import pytest

from chalicelib.platforms.base import Part
from chalicelib.workers import publisher


class Context:
    """What Lambda hands a handler, as far as time goes: the milliseconds left, which run down."""

    def __init__(self, millis: int):
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


def test_the_time_left_is_the_context_s_less_the_margin_read_when_asked():
    context = Context(42_000)
    time_left = publisher._time_left(context)
    assert time_left() == pytest.approx(42.0 - publisher.MARGIN_SECONDS)
    context.millis = 12_500  # a later part of the same invocation sees what is left then
    assert time_left() == pytest.approx(12.5 - publisher.MARGIN_SECONDS)
    context.millis = 1_000
    assert time_left() == 0.0


def test_a_part_cannot_be_built_without_its_time_left():
    with pytest.raises(TypeError, match="time_left"):
        Part(text="Hello", index=0, total=1, idempotency_key="t:0")
    part = Part(text="Hello", index=0, total=1, idempotency_key="t:0", time_left=50.0)
    assert (part.budget(20.0), part.budget(60.0)) == (30.0, 0.0)


def test_a_manual_clock_moves_all_its_readings_when_it_sleeps():
    import datetime as dt

    from chalicelib.clock import ManualClock

    clock = ManualClock(dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC))
    started, monotonic = clock.time(), clock.monotonic()
    clock.sleep(2.5)
    assert clock.slept == [2.5] and clock.time() - started == 2.5 and clock.monotonic() - monotonic == 2.5
    assert clock.now() == dt.datetime(2026, 5, 1, 12, 0, 2, 500000, tzinfo=dt.UTC)

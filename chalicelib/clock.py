"""Time, in one place, so tests can move it: the wall clock, a monotonic one for durations, and
waiting. Code that reads or spends time takes a Clock; nothing else calls ``time`` or ``datetime``.

Every timestamp the API shows is ISO 8601 UTC with a ``Z``; inputs with an offset are converted to
UTC and inputs without a zone are refused (see parse_timestamp).
"""

from __future__ import annotations

import datetime as dt
import time as _time
from typing import Protocol

UTC = dt.UTC


class Clock(Protocol):
    def now(self) -> dt.datetime: ...

    def time(self) -> float:
        """Seconds since the epoch (a token's expiry, a platform's rate-limit reset)."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary start that never goes back: for measuring durations."""

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)

    def time(self) -> float:
        return _time.time()

    def monotonic(self) -> float:
        return _time.monotonic()

    def sleep(self, seconds: float) -> None:
        _time.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to; for tests and benchmarks. Sleeping moves it at once
    (nothing is waited) and is kept in ``slept``."""

    def __init__(self, start: dt.datetime | None = None):
        self._now = start or dt.datetime.now(UTC)
        self._elapsed = 0.0
        self.slept: list[float] = []

    def now(self) -> dt.datetime:
        return self._now

    def time(self) -> float:
        return self._now.timestamp()

    def monotonic(self) -> float:
        return self._elapsed

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds=seconds)

    def advance(self, **delta: float) -> dt.datetime:
        step = dt.timedelta(**delta)
        self._now += step
        self._elapsed += step.total_seconds()
        return self._now

    def set(self, moment: dt.datetime) -> None:
        self._now = moment


def format_timestamp(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")

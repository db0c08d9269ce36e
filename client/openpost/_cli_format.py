"""How the CLI shows things to people: tables, a progress bar, a bar chart, times in a zone."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    if not rows:
        return "(none)"
    cells = [[text(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    lines = ["  ".join(column.upper().ljust(width) for column, width in zip(columns, widths, strict=True))]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells]
    return "\n".join(line.rstrip() for line in lines)


def text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, list | tuple):
        return ",".join(text(item) for item in value)
    value = str(value).replace("\n", " ")
    return value if len(value) <= 48 else value[:47] + "…"


def parse_when(value: str) -> dt.datetime:
    """'2026-12-24 09:00 Europe/Paris', '2026-12-24T09:00:00Z', '2026-12-24 09:00+01:00', or 'now+2h'."""
    value = value.strip()
    if value.startswith("now"):
        rest = value[3:].strip() or "+0m"
        units = {"m": "minutes", "h": "hours", "d": "days"}
        if rest[0] not in "+" or rest[-1] not in units:
            raise ValueError(f"{value!r}: write now+30m, now+2h or now+1d")
        return dt.datetime.now(dt.UTC) + dt.timedelta(**{units[rest[-1]]: float(rest[1:-1])})
    parts = value.rsplit(" ", 1)
    zone = None
    if len(parts) == 2 and ("/" in parts[1] or parts[1].upper() == "UTC"):
        try:
            zone = ZoneInfo("UTC" if parts[1].upper() == "UTC" else parts[1])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{parts[1]!r} is not an IANA time zone (like Europe/Paris)") from exc
        value = parts[0]
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a date and time like '2026-12-24 09:00 Europe/Paris'") from exc
    if moment.tzinfo is None:
        if zone is None:
            raise ValueError(f"{value!r} has no time zone: add one, like '{value} Europe/Paris' or '{value} UTC'")
        moment = moment.replace(tzinfo=zone)
    return moment


class ProgressBar:
    """A one-line bar on stderr, redrawn in place on a terminal, printed once at the end otherwise."""

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()

    def __call__(self, sent: int, total: int) -> None:
        if self.live or sent >= total:
            share = sent / total if total else 1.0
            filled = int(share * 30)
            end = "\n" if sent >= total else ""
            line = f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} {sent}/{total} bytes"
            self.stream.write(line + end)
            self.stream.flush()


def bar_chart(points: Sequence[tuple[str, float]], width: int = 40) -> str:
    """One bar per labelled value, scaled to the largest."""
    if not points:
        return "(no snapshots yet)"
    top = max((value for _, value in points), default=0) or 1
    label_width = max(len(label) for label, _ in points)
    return "\n".join(
        f"{label.ljust(label_width)} {'█' * max(1 if value else 0, round(value / top * width))} {value:g}"
        for label, value in points
    )

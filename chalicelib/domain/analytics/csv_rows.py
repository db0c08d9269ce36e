"""Snapshots as CSV: RFC 4180 (CRLF, quoted where needed), UTF-8, a header row, one row per snapshot.

A cell a spreadsheet would read as a formula (it begins with =, +, -, @, a tab or a carriage
return) is neutralised with a leading apostrophe (OWASP's advice on CSV injection): usernames and
URLs come from other people.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from chalicelib.clock import format_timestamp
from chalicelib.domain.analytics.model import Snapshot

HEADER = (
    "captured_at",
    "snapshot_id",
    "post_id",
    "target_id",
    "integration_id",
    "platform",
    "username",
    "post_url",
    "impressions",
    "likes",
    "comments",
    "shares",
    "platform_data",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value) -> str:
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def row(snapshot: Snapshot) -> list[str]:
    values = (
        format_timestamp(snapshot.captured_at),
        snapshot.id,
        snapshot.post_id,
        snapshot.target_id,
        snapshot.integration_id,
        snapshot.platform,
        snapshot.username,
        snapshot.post_url,
        snapshot.impressions,
        snapshot.likes,
        snapshot.comments,
        snapshot.shares,
        json.dumps(snapshot.platform_data or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
    )
    return [neutralised(value) for value in values]


def render(snapshots: Iterable[Snapshot]) -> tuple[str, int]:
    """The CSV text and how many rows it holds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    count = 0
    for snapshot in snapshots:
        writer.writerow(row(snapshot))
        count += 1
    return out.getvalue(), count

"""UUID version 7 identifiers: random, yet sorted by creation time (RFC 9562, section 5.7).

Sorting by id is sorting by creation, which lets a DynamoDB sort key on the id list newest first.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.clock import Clock

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MILLISECOND = dt.timedelta(milliseconds=1)

_lock = threading.Lock()
_seen_ms = 0  # the clock's millisecond at the last id
_last_ms = 0  # the millisecond the last id carries: the clock's, or a later one it borrowed
_counter = 0


def uuid7(clock: Clock) -> str:
    """A new UUIDv7 string carrying the clock's millisecond. Ids made in the same millisecond still
    sort in the order they were made."""
    global _seen_ms, _last_ms, _counter
    ms = (clock.now() - _EPOCH) // _MILLISECOND
    with _lock:
        if ms > _last_ms or ms < _seen_ms:
            # A new millisecond; or a clock behind the last one (another clock, or one set back):
            # the id carries the time it is given rather than a borrowed later one.
            _last_ms = ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave room to count up
        else:
            _counter += 1
            if _counter > 0xFFF:  # 4096 ids in one millisecond: borrow the next one
                _last_ms += 1
                _counter = 0
        _seen_ms = ms
        ms, counter = _last_ms, _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= counter << 64  # rand_a used as a monotonic counter (method 1 of the RFC)
    value |= 0b10 << 62  # variant
    value |= rand_b
    return str(uuid.UUID(int=value))


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return False
    return len(text) == 36


def uuid7_for(moment_ms: int, seed: str) -> str:
    """A UUIDv7 of a given millisecond whose other bits come from ``seed``: the same inputs give the
    same id (so a repeated fan-out writes the same delivery), and ids still sort by time."""
    import hashlib

    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:10], "big")
    value = (moment_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((digest >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= digest & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))

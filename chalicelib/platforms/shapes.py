"""Ids shaped like each platform's own, for the sandbox (docs/sandbox.md).

A platform's descriptor picks one of these as its ``SandboxIdentity.post_id``: each returns a
function of the integration's id (stable per account where the real id embeds the account, as a
Bluesky DID or a Facebook page id does) and the clock (ids that carry their creation time read it)
that makes a new post id.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable

from chalicelib.clock import Clock

IdMaker = Callable[[str, Clock], str]
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # atproto's sortable base32


def now_ms(clock: Clock) -> int:
    return int(clock.time() * 1000)


def digest(*parts: str) -> bytes:
    return hashlib.sha256("\n".join(parts).encode()).digest()


def base32(data: bytes) -> str:
    return base64.b32encode(data).decode().lower().rstrip("=")


def snowflake(epoch_ms: int, random_bits: int = 22) -> IdMaker:
    """Milliseconds since ``epoch_ms`` above random bits: sorts by time, as X's and Discord's do."""
    return lambda integration_id, clock: str(
        ((now_ms(clock) - epoch_ms) << random_bits) | secrets.randbits(random_bits)
    )


def timed_number(random_bits: int, prefix: str = "") -> IdMaker:
    """Milliseconds since 1970 above random bits (a Mastodon id, a Meta media id), after ``prefix``."""
    return lambda integration_id, clock: f"{prefix}{(now_ms(clock) << random_bits) | secrets.randbits(random_bits)}"


def did_of(integration_id: str) -> str:
    """A did:plc stable per integration, so every post of one account shows the same DID."""
    return "did:plc:" + base32(digest("did", integration_id))[:24]


def tid(clock: Clock) -> str:
    """An atproto record key: microseconds and a random clock id, in sortable base32 (13 chars)."""
    value = (int(clock.time() * 1_000_000) << 10) | secrets.randbits(10)
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def record_uri(collection: str) -> IdMaker:
    """An AT URI of a new record in ``collection`` of the account's repository."""
    return lambda integration_id, clock: f"at://{did_of(integration_id)}/{collection}/{tid(clock)}"


def message_ts() -> IdMaker:
    """A chat message "ts": seconds and microseconds."""

    def make(integration_id: str, clock: Clock) -> str:
        micros = int(clock.time() * 1_000_000)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    return make


def page_post() -> IdMaker:
    """ "{page id}_{post id}", the page id stable per integration."""

    def make(integration_id: str, clock: Clock) -> str:
        page = int.from_bytes(digest("page", integration_id)[:6], "big") % 10**15
        return f"{page:015d}_{(now_ms(clock) << 10) | secrets.randbits(10)}"

    return make


def url_safe(length_bytes: int = 8) -> IdMaker:
    """Random URL-safe base64 (8 bytes: 11 characters, a video id's shape)."""
    return lambda integration_id, clock: secrets.token_urlsafe(length_bytes)

"""Ids shaped like each platform's own, for the sandbox (docs/sandbox.md).

A platform's descriptor picks one of these as its ``SandboxIdentity.post_id``: each returns a
function of the integration's id (stable per account where the real id embeds the account, as a
Bluesky DID or a Facebook page id does) that makes a new post id.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable

IdMaker = Callable[[str], str]
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # atproto's sortable base32


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def digest(*parts: str) -> bytes:
    return hashlib.sha256("\n".join(parts).encode()).digest()


def base32(data: bytes) -> str:
    return base64.b32encode(data).decode().lower().rstrip("=")


def snowflake(epoch_ms: int, random_bits: int = 22) -> IdMaker:
    """Milliseconds since ``epoch_ms`` above random bits: sorts by time, as X's and Discord's do."""
    return lambda integration_id: str(((now_ms() - epoch_ms) << random_bits) | secrets.randbits(random_bits))


def timed_number(random_bits: int, prefix: str = "") -> IdMaker:
    """Milliseconds since 1970 above random bits (a Mastodon id, a Meta media id), after ``prefix``."""
    return lambda integration_id: f"{prefix}{(now_ms() << random_bits) | secrets.randbits(random_bits)}"


def did_of(integration_id: str) -> str:
    """A did:plc stable per integration, so every post of one account shows the same DID."""
    return "did:plc:" + base32(digest("did", integration_id))[:24]


def tid() -> str:
    """An atproto record key: microseconds and a random clock id, in sortable base32 (13 chars)."""
    value = ((time.time_ns() // 1000) << 10) | secrets.randbits(10)
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def record_uri(collection: str) -> IdMaker:
    """An AT URI of a new record in ``collection`` of the account's repository."""
    return lambda integration_id: f"at://{did_of(integration_id)}/{collection}/{tid()}"


def message_ts() -> IdMaker:
    """A chat message "ts": seconds and microseconds."""

    def make(integration_id: str) -> str:
        micros = time.time_ns() // 1000
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    return make


def page_post() -> IdMaker:
    """ "{page id}_{post id}", the page id stable per integration."""

    def make(integration_id: str) -> str:
        page = int.from_bytes(digest("page", integration_id)[:6], "big") % 10**15
        return f"{page:015d}_{(now_ms() << 10) | secrets.randbits(10)}"

    return make


def url_safe(length_bytes: int = 8) -> IdMaker:
    """Random URL-safe base64 (8 bytes: 11 characters, a video id's shape)."""
    return lambda integration_id: secrets.token_urlsafe(length_bytes)

"""The sandbox adapter: a pretend platform for test mode.

Every test-mode integration publishes here instead of to a real account. The sandbox imitates the
platform the integration names: ids and URLs of that platform's shape, a little latency, native
reply chains, and the same idempotency (or lack of it) as the real thing, so the engine meets here
what it will meet in live mode. Users make it fail on demand with markers in the text
(docs/sandbox.md), which are removed before the post is stored.

What it publishes lives in the ``sandbox`` table (chalicelib/data/sandbox.py), per integration.
"""
from __future__ import annotations

import base64
import hashlib
import random
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import quote

from chalicelib.domain.platforms import THREAD_STYLE
from chalicelib.errors import OpenpostError
from chalicelib.platforms.base import (
    AuthenticationFailedError,
    OutcomeUnknownError,
    Part,
    PermanentError,
    Platform,
    PostRef,
    RateLimitedError,
    TransientError,
)

BASE_URL = "https://sandbox.openpost.dev"

# The platforms that recognise a repeated request, as the real ones do:
# - bluesky: the adapter chooses the record key, so a repeat names a record that already exists;
# - mastodon: POST /api/v1/statuses honours an Idempotency-Key header;
# - discord: a message sent with a nonce and enforce_nonce returns the earlier message.
# X, Slack, Telegram, LinkedIn, Threads, Instagram, Facebook, TikTok and YouTube accept no such key:
# repeating a call whose outcome is unknown publishes twice, and the sandbox does exactly that.
IDEMPOTENT = frozenset({"bluesky", "mastodon"})

# Snowflake epochs (milliseconds): X's and Discord's ids carry their creation time from these.
TWITTER_EPOCH_MS = 1288834974657
DISCORD_EPOCH_MS = 1420070400000
TELEGRAM_EPOCH_MS = 1704067200000          # 2024-01-01: keeps message ids shorter, as Telegram's are
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"   # atproto's sortable base32


# --- failure markers ---------------------------------------------------------------------------

MARKER = re.compile(r"[ \t]*\[sandbox:([^\]\s]*)\][ \t]*", re.IGNORECASE)
FAILURE = re.compile(
    r"(?P<what>5\d\d|429|timeout-after-accept|timeout|reject|auth)(?::(?P<after>\d+))?(?::?x(?P<times>[1-9]\d*))?",
    re.IGNORECASE)


@dataclass(frozen=True)
class Marker:
    """One failure asked for in the text: ``what`` ("503", "429", "timeout", ...) and ``times``, how
    many tries it fails (None: every try from its turn on)."""

    text: str
    what: str
    retry_after: Optional[int] = None
    times: Optional[int] = None


def due(markers: List[Marker], attempt: int) -> Optional[Marker]:
    """The marker whose turn try number ``attempt`` (1-based) is. Markers are a script read in the
    order written: "[sandbox:429x1] [sandbox:500x2]" is a 429, then two 500s, then success."""
    tries_before = 0
    for marker in markers:
        if marker.times is None or attempt <= tries_before + marker.times:
            return marker
        tries_before += marker.times
    return None


def parse_markers(text: str) -> Tuple[str, List[Marker]]:
    """The text as a user would see it (markers removed) and the markers, in the order written.

    A ``[sandbox:...]`` that does not parse is refused rather than published: a user rehearsing a
    failure should learn of a typo, not see a post go out."""
    markers: List[Marker] = []

    def take(match: "re.Match[str]") -> str:
        found = FAILURE.fullmatch(match.group(1))
        if found is None or (found["after"] and found["what"] != "429"):   # only a 429 says when
            raise PermanentError(f"Unknown sandbox marker {match.group(0).strip()}; see docs/sandbox.md.",
                                 code="sandbox_marker_invalid")
        markers.append(Marker(text=match.group(0).strip(), what=found["what"].lower(),
                              retry_after=int(found["after"]) if found["after"] else None,
                              times=int(found["times"]) if found["times"] else None))
        return "\x00"

    def close_gap(gap: "re.Match[str]") -> str:
        # Between two words a run of markers leaves one space; at the end of a line, nothing; a line
        # that held only markers goes away with its line break.
        line_start = gap.start() == 0 or gap.string[gap.start() - 1] == "\n"
        newline = gap.group(1) or ""
        if line_start:
            return ""
        if newline or gap.end() == len(gap.string):
            return newline
        return " "

    marked = MARKER.sub(take, text)
    return (re.sub("\x00+(\n)?", close_gap, marked) if markers else text), markers


# --- ids and URLs in each platform's shape -----------------------------------------------------

def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _snowflake(epoch_ms: int) -> str:
    """Milliseconds since ``epoch_ms`` above 22 random bits: sorts by time, as X's and Discord's do."""
    return str(((_now_ms() - epoch_ms) << 22) | secrets.randbits(22))


def _tid() -> str:
    """An atproto record key: microseconds and a random clock id, in sortable base32 (13 chars)."""
    value = ((time.time_ns() // 1000) << 10) | secrets.randbits(10)
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\n".join(parts).encode()).digest()


def _base32(data: bytes) -> str:
    return base64.b32encode(data).decode().lower().rstrip("=")


def _handle(username: str) -> str:
    return quote(username.lstrip("@#"), safe="@.-_~")


class Sandbox(Platform):
    """Publishes to the sandbox, imitating ``integration.platform``."""

    media_kinds = frozenset({"image", "video"})   # it stores what it was sent, media included

    def __init__(self, integration, credentials: Optional[Dict[str, Any]] = None, store=None,
                 latency: Optional[Tuple[float, float]] = (0.02, 0.08), sleep: Callable[[float], Any] = time.sleep):
        super().__init__(integration, credentials)
        self.name = integration.platform
        self.thread_style = THREAD_STYLE.get(integration.platform, "numbered")
        self.idempotent = integration.platform in IDEMPOTENT
        if store is None:
            from chalicelib.data.sandbox import SandboxStore

            store = SandboxStore()
        self._store = store
        self._latency = latency
        self._sleep = sleep
        # Stable per integration, so every post of one account shows the same DID.
        self._did = "did:plc:" + _base32(_digest("did", integration.id))[:24]

    # --- the adapter contract ------------------------------------------------------------------
    def publish(self, part: Part) -> PostRef:
        self._wait()
        text, markers = parse_markers(part.text)
        failure = self._failure_due(markers, part.idempotency_key)
        if failure is not None and failure.what != "timeout-after-accept":
            raise self._error(failure)
        self._check_reply(part)
        post = {"id": self._new_id(), "text": text,
                "reply_to": part.reply_to.id if part.reply_to else None,
                "root": part.root.id if part.root else None,
                # What a platform would hold of each file; the bytes stay in our bucket.
                "media": [{"media_id": item.id, "kind": item.kind, "content_type": item.content_type,
                           "size": item.size, "alt_text": item.alt_text} for item in part.media]}
        try:
            stored = self._store.save_post(self.integration.id, post,
                                           part.idempotency_key if self.idempotent else None)
        except OpenpostError as error:
            # The sandbox's own storage failed: like a platform's 503, nothing was published.
            raise TransientError(f"The sandbox ({self.name}) did not answer; try again.") from error
        if failure is not None:   # accepted, then the answer never came back
            raise self._error(failure)
        return self._ref(stored)

    # --- failures on demand ----------------------------------------------------------------------
    def _wait(self) -> None:
        # A real call takes a moment; the engine should meet that in test mode too.
        if self._latency:
            self._sleep(random.uniform(*self._latency))

    def _failure_due(self, markers: List[Marker], key: str) -> Optional[Marker]:
        """The failure this try should meet. Tries are counted in the table, per part, only when the
        text asks for a failure: a plain post costs no extra write."""
        if not markers:
            return None
        try:
            attempt = self._store.record_attempt(self.integration.id, key)
        except OpenpostError as error:
            raise TransientError(f"The sandbox ({self.name}) did not answer; try again.") from error
        return due(markers, attempt)

    def _error(self, marker: Marker) -> Exception:
        asked = f"as asked by {marker.text}"
        if marker.what.startswith("5"):
            return TransientError(f"The sandbox ({self.name}) answered HTTP {marker.what}, {asked}.")
        if marker.what == "429":
            return RateLimitedError(f"The sandbox ({self.name}) answered HTTP 429 Too Many Requests, {asked}.",
                                    retry_after=marker.retry_after)
        if marker.what == "reject":
            return PermanentError(f"The sandbox ({self.name}) refused the post (HTTP 400), {asked}.",
                                  code="platform_rejected")
        if marker.what == "auth":
            return AuthenticationFailedError(
                f"The sandbox ({self.name}) refused the account's credentials (HTTP 401), {asked}.")
        accepted = "after accepting the post" if marker.what == "timeout-after-accept" else "before answering"
        message = f"The sandbox ({self.name}) timed out {accepted}, {asked}."
        # Whether a retry is safe is the platform's property, not the marker's: with an idempotency
        # key the engine may try again and will not publish twice; without one it must not.
        if self.idempotent:
            return TransientError(message)
        return OutcomeUnknownError(message)

    def _check_reply(self, part: Part) -> None:
        # Bluesky refuses a reply record without both a root and a parent strong ref (uri and cid);
        # the sandbox refuses it too, so a thread that works here works there.
        if self.name != "bluesky" or part.reply_to is None:
            return
        refs = (part.reply_to, part.root)
        if any(ref is None or not ref.extra.get("cid") for ref in refs):
            raise PermanentError("Bluesky replies need the parent and the root, each with its cid.",
                                 code="platform_rejected")

    # --- what a published post looks like ------------------------------------------------------
    def _new_id(self) -> str:
        platform = self.name
        if platform == "twitter":
            return _snowflake(TWITTER_EPOCH_MS)
        if platform == "discord":
            return _snowflake(DISCORD_EPOCH_MS)
        if platform == "bluesky":
            return f"at://{self._did}/app.bsky.feed.post/{_tid()}"
        if platform == "mastodon":       # Mastodon: milliseconds above 16 bits of sequence
            return str((_now_ms() << 16) | secrets.randbits(16))
        if platform == "linkedin":
            return f"urn:li:share:{(_now_ms() << 22) | secrets.randbits(22)}"
        if platform == "slack":          # a message's "ts": seconds and microseconds
            micros = time.time_ns() // 1000
            return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
        if platform == "telegram":
            return str(((_now_ms() - TELEGRAM_EPOCH_MS) << 10) | secrets.randbits(10))
        if platform == "facebook":       # "{page id}_{post id}"
            page = int.from_bytes(_digest("page", self.integration.id)[:6], "big") % 10**15
            return f"{page:015d}_{(_now_ms() << 10) | secrets.randbits(10)}"
        if platform == "youtube":        # 11 characters of URL-safe base64
            return secrets.token_urlsafe(8)
        # Instagram, Threads, TikTok: long numeric media ids.
        return str((_now_ms() << 20) | secrets.randbits(20))

    def _url(self, post_id: str) -> str:
        handle = _handle(self.integration.username)
        if self.name == "twitter":
            return f"{BASE_URL}/twitter/{handle}/status/{post_id}"
        if self.name == "bluesky":
            return f"{BASE_URL}/bluesky/profile/{handle}/post/{post_id.rsplit('/', 1)[-1]}"
        return f"{BASE_URL}/{self.name}/{handle}/{quote(post_id, safe=':._-')}"

    def _ref(self, post: Dict[str, Any]) -> PostRef:
        extra: Dict[str, Any] = {}
        if self.name == "bluesky":
            # A cid is the hash of the record; derived from what was stored, so a repeated request
            # gets the same one back.
            extra["cid"] = "bafyrei" + _base32(_digest(post["id"], post.get("text") or ""))
        return PostRef(id=post["id"], url=self._url(post["id"]), extra=extra)

"""The sandbox adapter: a pretend platform for test mode.

Every test-mode integration publishes here instead of to a real account. The sandbox imitates the
platform the integration names: ids and URLs of that platform's shape, a little latency, native
reply chains, and the same idempotency (or lack of it) as the real thing, so the engine meets here
what it will meet in live mode. Users make it fail on demand with markers in the text
(docs/sandbox.md), which are removed before the post is stored.

What it publishes lives in the ``sandbox`` table (chalicelib/data/sandbox.py), per integration.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from chalicelib.errors import OpenpostError
from chalicelib.platforms import registry, shapes
from chalicelib.platforms.base import (
    AuthenticationFailedError,
    OutcomeUnknownError,
    Part,
    PermanentError,
    Platform,
    PlatformRateLimitedError,
    PostRef,
    TransientError,
)

BASE_URL = "https://sandbox.openpost.dev"

# Whether a platform recognises a repeated request, how its threads go out and the shape of its ids
# and URLs are the platform's own declarations (its SandboxIdentity, chalicelib/platforms/<name>/):
# the sandbox is exactly as safe to retry as the platform it stands in for. On a platform that
# accepts no idempotency key, repeating a call whose outcome is unknown publishes twice, and the
# sandbox does exactly that.


# --- failure markers ---------------------------------------------------------------------------

MARKER = re.compile(r"[ \t]*\[sandbox:([^\]\s]*)\][ \t]*", re.IGNORECASE)
FAILURE = re.compile(
    r"(?P<what>5\d\d|429|timeout-after-accept|timeout|reject|auth)(?::(?P<after>\d+))?(?::?x(?P<times>[1-9]\d*))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Marker:
    """One failure asked for in the text: ``what`` ("503", "429", "timeout", ...) and ``times``, how
    many tries it fails (None: every try from its turn on)."""

    text: str
    what: str
    retry_after: int | None = None
    times: int | None = None


def due(markers: list[Marker], attempt: int) -> Marker | None:
    """The marker whose turn try number ``attempt`` (1-based) is. Markers are a script read in the
    order written: "[sandbox:429x1] [sandbox:500x2]" is a 429, then two 500s, then success."""
    tries_before = 0
    for marker in markers:
        if marker.times is None or attempt <= tries_before + marker.times:
            return marker
        tries_before += marker.times
    return None


def parse_markers(text: str) -> tuple[str, list[Marker]]:
    """The text as a user would see it (markers removed) and the markers, in the order written.

    A ``[sandbox:...]`` that does not parse is refused rather than published: a user rehearsing a
    failure should learn of a typo, not see a post go out."""
    markers: list[Marker] = []

    def take(match: re.Match[str]) -> str:
        found = FAILURE.fullmatch(match.group(1))
        if found is None or (found["after"] and found["what"] != "429"):  # only a 429 says when
            raise PermanentError(
                f"Unknown sandbox marker {match.group(0).strip()}; see docs/sandbox.md.", code="sandbox_marker_invalid"
            )
        markers.append(
            Marker(
                text=match.group(0).strip(),
                what=found["what"].lower(),
                retry_after=int(found["after"]) if found["after"] else None,
                times=int(found["times"]) if found["times"] else None,
            )
        )
        return "\x00"

    def close_gap(gap: re.Match[str]) -> str:
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


def _handle(username: str) -> str:
    return quote(username.lstrip("@#"), safe="@.-_~")


class Sandbox(Platform):
    """Publishes to the sandbox, imitating ``integration.platform``."""

    media_kinds = frozenset({"image", "video"})  # it stores what it was sent, media included

    def __init__(
        self,
        integration,
        credentials: dict[str, Any] | None = None,
        store=None,
        latency: tuple[float, float] | None = (0.02, 0.08),
        **shared: Any,
    ):
        super().__init__(integration, credentials, **shared)
        self.platform = registry.get(integration.platform)
        self.name = self.platform.name
        self.thread_style = self.platform.thread_style
        self.idempotent = self.platform.idempotent
        if store is None:
            from chalicelib.data.sandbox import SandboxStore

            store = SandboxStore()
        self._store = store
        self._latency = latency

    # --- the adapter contract ------------------------------------------------------------------
    def publish(self, part: Part) -> PostRef:
        self._wait()
        text, markers = parse_markers(part.text)
        failure = self._failure_due(markers, part.idempotency_key)
        if failure is not None and failure.what != "timeout-after-accept":
            raise self._error(failure)
        self._check_reply(part)
        post = {
            "id": self._new_id(),
            "text": text,
            "reply_to": part.reply_to.id if part.reply_to else None,
            "root": part.root.id if part.root else None,
            # What a platform would hold of each file; the bytes stay in our bucket.
            "media": [
                {
                    "media_id": item.id,
                    "kind": item.kind,
                    "content_type": item.content_type,
                    "size": item.size,
                    "alt_text": item.alt_text,
                }
                for item in part.media
            ],
        }
        try:
            stored = self._store.save_post(self.integration.id, post, part.idempotency_key if self.idempotent else None)
        except OpenpostError as error:
            # The sandbox's own storage failed: like a platform's 503, nothing was published.
            raise TransientError(f"The sandbox ({self.name}) did not answer; try again.") from error
        if failure is not None:  # accepted, then the answer never came back
            raise self._error(failure)
        return self._ref(stored)

    # --- failures on demand ----------------------------------------------------------------------
    def _wait(self) -> None:
        # A real call takes a moment; the engine should meet that in test mode too.
        if self._latency:
            self.clock.sleep(random.uniform(*self._latency))

    def _failure_due(self, markers: list[Marker], key: str) -> Marker | None:
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
            return PlatformRateLimitedError(
                f"The sandbox ({self.name}) answered HTTP 429 Too Many Requests, {asked}.",
                retry_after=marker.retry_after,
            )
        if marker.what == "reject":
            return PermanentError(
                f"The sandbox ({self.name}) refused the post (HTTP 400), {asked}.", code="platform_rejected"
            )
        if marker.what == "auth":
            return AuthenticationFailedError(
                f"The sandbox ({self.name}) refused the account's credentials (HTTP 401), {asked}."
            )
        accepted = "after accepting the post" if marker.what == "timeout-after-accept" else "before answering"
        message = f"The sandbox ({self.name}) timed out {accepted}, {asked}."
        # Whether a retry is safe is the platform's property, not the marker's: with an idempotency
        # key the engine may try again and will not publish twice; without one it must not.
        if self.idempotent:
            return TransientError(message)
        return OutcomeUnknownError(message)

    def _check_reply(self, part: Part) -> None:
        # A platform whose posts carry content ids (Bluesky's cid) refuses a reply without both a
        # root and a parent naming theirs; the sandbox refuses it too, so a thread that works here
        # works there.
        if not self.platform.sandbox.content_ids or part.reply_to is None:
            return
        refs = (part.reply_to, part.root)
        if any(ref is None or not ref.extra.get("cid") for ref in refs):
            raise PermanentError(
                f"{self.platform.title} replies need the parent and the root, each with its cid.",
                code="platform_rejected",
            )

    # --- what a published post looks like ------------------------------------------------------
    def _new_id(self) -> str:
        return self.platform.sandbox.post_id(self.integration.id, self.clock)

    def _url(self, post_id: str) -> str:
        return self.platform.sandbox.url.format(
            base=BASE_URL,
            platform=self.name,
            handle=_handle(self.integration.username),
            id=quote(post_id, safe=":._-"),
            rkey=post_id.rsplit("/", 1)[-1],
        )

    def _ref(self, post: dict[str, Any]) -> PostRef:
        extra: dict[str, Any] = {}
        if self.platform.sandbox.content_ids:
            # A cid is the hash of the record; derived from what was stored, so a repeated request
            # gets the same one back.
            extra["cid"] = "bafyrei" + shapes.base32(shapes.digest(post["id"], post.get("text") or ""))
        return PostRef(id=post["id"], url=self._url(post["id"]), extra=extra)

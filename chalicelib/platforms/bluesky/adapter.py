"""Publishing to Bluesky: one part is one ``app.bsky.feed.post`` record in the account's repository.

The account is held by its handle (or DID) and an app password, with the session the server gave
us for them; all three are sealed on the integration. A session near its end is refreshed, and a
session the server no longer takes is replaced by logging in again with the app password; each new
session is stored at once, so the next call starts from it. Only when the app password itself is
refused does the user have to reconnect (``AuthenticationFailedError``: the engine marks the
integration ``needs_refresh``).

Never twice: we choose each record's key ourselves, from the part's idempotency key, so a part sent
again names a record that may already exist. The server refuses to create it a second time (it
answers 500), and we then read the record back and return it as the part's outcome.

The atproto SDK costs over a second to import: only this module imports it, and the registry imports
this module only when a Bluesky target is published.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from atproto import Client, Session, SessionEvent, models
from atproto_client import exceptions as atproto_errors
from atproto_client.models.common import XrpcError
from atproto_client.request import Request

from chalicelib.platforms.base import (
    Attachment,
    AuthenticationFailedError,
    Part,
    PermanentError,
    Platform,
    PlatformRateLimitedError,
    PostRef,
    TransientError,
)
from chalicelib.platforms.bluesky import PLATFORM

POST = "app.bsky.feed.post"
THREADGATE = "app.bsky.feed.threadgate"
APP_URL = "https://bsky.app"
TIMEOUT = httpx.Timeout(20.0, connect=5.0)

# Error names with which the server says the session or the account cannot be used as it is.
AUTH_ERRORS = frozenset(
    {
        "AuthenticationRequired",
        "AuthRequired",
        "ExpiredToken",
        "InvalidToken",
        "AccountTakedown",
        "AccountDeactivated",
        "BadJwt",
        "BadJwtSignature",
    }
)

# who_can_reply -> the threadgate's allow list. "everyone" needs no gate; an empty list is nobody.
REPLY_RULES: dict[str, list[dict[str, str]]] = {
    "following": [{"$type": "app.bsky.feed.threadgate#followingRule"}],
    "mentioned": [{"$type": "app.bsky.feed.threadgate#mentionRule"}],
    "nobody": [],
}

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # atproto's sortable base32
# For an idempotency key whose target id carries no creation time (not a UUIDv7): a fixed window,
# so its record key is still the same on every try.
FALLBACK_EPOCH_MS = 1704067200000  # 2024-01-01
FALLBACK_WINDOW_MS = 365 * 24 * 3600 * 1000

T = TypeVar("T")


def record_key(idempotency_key: str, salt: str | None = None) -> str:
    """The record key of a part: a TID (posts' keys must be TIDs) that is the same on every try.

    A TID is microseconds since 1970 and a 10-bit clock id. The microseconds are the target's
    creation time (its id is a UUIDv7), then one of 40,000 slots of 25 microseconds (the second
    after it) and a clock id, both chosen by the target's random salt, then the part's index, so a
    thread's parts sort in order. Two targets made in the same millisecond share a key about once in
    41 million. A target made before salts existed keeps its first keys (so a retry finds the record
    it wrote): 40 slots chosen by a hash of the target, the clock id a hash of the whole key, which
    collide for two targets of one millisecond about once in 41,000."""
    target_id, _, index = idempotency_key.rpartition(":")
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    target_digest = hashlib.sha256(target_id.encode()).digest()
    millis = _uuid7_millis(target_id)
    if millis is None:
        millis = FALLBACK_EPOCH_MS + int.from_bytes(digest[:8], "big") % FALLBACK_WINDOW_MS
    part = min(int(index), 24) if index.isdigit() else 0  # a post has at most 25 parts
    if salt:
        salted = hashlib.sha256(f"{salt}:{target_id}".encode()).digest()
        slot, clock_id = int.from_bytes(salted[:4], "big") % 40_000, int.from_bytes(salted[4:6], "big") & 0x3FF
    else:
        slot, clock_id = int.from_bytes(target_digest[:4], "big") % 40, int.from_bytes(digest[-2:], "big") & 0x3FF
    micros = millis * 1000 + slot * 25 + part
    value = (micros << 10) | clock_id
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def _uuid7_millis(text: str) -> int | None:
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return None
    return parsed.int >> 80 if parsed.version == 7 else None


def post_url(handle: str, uri: str) -> str:
    return f"{APP_URL}/profile/{handle}/post/{uri.rsplit('/', 1)[-1]}"


class Bluesky(Platform):
    descriptor = PLATFORM  # its name, thread style and idempotency
    media_kinds = frozenset({"image"})  # images as blobs with alt text; video is not built yet
    max_image_bytes = PLATFORM.media.max_image_bytes

    def __init__(self, integration, credentials=None, **shared: Any):
        super().__init__(integration, credentials, **shared)
        self._session: Session | None = None

    # --- the adapter contract ------------------------------------------------------------------
    def publish(self, part: Part) -> PostRef:
        rkey = record_key(part.idempotency_key, part.salt)
        with platform_errors():
            return self._with_session(lambda client: self._publish(client, part, rkey))

    def _publish(self, client: Client, part: Part, rkey: str) -> PostRef:
        did = self._session.did
        record: dict[str, Any] = {"$type": POST, "text": part.text, "createdAt": _timestamp(self.clock.now())}
        facets = client.detect_facets(part.text)
        if facets:
            record["facets"] = [facet.model_dump(by_alias=True, exclude_none=True) for facet in facets]
        if part.settings.get("langs"):
            record["langs"] = list(part.settings["langs"])
        if part.reply_to is not None:
            record["reply"] = {"root": _strong_ref(part.root or part.reply_to), "parent": _strong_ref(part.reply_to)}
        images = part.media
        if images:
            record["embed"] = self._images_embed(client, images)

        writes = [models.ComAtprotoRepoApplyWrites.Create(collection=POST, rkey=rkey, value=record)]
        rule = part.settings.get("who_can_reply")
        if part.index == 0 and rule in REPLY_RULES:
            # The gate is its own record, keyed like the post; written in the same commit, so a
            # post never goes out without the gate its author asked for.
            gate = {
                "$type": THREADGATE,
                "post": f"at://{did}/{POST}/{rkey}",
                "allow": REPLY_RULES[rule],
                "createdAt": record["createdAt"],
            }
            writes.append(models.ComAtprotoRepoApplyWrites.Create(collection=THREADGATE, rkey=rkey, value=gate))
        try:
            answer = client.com.atproto.repo.apply_writes(
                models.ComAtprotoRepoApplyWrites.Data(repo=did, writes=writes)
            )
        except atproto_errors.RequestErrorBase as error:
            # A record that already exists is refused with a 500, and a dropped answer may hide a
            # write that went through: in both cases the record, if it is there, is our part.
            if _status(error) is not None and _status(error) < 500:
                raise
            existing = self._existing(client, did, rkey)
            if existing is None:
                raise
            return existing
        created = answer.results[0]
        return PostRef(id=created.uri, url=post_url(self._session.handle, created.uri), extra={"cid": created.cid})

    def _existing(self, client: Client, did: str, rkey: str) -> PostRef | None:
        try:
            found = client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(repo=did, collection=POST, rkey=rkey)
            )
        except atproto_errors.BadRequestError as error:
            if _error_name(error) == "RecordNotFound":
                return None
            raise
        return PostRef(id=found.uri, url=post_url(self._session.handle, found.uri), extra={"cid": found.cid})

    # --- images ----------------------------------------------------------------------------------
    def _images_embed(self, client: Client, images: list[Attachment]) -> dict[str, Any]:
        # The API checked count and size when the post was written; these guard a post written
        # under other rules, before any blob is uploaded.
        if len(images) > self.max_images:
            raise PermanentError(
                f"Bluesky takes at most {self.max_images} images in a post; this part has {len(images)}.",
                code="too_many_images",
            )
        for item in images:
            if item.size > self.max_image_bytes:
                raise PermanentError(
                    f"Bluesky takes images of at most {self.max_image_bytes:,} bytes; "
                    f"{item.filename or item.id} is {item.size:,}.",
                    code="media_too_large",
                )
        embedded = []
        for item in images:
            # Blobs are content-addressed: uploading the same file again on a retry stores nothing new.
            blob = client.upload_blob(item.read()).blob
            image: dict[str, Any] = {
                "$type": "app.bsky.embed.images#image",
                "alt": item.alt_text or "",
                "image": blob.model_dump(by_alias=True, exclude_none=True),
            }
            if item.width and item.height:
                # Lets clients lay the image out before it loads (app.bsky.embed.defs#aspectRatio).
                image["aspectRatio"] = {"width": int(item.width), "height": int(item.height)}
            embedded.append(image)
        return {"$type": "app.bsky.embed.images", "images": embedded}

    # --- the session -----------------------------------------------------------------------------
    def _with_session(self, action: Callable[[Client], T]) -> T:
        """Run ``action`` with a working session. A stored session the server refuses (expired, or
        revoked) is replaced once by logging in again with the app password."""
        client = self._client(use_stored_session=True)
        try:
            return action(client)
        except atproto_errors.RequestErrorBase as error:
            if not _is_auth_error(error):
                raise
        return action(self._client(use_stored_session=False))

    def _client(self, use_stored_session: bool) -> Client:
        value = self.credentials.value
        client = Client(base_url=value["service"], request=Request(timeout=TIMEOUT))
        # Called by the SDK after it logs in or refreshes a session (also before any call made
        # with an access token close to expiry): store the new session before it is used.
        client.on_session_change(self._remember)
        if use_stored_session and value.get("session"):
            with contextlib.suppress(ValueError):  # a session we cannot read: log in instead
                client.login(session_string=value["session"], fetch_bsky_profile=False)
                return client
        try:
            client.login(value["identifier"], value["app_password"], fetch_bsky_profile=False)
        except atproto_errors.RequestErrorBase as error:
            if _is_auth_error(error):
                raise AuthenticationFailedError(
                    f"Bluesky refused the account's app password ({_describe(error)}); reconnect the account "
                    "with a new app password."
                ) from None
            raise
        return client

    def _remember(self, event: SessionEvent, session: Session) -> None:
        self._session = session
        if event in (SessionEvent.CREATE, SessionEvent.REFRESH):
            # A worker that refreshed at the same moment may win the write; our session stays valid
            # for this call either way, and the next call starts from whichever was stored.
            self.credentials.replace({**self.credentials.value, "session": session.export()})


# --- connecting an account -------------------------------------------------------------------------
APP_PASSWORD_SCOPES = frozenset({"com.atproto.appPass", "com.atproto.appPassPrivileged"})


@dataclass(frozen=True)
class Account:
    did: str
    handle: str
    display_name: str
    session: str  # the SDK's session string: handle, DID, both tokens, the PDS's URL
    app_password: bool  # False when the user gave the account's main password


def log_in(service: str, identifier: str, password: str) -> Account:
    """Log in (createSession) and read the account's display name from its profile record (a PDS
    alone has no AppView to ask). Raises the engine's error kinds: AuthenticationFailedError for
    refused credentials, TransientError when the server cannot be reached."""
    sessions: list[Session] = []
    client = Client(base_url=service, request=Request(timeout=TIMEOUT))
    client.on_session_change(lambda event, session: sessions.append(session))
    with platform_errors():
        try:
            client.login(identifier, password, fetch_bsky_profile=False)
        except atproto_errors.RequestErrorBase as error:
            if _is_auth_error(error) or _error_name(error) == "InvalidRequest":
                raise AuthenticationFailedError(
                    f"Bluesky refused the identifier or password ({_describe(error)})."
                ) from error
            raise
        session = sessions[-1]
        display_name = ""
        try:
            profile = client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(
                    repo=session.did, collection="app.bsky.actor.profile", rkey="self"
                )
            )
            value = profile.value
            display_name = str(
                (value.get("displayName") if isinstance(value, dict) else getattr(value, "display_name", None)) or ""
            )
        except atproto_errors.BadRequestError:
            pass  # no profile record yet: the handle stands in for the name
    scope = session.access_jwt_payload.scope
    return Account(
        did=session.did,
        handle=session.handle,
        display_name=display_name or session.handle,
        session=session.export(),
        app_password=scope in APP_PASSWORD_SCOPES,
    )


# --- errors ----------------------------------------------------------------------------------------
@contextlib.contextmanager
def platform_errors() -> Iterator[None]:
    """What the SDK raised, as the engine's error kinds. Every write we make is keyed, so a request
    that got no answer is always safe to send again."""
    try:
        yield
    except atproto_errors.RequestErrorBase as error:
        raise as_platform_error(error) from None


def as_platform_error(error: atproto_errors.RequestErrorBase) -> Exception:
    status = _status(error)
    detail = _describe(error)
    if status is None:
        return TransientError(f"Bluesky could not be reached ({error.__class__.__name__}); it will be tried again.")
    if status == 429:
        return PlatformRateLimitedError(
            f"Bluesky is rate limiting this account ({detail}).", retry_after=_retry_after(error)
        )
    if _is_auth_error(error):
        return AuthenticationFailedError(f"Bluesky refused the account's session ({detail}); reconnect the account.")
    if status >= 500 or status == 409:
        return TransientError(f"Bluesky answered HTTP {status} ({detail}); it will be tried again.")
    return PermanentError(f"Bluesky refused the post: {detail}.")


def _status(error: atproto_errors.RequestErrorBase) -> int | None:
    return error.response.status_code if error.response is not None else None


def _error_name(error: atproto_errors.RequestErrorBase) -> str | None:
    content = error.response.content if error.response is not None else None
    return content.error if isinstance(content, XrpcError) else None


def _describe(error: atproto_errors.RequestErrorBase) -> str:
    content = error.response.content if error.response is not None else None
    if isinstance(content, XrpcError):
        return f"{content.error}: {content.message}" if content.message else content.error
    return f"HTTP {_status(error)}" if _status(error) else error.__class__.__name__


def _is_auth_error(error: atproto_errors.RequestErrorBase) -> bool:
    return _status(error) == 401 or _error_name(error) in AUTH_ERRORS


def _retry_after(error: atproto_errors.RequestErrorBase) -> float | None:
    if not isinstance(error, atproto_errors.RateLimitExceededError):
        return None
    if error.retry_after is not None:
        return error.retry_after
    answered = error.response.headers.get("date") if error.response is not None else None
    if error.reset_at is not None and answered:
        # The reset is on the server's clock: measured from its Date header, a skew of ours is no matter.
        try:
            return max(0.0, (error.reset_at - email.utils.parsedate_to_datetime(answered)).total_seconds())
        except (TypeError, ValueError):
            return None
    return None


def _strong_ref(ref: PostRef) -> dict[str, str]:
    cid = ref.extra.get("cid")
    if not cid:
        raise PermanentError("A Bluesky reply needs the cid of the post it answers; it was not recorded.")
    return {"uri": ref.id, "cid": cid}


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

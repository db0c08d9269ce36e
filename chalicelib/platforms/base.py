"""The contract between the publishing engine and a platform.

An adapter publishes one part of a post (the first part, or one segment of a thread) and says
what became of it. It never retries by itself and never decides what happens next: it raises one of
the errors below, and the engine decides from the error's kind (retry later, fail now, or fail as
"outcome unknown" because the platform may have accepted a call it cannot safely repeat).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, ClassVar

from chalicelib.clock import Clock, SystemClock

# The engine's error kinds are part of this contract; they live in the one hierarchy of errors.
from chalicelib.errors import (  # noqa: F401 - re-exported for adapters
    AuthenticationFailedError,
    OutcomeUnknownError,
    PermanentError,
    PlatformError,
    PlatformRateLimitedError,
    TransientError,
)


@dataclass(frozen=True)
class PostRef:
    """A part as published: the platform's id, a public URL, and whatever a reply needs (Bluesky's cid)."""

    id: str
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "extra": dict(self.extra)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PostRef:
        return cls(id=data["id"], url=data.get("url"), extra=dict(data.get("extra") or {}))


# The file name extensions that fit each type we store; the first is the one we give a file.
EXTENSIONS = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "video/mp4": (".mp4", ".m4v"),
    "video/quicktime": (".mov",),
}


@dataclass(frozen=True)
class Attachment:
    """One media file of a part: what it is (sniffed from its bytes when it was verified, never
    taken from a file name) and a way to read it from our bucket. Adapters never fetch a user's
    URL at publish time: media by URL was copied into the bucket when the post was created."""

    id: str
    kind: str  # "image" or "video"
    content_type: str  # image/jpeg, image/png, image/gif, image/webp, video/mp4, video/quicktime
    size: int  # bytes
    filename: str = ""
    alt_text: str | None = None
    width: int | None = None
    height: int | None = None
    # Opens the bytes as a stream. Reading raises TransientError when storage is briefly
    # unavailable and PermanentError (code media_unavailable) when the file is gone.
    opener: Callable[[], BinaryIO] | None = field(default=None, compare=False, repr=False)

    @property
    def upload_name(self) -> str:
        """The name the file goes up under: the author's, with an extension that fits what the file
        is (its type was sniffed from its bytes, so a misnamed file gets the right one). Platforms go
        by the extension to show an image inline or a video player, and some refuse a nameless file."""
        stem, extension = os.path.splitext(os.path.basename(self.filename or ""))
        fitting = EXTENSIONS.get(self.content_type, ())
        if stem and (extension.lower() in fitting or not fitting):
            return f"{stem}{extension}"
        return f"{stem or self.id}{fitting[0] if fitting else ''}"

    def open(self) -> BinaryIO:
        if self.opener is None:
            raise PermanentError(f"Media {self.id} has no stored file.", code="media_unavailable")
        return self.opener()

    def read(self) -> bytes:
        """The whole file; for files a platform takes in one request (images, small videos)."""
        stream = self.open()
        try:
            return stream.read()
        finally:
            stream.close()

    def chunks(self, size: int) -> Iterator[bytes]:
        """The file in pieces of at most ``size`` bytes, read as they are needed (chunked uploads
        of large videos never hold the whole file)."""
        stream = self.open()
        try:
            while True:
                piece = stream.read(size)
                if not piece:
                    return
                yield piece
        finally:
            stream.close()


@dataclass(frozen=True)
class Part:
    """One part to publish."""

    text: str
    index: int  # 0 for the first part, i for segment i
    total: int  # parts in the whole post
    idempotency_key: str  # stable for this target and part: a retry sends the same
    salt: str | None = None  # the target's random key salt, for keys derived from it (see Target)
    reply_to: PostRef | None = None  # the previous part, for a reply chain
    root: PostRef | None = None  # the first part, for platforms that want it (Bluesky)
    media: list[Attachment] = field(default_factory=list)  # in the order the author gave
    settings: dict[str, Any] = field(default_factory=dict)  # this platform's platform_settings
    # What this adapter kept, in an earlier attempt at this part, of files it uploaded (attachment id
    # to the handle it passed to ``keep``), and the engine's way to store a new one.
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    remember: Callable[[str, dict[str, Any]], None] | None = field(default=None, compare=False, repr=False)
    # Seconds the worker had left when this part started: its Lambda context's remaining time, less
    # the worker's margin for reporting (chalicelib/workers/publisher.py). Always said: a guess
    # would let a wait outlast the function.
    time_left: float = field(kw_only=True)

    def budget(self, reserve: float) -> float:
        """Seconds this part may spend waiting (for a platform to process media), leaving ``reserve``
        seconds for what comes after (the post itself, recording the outcome): a worker killed
        mid-wait reports nothing at all, so a wait must end well before the function does."""
        return max(0.0, self.time_left - reserve)

    def keep(self, attachment_id: str, handle: dict[str, Any]) -> None:
        """Store the platform's handle for an uploaded file (a media id still processing), so that a
        later attempt at this part can use it instead of uploading again. Handles are JSON values."""
        if self.remember is not None:
            self.remember(attachment_id, handle)


@dataclass(frozen=True)
class Deployment:
    """What the deployment hands an adapter when it is built: its settings (where each platform's
    API is), a way to read openpost's own app credentials on a platform
    (``app_credentials(platform, fresh=False)``, None while the deployment has none), the HTTP
    session every adapter of the container shares (``http.new_session``: pooled connections, no
    retries of its own), and the clock. Adapters never reach up into the container for any of them."""

    settings: Any
    app_credentials: Callable[..., dict[str, str] | None] = lambda platform, fresh=False: None
    session: Any = None  # a requests.Session
    clock: Clock = field(default_factory=SystemClock)


class Platform:
    """Base of every adapter. Subclasses name their platform's ``descriptor`` (which says what the
    platform is: its name, how threads go out, whether a repeat is recognised) and implement
    ``publish``; ``build`` makes one from what the deployment gives."""

    descriptor: ClassVar[Any] = None
    name: ClassVar[str] = ""
    # "reply": each part replies to the previous one; "numbered": separate posts with " (i/n)".
    thread_style: ClassVar[str] = "reply"
    # True when the platform recognises a repeated request (our idempotency key or record key), so a
    # call whose outcome is unknown can be retried without publishing twice.
    idempotent: ClassVar[bool] = False
    max_images: ClassVar[int] = 4
    # The kinds of media ("image", "video") this adapter can publish. The engine refuses a target
    # with any other kind before its first part goes out, so a post never goes out without media
    # its author added, nor half a thread.
    media_kinds: ClassVar[frozenset] = frozenset()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The platform's declarations are the adapter's: one place says whether X is idempotent.
        if cls.descriptor is not None:
            cls.name = cls.descriptor.name
            cls.thread_style = cls.descriptor.thread_style
            cls.idempotent = cls.descriptor.idempotent
            cls.max_images = cls.descriptor.media.max_images or cls.max_images

    def __init__(self, integration, credentials=None, *, session=None, clock: Clock | None = None):
        # An AccountCredentials (chalicelib/domain/credentials.py): ``.value`` is the account's
        # current tokens, ``.replace(new)`` stores refreshed ones and returns what to use.
        self.integration = integration
        self.credentials = credentials
        if session is None:  # built alone (a test, a sandbox account): a session of its own
            from chalicelib.platforms import http

            session = http.new_session()
        self.session = session
        self.clock = clock or SystemClock()

    @classmethod
    def build(cls, integration, credentials=None, deployment: Deployment | None = None, **options: Any):
        """The adapter for ``integration``, given what the deployment holds: its session and clock
        reach every adapter; adapters that need settings or app credentials extend this.
        ``options`` reach the constructor (tests pass a ManualClock)."""
        if deployment is not None:
            options.setdefault("session", deployment.session)
            options.setdefault("clock", deployment.clock)
        return cls(integration, credentials, **options)

    def publish(self, part: Part) -> PostRef:
        raise NotImplementedError


class ApiUrlPlatform(Platform):
    """An adapter that needs only to know where its platform's API is: the deployment's setting
    named ``api_url_setting`` (a test or a self-hoster may move it), as ``self._api_url``."""

    api_url_setting = ""

    def __init__(self, integration, credentials=None, api_url: str | None = None, **shared: Any):
        super().__init__(integration, credentials, **shared)
        self._api_url = api_url

    @classmethod
    def build(cls, integration, credentials=None, deployment: Deployment | None = None, **options: Any):
        if deployment is not None:
            options.setdefault("api_url", getattr(deployment.settings, cls.api_url_setting))
        return super().build(integration, credentials, deployment, **options)

"""``Openpost`` (sync) and ``AsyncOpenpost``: the same resources, sent with httpx, retried alike."""

from __future__ import annotations

import asyncio
import mimetypes
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import httpx

from openpost import _base, _config, resources
from openpost._base import Call, Operation, Page
from openpost.errors import APIConnectionError, APITimeoutError, OpenpostError

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
CHUNK = 256 * 1024
READY_STATES = ("ready", "rejected")


class MediaRejectedError(OpenpostError):
    """The uploaded file failed verification; ``code`` and ``reason`` say why."""

    def __init__(self, media: Any):
        self.media = media
        self.code = media.rejection_code
        self.reason = media.rejection_reason
        super().__init__(f"media {media.id} was rejected: {self.reason} ({self.code})")


class _Outcome(NamedTuple):
    """One attempt's result, the same for the sync and the async client: an answer, or the error of
    a connection that failed, and whether (and after how long) to try again."""

    status: int | None
    headers: dict[str, str]
    body: Any
    error: Exception | None = None

    @classmethod
    def answered(cls, response: httpx.Response) -> _Outcome:
        return cls(response.status_code, dict(response.headers), _base.decode(response))

    @classmethod
    def unanswered(cls, url: str, exc: httpx.TransportError) -> _Outcome:
        kind = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
        return cls(None, {}, None, kind(f"{url}: {exc}"))

    def retry_in(self, attempt: int, max_retries: int) -> float | None:
        """Seconds to wait before trying again, or None when this outcome is final."""
        if attempt > max_retries or not _base.should_retry(self.status, self.headers, self.body):
            return None
        return _base.retry_delay(attempt, self.headers)

    def result(self) -> tuple[int, dict[str, str], Any]:
        if self.error is not None:
            raise self.error
        return self.status, self.headers, self.body  # type: ignore[return-value]


class _Common:
    posts: resources.Posts
    media: resources.Media
    integrations: resources.Integrations
    api_keys: resources.ApiKeys
    webhooks: resources.Webhooks
    analytics: resources.Analytics
    meta: resources.Meta

    def __init__(self, api_key: str | None, base_url: str | None, max_retries: int):
        settings = _config.resolve(api_key, base_url)
        self.api_key = settings.api_key
        self.base_url = settings.base_url
        self.max_retries = max_retries
        self.posts = resources.Posts(self)
        self.media = resources.Media(self)
        self.integrations = resources.Integrations(self)
        self.api_keys = resources.ApiKeys(self)
        self.webhooks = resources.Webhooks(self)
        self.analytics = resources.Analytics(self)
        self.meta = resources.Meta(self)

    def _request_parts(self, declared: Operation, call: Call) -> dict[str, Any]:
        parts: dict[str, Any] = {
            "method": declared.method,
            "url": _base.url_of(self.base_url, declared, call),
            "params": call.query or None,
            "headers": _base.headers_of(self.api_key, declared, call),
        }
        if call.body is not None:
            parts["json"] = call.body
        return parts


def _upload_plan(file: Any, content_type: str | None, filename: str | None) -> tuple[str, str, int]:
    if isinstance(file, str | os.PathLike):
        path = Path(file)
        name, size = filename or path.name, path.stat().st_size
    else:
        name = filename or os.path.basename(getattr(file, "name", "") or "upload")
        position = file.tell()
        size = file.seek(0, os.SEEK_END) - position
        file.seek(position)
    kind = content_type or mimetypes.guess_type(name)[0]
    if not kind:
        raise ValueError(f"cannot tell the content type of {name!r}; pass content_type=")
    return name, kind, size


def _chunks(handle: BinaryIO, size: int, on_progress: Callable[[int, int], Any] | None) -> Iterator[bytes]:
    sent = 0
    if on_progress:
        on_progress(0, size)
    while chunk := handle.read(CHUNK):
        sent += len(chunk)
        yield chunk
        if on_progress:
            on_progress(sent, size)


class Openpost(_Common):
    """The API, synchronously. ``Openpost()`` reads OPENPOST_API_KEY / OPENPOST_BASE_URL, or the
    running local stack's .openpost/local.json; use it as a context manager to close its connections."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        max_retries: int = 3,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        http_client: httpx.Client | None = None,
    ):
        super().__init__(api_key, base_url, max_retries)
        self._http = http_client or httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Openpost:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _execute(self, declared: Operation, call: Call) -> Any:
        if declared.paged:
            return SyncPager(self, declared, call)
        return _base.result_of(declared, *self._send(declared, call))

    def _send(self, declared: Operation, call: Call) -> tuple[int, dict[str, str], Any]:
        parts = self._request_parts(declared, call)  # built once: the same Idempotency-Key on every attempt
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = _Outcome.answered(self._http.request(**parts))
            except httpx.TransportError as exc:
                outcome = _Outcome.unanswered(parts["url"], exc)
            delay = outcome.retry_in(attempt, self.max_retries)
            if delay is None:
                return outcome.result()
            time.sleep(delay)

    def _page(self, declared: Operation, call: Call) -> Page:
        status, headers, body = self._send(declared, call)
        if status >= 400:
            _base.result_of(declared, status, headers, body)
        return _base.page_of(declared, body)

    def _upload(
        self,
        media: resources.Media,
        file: Any,
        *,
        alt_text: str | None = None,
        content_type: str | None = None,
        filename: str | None = None,
        on_progress: Callable[[int, int], Any] | None = None,
        wait: bool = True,
        timeout: float = 120.0,
        idempotency_key: str | None = None,
    ) -> Any:
        name, kind, size = _upload_plan(file, content_type, filename)
        ticket = media.request_upload(
            filename=name, content_type=kind, size=size, alt_text=alt_text, idempotency_key=idempotency_key
        )
        handle = open(file, "rb") if isinstance(file, str | os.PathLike) else file  # noqa: SIM115
        start = handle.tell()
        try:
            for attempt in range(1, self.max_retries + 2):
                handle.seek(start)
                try:
                    # Never the API key: the presigned URL is the credential, its headers are signed.
                    headers = {**ticket.upload_headers, "Content-Length": str(size)}
                    answer = self._http.request(
                        ticket.upload_method or "PUT",
                        ticket.upload_url,
                        content=_chunks(handle, size, on_progress),
                        headers=headers,
                    )
                except httpx.TransportError as exc:
                    if attempt > self.max_retries:
                        raise APIConnectionError(f"upload of {name}: {exc}") from exc
                    time.sleep(_base.retry_delay(attempt, None) or 1)
                    continue
                if answer.status_code < 300:
                    break
                if answer.status_code < 500 or attempt > self.max_retries:
                    raise OpenpostError(f"upload of {name} refused: HTTP {answer.status_code} {answer.text[:200]}")
        finally:
            if handle is not file:
                handle.close()
        if not wait:
            return media.get(ticket.id)
        return self._wait_ready(media, ticket.id, timeout)

    def _wait_ready(self, media: resources.Media, media_id: str, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            current = media.get(media_id)
            if current.status == "rejected":
                raise MediaRejectedError(current)
            if current.status == "ready":
                return current
            if time.monotonic() > deadline:
                raise OpenpostError(f"media {media_id} is still {current.status} after {timeout:.0f} s")
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)


class SyncPager:
    """Every item of a list, fetching the next page (by its cursor) only when iteration needs it."""

    def __init__(self, client: Openpost, declared: Operation, call: Call):
        self._client, self._declared, self._call = client, declared, call
        self.total: int | None = None

    def pages(self) -> Iterator[Page]:
        call = self._call
        while True:
            page = self._client._page(self._declared, call)
            self.total = page.total
            yield page
            if not page.next_cursor or not page.items:
                return
            query = {k: v for k, v in call.query.items() if k != "offset"}
            call = Call(path=call.path, query={**query, "cursor": page.next_cursor})

    def __iter__(self) -> Iterator[Any]:
        for page in self.pages():
            yield from page.items

    def first_page(self) -> Page:
        return next(iter(self.pages()))


class AsyncOpenpost(_Common):
    """The API, with asyncio: every method is awaited, lists are iterated with ``async for``."""

    # The same resources as the sync client, whose methods here return awaitables (and lists an
    # AsyncPager): typed loosely rather than wrongly.
    posts: Any
    media: Any
    integrations: Any
    api_keys: Any
    webhooks: Any
    analytics: Any
    meta: Any

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        max_retries: int = 3,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        http_client: httpx.AsyncClient | None = None,
    ):
        super().__init__(api_key, base_url, max_retries)
        self._http = http_client or httpx.AsyncClient(timeout=timeout)

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncOpenpost:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def _execute(self, declared: Operation, call: Call) -> Any:
        if declared.paged:
            return AsyncPager(self, declared, call)
        return self._result(declared, call)

    async def _result(self, declared: Operation, call: Call) -> Any:
        return _base.result_of(declared, *(await self._send(declared, call)))

    async def _send(self, declared: Operation, call: Call) -> tuple[int, dict[str, str], Any]:
        parts = self._request_parts(declared, call)
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = _Outcome.answered(await self._http.request(**parts))
            except httpx.TransportError as exc:
                outcome = _Outcome.unanswered(parts["url"], exc)
            delay = outcome.retry_in(attempt, self.max_retries)
            if delay is None:
                return outcome.result()
            await asyncio.sleep(delay)

    async def _page(self, declared: Operation, call: Call) -> Page:
        status, headers, body = await self._send(declared, call)
        if status >= 400:
            _base.result_of(declared, status, headers, body)
        return _base.page_of(declared, body)

    async def _upload(
        self,
        media: resources.Media,
        file: Any,
        *,
        alt_text: str | None = None,
        content_type: str | None = None,
        filename: str | None = None,
        on_progress: Callable[[int, int], Any] | None = None,
        wait: bool = True,
        timeout: float = 120.0,
        idempotency_key: str | None = None,
    ) -> Any:
        name, kind, size = _upload_plan(file, content_type, filename)
        ticket = await media.request_upload(
            filename=name, content_type=kind, size=size, alt_text=alt_text, idempotency_key=idempotency_key
        )
        handle = open(file, "rb") if isinstance(file, str | os.PathLike) else file  # noqa: SIM115
        start = handle.tell()

        async def stream() -> AsyncIterator[bytes]:
            for chunk in _chunks(handle, size, on_progress):
                yield chunk

        try:
            for attempt in range(1, self.max_retries + 2):
                handle.seek(start)
                try:
                    # Never the API key: the presigned URL is the credential, its headers are signed.
                    answer = await self._http.request(
                        ticket.upload_method or "PUT",
                        ticket.upload_url,
                        content=stream(),
                        headers={**ticket.upload_headers, "Content-Length": str(size)},
                    )
                except httpx.TransportError as exc:
                    if attempt > self.max_retries:
                        raise APIConnectionError(f"upload of {name}: {exc}") from exc
                    await asyncio.sleep(_base.retry_delay(attempt, None) or 1)
                    continue
                if answer.status_code < 300:
                    break
                if answer.status_code < 500 or attempt > self.max_retries:
                    raise OpenpostError(f"upload of {name} refused: HTTP {answer.status_code} {answer.text[:200]}")
        finally:
            if handle is not file:
                handle.close()
        deadline = time.monotonic() + timeout
        delay = 0.2
        while wait:
            current = await media.get(ticket.id)
            if current.status == "rejected":
                raise MediaRejectedError(current)
            if current.status == "ready":
                return current
            if time.monotonic() > deadline:
                raise OpenpostError(f"media {ticket.id} is still {current.status} after {timeout:.0f} s")
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 2.0)
        return await media.get(ticket.id)


class AsyncPager:
    """``async for item in client.posts.list()``: pages fetched by cursor as iteration needs them."""

    def __init__(self, client: AsyncOpenpost, declared: Operation, call: Call):
        self._client, self._declared, self._call = client, declared, call
        self.total: int | None = None

    async def pages(self) -> AsyncIterator[Page]:
        call = self._call
        while True:
            page = await self._client._page(self._declared, call)
            self.total = page.total
            yield page
            if not page.next_cursor or not page.items:
                return
            query = {k: v for k, v in call.query.items() if k != "offset"}
            call = Call(path=call.path, query={**query, "cursor": page.next_cursor})

    async def __aiter__(self) -> AsyncIterator[Any]:
        async for page in self.pages():
            for item in page.items:
                yield item

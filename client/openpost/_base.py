"""What the sync and the async client share: how an operation is declared, how a request is built,
which failures are retried and how long to wait, and how an answer becomes a model or an error."""

from __future__ import annotations

import datetime as dt
import functools
import platform
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from openpost import models
from openpost.errors import error_from_response, parse_retry_after

VERSION = "0.1.0"
USER_AGENT = f"openpost-python/{VERSION} (Python {platform.python_version()})"
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT"})
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0  # seconds: a longer Retry-After is surfaced to the caller instead of slept through


@dataclass(frozen=True)
class Operation:
    """One operation of /v1/openapi.json, as a client method declares it."""

    method: str
    path: str
    response: type[BaseModel] | None = None  # the model of the answer's ``data`` (or of each item)
    paged: bool = False  # a list: ``data`` is one page, ``next_cursor`` leads to the next
    raw: bool = False  # the body itself, not an envelope
    aliases: tuple[str, ...] = ()  # other paths that serve the same operation

    def model(self) -> type[BaseModel]:
        return self.response or models.OpenpostModel


@dataclass
class Call:
    """What one method call asks for: returned by the method, sent by the client."""

    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    idempotency_key: str | None = None


P = ParamSpec("P")
M = TypeVar("M", bound=BaseModel)


def operation(
    method: str, path: str, response: type[M] | None = None, **options: Any
) -> Callable[[Callable[P, Call]], Callable[P, M]]:
    """Declares a resource method as the client's call of one API operation. The method returns a
    ``Call``; the client sends it and returns the model (awaitable, on the async client)."""
    declared = Operation(method, path, response, **options)

    def decorate(function: Callable[P, Call]) -> Callable[P, M]:
        @functools.wraps(function)
        def send(*args: P.args, **kwargs: P.kwargs) -> Any:
            resource = args[0]
            return resource._client._execute(declared, function(*args, **kwargs))  # type: ignore[attr-defined]

        send.__openpost_operation__ = declared  # type: ignore[attr-defined]
        return send

    return decorate


def paged_operation(
    method: str, path: str, response: type[M], **options: Any
) -> Callable[[Callable[P, Call]], Callable[P, Iterable[M]]]:
    """A list operation: the method returns a lazy iterator over every item of every page (``async
    for`` on the async client)."""
    return operation(method, path, response, paged=True, **options)  # type: ignore[return-value]


def list_operation(
    method: str, path: str, response: type[M], **options: Any
) -> Callable[[Callable[P, Call]], Callable[P, list[M]]]:
    """An operation whose ``data`` is a plain list (no pages)."""
    return operation(method, path, response, **options)  # type: ignore[return-value]


class Resource:
    def __init__(self, client: Any):
        self._client = client


def declared_operations(resource_classes: list[type[Resource]]) -> list[tuple[str, Operation]]:
    """Every (qualified method name, operation) the client declares: what the in-step test reads."""
    found = []
    for resource in resource_classes:
        for name in dir(resource):
            declared = getattr(getattr(resource, name), "__openpost_operation__", None)
            if declared is not None:
                found.append((f"{resource.__name__}.{name}", declared))
    return found


def body_of(body: Any, fields: dict[str, Any]) -> Any:
    """A request body from a model, a dict and/or keyword fields; ``None`` values are left out."""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    merged = {**(body or {}), **{name: value for name, value in fields.items() if value is not None}}
    return jsonable(merged)


def query_of(values: dict[str, Any]) -> dict[str, Any]:
    return {name: jsonable(value) for name, value in values.items() if value is not None}


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"{value!r} has no time zone; give an aware datetime (UTC or an IANA zone)")
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


def url_of(base_url: str, declared: Operation, call: Call) -> str:
    from urllib.parse import quote

    path = declared.path
    for name, value in call.path.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    return base_url + path


def headers_of(api_key: str, declared: Operation, call: Call) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT, "Accept": "application/json"}
    if declared.method in WRITE_METHODS:
        # One key for the call, kept across its retries: the API replays the first answer instead
        # of acting twice, so retrying a create can never create two posts.
        headers["Idempotency-Key"] = call.idempotency_key or f"opc-{uuid.uuid4()}"
    return headers


def should_retry(status: int | None, headers: dict[str, str], body: Any) -> bool:
    if status is None:  # the connection failed or broke
        return True
    if status in RETRIED_STATUSES:
        return True
    return status == 409 and isinstance(body, dict) and body.get("code") == "idempotency_key_in_flight"


def retry_delay(attempt: int, headers: dict[str, str] | None) -> float | None:
    """Seconds to wait before retry number ``attempt`` (1-based): Retry-After when the API says, else
    exponential backoff with jitter. None when the API asks for longer than MAX_RETRY_AFTER."""
    told = parse_retry_after((headers or {}).get("retry-after"))
    if told is not None:
        return told if told <= MAX_RETRY_AFTER else None
    return min(8.0, 0.5 * 2 ** (attempt - 1)) * (0.75 + random.random() / 2)


def decode(response: Any) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def result_of(declared: Operation, status: int, headers: dict[str, str], body: Any) -> Any:
    if status >= 400:
        raise error_from_response(status, headers, body)
    if status == 204 or body is None:
        return None
    if declared.raw:
        return body
    data = body.get("data") if isinstance(body, dict) else body
    model = declared.model()
    if isinstance(data, list):
        return [parse(model, item) for item in data]
    return parse(model, data)


def parse(model: type[BaseModel], data: Any) -> Any:
    """The model of ``data``; an answer the model cannot validate (a field the API made optional after
    this client was built) is still returned, unvalidated, rather than lost in an exception."""
    try:
        return model.model_validate(data)
    except PydanticValidationError:
        return model.model_construct(**data) if isinstance(data, dict) else data


def page_of(declared: Operation, body: dict[str, Any]) -> Page:
    model = declared.model()
    return Page(
        items=[parse(model, item) for item in body.get("data") or []],
        total=body.get("total"),
        next_cursor=body.get("next_cursor"),
    )


@dataclass
class Page:
    items: list[Any]
    total: int | None
    next_cursor: str | None

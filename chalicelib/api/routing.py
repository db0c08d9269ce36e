"""Routes with their contract: every handler is parse → call → serialise, and nothing else.

``ApiBlueprint.operation`` registers a Chalice route and records the operation (body, query and
response models, status, auth) so the OpenAPI document is generated from the very models the
handlers validate with. The wrapper it installs authenticates, parses, renders the envelope
(``{"data": ...}``) and turns every error into a problem body, in this one place.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Chalice, Response
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from chalicelib.api import edges, problems
from chalicelib.domain.principal import Principal
from chalicelib.domain.request_keys import RequestKey
from chalicelib.errors import (
    BadRequestError,
    InvalidQueryError,
    NotFoundError,
    OpenpostError,
    PayloadTooLargeError,
    ValidationError,
)
from chalicelib.observability import logger, metrics

MAX_BODY_BYTES = 256 * 1024
# The longest path parameter that can name anything: ids are UUIDs (36 characters), group ids at most
# 100. A longer (or empty) one names nothing, and must not reach DynamoDB, which refuses key values
# that are empty or over 1024 bytes (a sort key) with an error that would otherwise be a 500.
MAX_PATH_PARAM_LENGTH = 128
_PATH_PARAM = re.compile(r"{(\w+)}")


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    operation_id: str
    tag: str
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None  # the model inside "data"
    paginated: bool = False  # "data" is a list, with total/limit/offset
    listed: bool = False  # "data" is a list, whole (a short one: no pages)
    auth: bool = True
    idempotent: bool = False  # honours Idempotency-Key
    sensitive: bool = False  # the response carries a secret (stored sealed for replays)
    # For a sensitive operation: whether the thing its answer shows a secret of still stands
    # (a replay never shows the secret of a key revoked since).
    still_valid: Callable[[Principal, dict[str, Any]], bool] | None = None
    errors: Sequence[int] = ()
    description: str = ""
    raw: bool = False  # the success body is served as it is, outside the {"data": ...} envelope
    pages: bool = False  # a browser gets an HTML page instead (a route a person lands on)
    # The rate limit policy this route counts against besides "default" (settings.rate_limits).
    rate_limit: str | None = None
    # Other media types the success answer may take ("text/csv" for ?format=csv), for the document.
    also_serves: tuple[str, ...] = ()

    @property
    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)


@dataclass
class Page:
    items: Sequence[BaseModel]
    total: int
    limit: int
    offset: int
    next_cursor: str | None = None  # where the next page starts; None on the last page


def page_in_memory(items: Sequence[Any], query, *, descending: bool, render: Callable[[Any], BaseModel]) -> Page:
    """A page of a list read whole (keys, accounts: a workspace has few), in the list's order by
    id, from the query's cursor or offset."""
    from chalicelib.api.schemas import encode_cursor

    total, after = len(items), query.after
    if after is not None:
        items = [item for item in items if (item.id < after if descending else item.id > after)]
    chosen = items[query.offset : query.offset + query.limit]
    more = len(items) > query.offset + query.limit
    return Page(
        [render(item) for item in chosen],
        total=total,
        limit=query.limit,
        offset=query.offset,
        next_cursor=encode_cursor(chosen[-1].id) if more and chosen else None,
    )


@dataclass
class Reply:
    """A handler result that needs a status or headers other than the operation's defaults."""

    body: Any = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bool = False  # serve the body as it is, outside the {"data": ...} envelope


@dataclass
class Call:
    """What a handler receives besides its path parameters."""

    principal: Principal | None
    body: BaseModel | None
    query: BaseModel | None
    headers: Mapping[str, str]
    # The Idempotency-Key with the request's fingerprint, on an idempotent operation that got one:
    # creates claim it in their own write (domain/request_keys.py).
    request_key: RequestKey | None = None
    # The seconds this invocation has left, read when asked (from the Lambda context); None where
    # the request did not come through Lambda.
    time_left: Callable[[], float] | None = None


# Every ApiBlueprint, in creation order: the OpenAPI document is generated from their operations.
BLUEPRINTS: list[ApiBlueprint] = []


class ApiBlueprint(Blueprint):
    def __init__(self, import_name: str, tag: str):
        super().__init__(import_name)
        self.tag = tag
        self.operations: list[Operation] = []
        BLUEPRINTS.append(self)

    def operation(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        status: int = 200,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        paginated: bool = False,
        listed: bool = False,
        auth: bool = True,
        idempotent: bool = False,
        sensitive: bool = False,
        still_valid: Callable[[Principal, dict[str, Any]], bool] | None = None,
        errors: Sequence[int] = (),
        description: str = "",
        raw: bool = False,
        pages: bool = False,
        rate_limit: str | None = None,
        also_serves: tuple[str, ...] = (),
    ) -> Callable:
        def register(handler: Callable) -> Callable:
            op = Operation(
                method=method,
                path=path,
                summary=summary,
                operation_id=handler.__name__,
                tag=self.tag,
                status=status,
                body=body,
                query=query,
                response=response,
                paginated=paginated,
                listed=listed,
                auth=auth,
                idempotent=idempotent,
                sensitive=sensitive,
                still_valid=still_valid,
                errors=errors,
                raw=raw,
                pages=pages,
                description=description or inspect.getdoc(handler) or "",
                rate_limit=rate_limit,
                also_serves=also_serves,
            )
            self.operations.append(op)

            def view(**path_params: str) -> Response:
                return _serve(self, op, handler, path_params)

            view.__name__ = handler.__name__
            # Chalice checks Content-Type only against this list; a body is parsed as JSON whatever
            # its declared type, so clients that send none still work.
            content_types = [
                "application/json",
                "application/merge-patch+json",
                "text/plain",
                "application/x-www-form-urlencoded",
            ]
            self.route(path, methods=[method], content_types=content_types)(view)
            return handler

        return register


def _serve(blueprint: ApiBlueprint, op: Operation, handler: Callable, path_params: dict[str, str]) -> Response:
    from chalicelib.container import services

    request = blueprint.current_request
    headers = {key.lower(): value for key, value in (request.headers or {}).items()}
    # The RateLimit fields go on every answer to an authenticated request, success or problem.
    rate_limit_fields: dict[str, str] = {}
    try:
        principal = services().authenticator.authenticate(headers.get("authorization")) if op.auth else None
        if principal is not None:
            logger.append_keys(workspace_id=principal.workspace_id, mode=principal.mode)
            # Counted per key, so only once the caller is known; before anything else, so a spent
            # budget costs no parsing and no reads.
            rate_limit_fields = services().rate_limiter.admit(principal, op.rate_limit)
        response = _answer(blueprint, op, handler, path_params, principal, headers)
    except OpenpostError as error:
        if error.status >= 500:
            logger.exception("request failed", extra={"code": error.code})
        response = problems.from_error(error)
    except Exception:  # noqa: BLE001 - the last line of defence: never a stack trace to the caller
        logger.exception("unhandled error")
        response = problems.problem_response(
            500,
            "internal_error",
            "Internal server error",
            "Something went wrong on our side. It has been logged; retrying is "
            "safe for requests sent with an Idempotency-Key.",
        )
    response.headers.update(rate_limit_fields)
    return response


def _answer(
    blueprint: ApiBlueprint,
    op: Operation,
    handler: Callable,
    path_params: dict[str, str],
    principal: Principal | None,
    headers: dict[str, str],
) -> Response:
    from chalicelib.container import services

    request = blueprint.current_request
    _check_path_params(path_params)
    call = Call(
        principal=principal,
        body=_parse_body(op, request.raw_body),
        query=_parse_query(op, request.query_params),
        headers=headers,
        time_left=_time_left(getattr(request, "lambda_context", None)),
    )
    # Present but empty is refused there (400), not ignored: the client meant to send a key.
    if op.idempotent and principal is not None and "idempotency-key" in headers:
        idempotency = services().idempotency
        call.request_key = idempotency.request_key(op, request, headers["idempotency-key"])
        return idempotency.run(principal, op, request, call, lambda: _render(op, handler(call, **path_params)))
    return _render(op, handler(call, **path_params))


def _time_left(context) -> Callable[[], float] | None:
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return None
    return lambda: context.get_remaining_time_in_millis() / 1000


def _check_path_params(path_params: Mapping[str, str]) -> None:
    for name, value in path_params.items():
        if not 0 < len(value) <= MAX_PATH_PARAM_LENGTH:
            raise NotFoundError(f"No resource has this {name}: a {name} is 1 to {MAX_PATH_PARAM_LENGTH} characters.")


def _parse_body(op: Operation, raw: bytes | None) -> BaseModel | None:
    if op.body is None:
        return None
    raw = raw or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"The request body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}.")
    data: Any = {} if not raw.strip() else parse_json(raw)
    try:
        return op.body.model_validate(data)
    except PydanticValidationError as error:
        raise ValidationError("The request body is not valid.", errors=field_errors(error)) from error


MAX_JSON_DEPTH = 32


def _unique_keys(pairs):
    body = {}
    for key, value in pairs:
        if key in body:
            raise BadRequestError(
                f"The request body names {key!r} twice; send each field once.", code="duplicate_json_key"
            )
        body[key] = value
    return body


def _check_values(value: Any, path: str, depth: int) -> None:
    """Refuse what no platform can carry and nothing should store: nesting deeper than any request
    model goes, NUL characters and lone surrogates (a JSON escape like \\ud800 decodes to one)."""
    if depth > MAX_JSON_DEPTH:
        raise BadRequestError(f"The request body nests more than {MAX_JSON_DEPTH} levels deep.", code="json_too_deep")
    if isinstance(value, str):
        if "\0" in value or _LONE_SURROGATE.search(value):
            raise ValidationError(
                "The request body is not valid.",
                errors=[
                    {
                        "field": path or "body",
                        "message": (
                            "Text may not hold NUL characters or unpaired surrogates (\\u0000, \\ud800-\\udfff)."
                        ),
                    }
                ],
                code="invalid_characters",
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_values(key, path, depth + 1)
            _check_values(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_values(item, f"{path}[{index}]", depth + 1)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_json(raw: bytes) -> Any:
    """A request body as JSON, or 400 for what is not: malformed, nested past all reason (the
    parser would recurse until it fails), a field named twice (which one would we take?)."""
    try:
        data = json.loads(raw, object_pairs_hook=_unique_keys)
    except RecursionError as exc:
        raise BadRequestError(
            f"The request body nests more than {MAX_JSON_DEPTH} levels deep.", code="json_too_deep"
        ) from exc
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequestError(f"The request body is not valid JSON: {error}", code="malformed_json") from error
    _check_values(data, "", 0)
    return data


def _parse_query(op: Operation, params: Mapping[str, str] | None) -> BaseModel | None:
    if op.query is None:
        return None
    values = dict(params or {})
    if "" in values:
        # Unknown parameters are ignored (browsers add some), but one without a name ("?=x") is
        # a malformed query, not an extra.
        raise InvalidQueryError(
            "The query string is not valid.", errors=[{"field": "query", "message": "a parameter has no name"}]
        )
    try:
        return op.query.model_validate(values)
    except PydanticValidationError as error:
        raise InvalidQueryError("The query string is not valid.", errors=field_errors(error)) from error


def field_errors(error: PydanticValidationError) -> list[dict[str, str]]:
    """Pydantic's error list as ``[{"field": "segments[3].content", "message": ...}]``."""
    result = []
    for item in error.errors(include_url=False):
        path = ""
        for part in item["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif part.startswith("function-"):  # a validator's name, not a field
                continue
            else:
                path += f".{part}" if path else str(part)
        message = item["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        result.append({"field": path or "body", "message": message})
    return result


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list):
        return [_dump(item) for item in value]
    return value


def _render(op: Operation, result: Any) -> Response:
    if isinstance(result, Response):  # a page for a person's browser, made by the handler
        return result
    status, headers, raw = op.status, {}, False
    if isinstance(result, Reply):
        status, headers, raw = result.status or status, result.headers, result.raw
        result = result.body
    if status == 204:
        return Response(body="", status_code=204, headers=headers)
    if raw:
        body = _dump(result)
    elif isinstance(result, Page):
        body = {
            "data": [_dump(item) for item in result.items],
            "total": result.total,
            "limit": result.limit,
            "offset": result.offset,
            "next_cursor": result.next_cursor,
        }
    else:
        body = {"data": _dump(result)}
    return Response(body=json_text(body), status_code=status, headers={"Content-Type": "application/json", **headers})


def json_text(value: Any) -> str:
    """JSON in UTF-8 rather than escaped: "é" is 2 bytes, not 6, which keeps large posts well
    inside Lambda's 6 MB response and the stored copy an Idempotency-Key replays."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from a post stored before they were refused
        return json.dumps(value)
    return text


def install_middleware(app: Chalice) -> None:
    """Request logging and metrics for every HTTP call, and problem bodies for Chalice's own errors."""

    @app.middleware("http")
    def observe(event, get_response):
        from chalicelib.container import services

        clock = services().clock  # the deployment's clock, which a test can move
        started = clock.monotonic()
        context = event.context or {}
        logger.append_keys(request_id=context.get("requestId"), method=event.method, path=event.path)
        try:
            response = get_response(event)
            if response.status_code >= 400:
                response = problems.from_chalice_error(response)
            if response.status_code == 405 and event.path in edges.ALLOW:
                # A method no path can declare (TRACE): Chalice lists every route of the path,
                # the 405 ones too; the path's own methods are these.
                response.headers["Allow"] = edges.ALLOW[event.path]
            origin = {key.lower(): value for key, value in (event.headers or {}).items()}.get("origin")
            if origin:
                response.headers.update(edges.cors_headers(origin, services().settings.cors_origins))
            elapsed_ms = (clock.monotonic() - started) * 1000
            logger.info("request served", extra={"status": response.status_code, "duration_ms": round(elapsed_ms, 1)})
            metrics.add_metric(name="Requests", unit="Count", value=1)
            if response.status_code >= 500:
                metrics.add_metric(name="ServerErrors", unit="Count", value=1)
            metrics.add_metric(name="Latency", unit="Milliseconds", value=elapsed_ms)
            metrics.flush_metrics()
            return response
        finally:
            logger.remove_keys(["request_id", "method", "path", "workspace_id", "mode"])
            services().measures.flush()  # what the request counted (RateLimitedRequests)

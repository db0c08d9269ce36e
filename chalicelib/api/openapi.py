"""The OpenAPI 3.1 document, generated from the operations and the models the handlers validate with."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib import __version__
from chalicelib.api.routing import MAX_PATH_PARAM_LENGTH, Operation

REF = "#/components/schemas/{model}"

_ERROR_TITLES = {
    400: "Malformed JSON or query string",
    401: "Missing, malformed, unknown, revoked or expired API key",
    404: "No such resource in this workspace and mode",
    409: "Conflict with the resource's state, or an Idempotency-Key still in flight",
    413: "Request body too large",
    415: "Unsupported content type",
    422: "Semantically invalid request",
    429: "Rate limited; see Retry-After",
    503: "Temporarily unavailable; nothing was changed, retry after Retry-After",
}

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable, machine-readable error code."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def _envelope(op: Operation) -> dict[str, Any]:
    if op.raw:
        return {"type": "object"}
    if op.response is None:
        return {"type": "object", "required": ["data"], "properties": {"data": {}}}
    item = {"$ref": REF.format(model=op.response.__name__)}
    if op.paginated:
        return {
            "type": "object",
            "required": ["data", "total", "limit", "offset", "next_cursor"],
            "properties": {
                "data": {"type": "array", "items": item},
                "total": {"type": "integer", "minimum": 0},
                "limit": {"type": "integer", "minimum": 1},
                "offset": {"type": "integer", "minimum": 0},
                "next_cursor": {
                    "type": ["string", "null"],
                    "description": "Pass as cursor for the next page; null on the last.",
                },
            },
        }
    if op.listed:
        item = {"type": "array", "items": item}
    return {"type": "object", "required": ["data"], "properties": {"data": item}}


def _page(op: Operation) -> dict[str, Any]:
    # A route a person's browser lands on answers a page unless the client asks for JSON.
    return {"text/html": {"schema": {"type": "string"}}} if op.pages else {}


def _query_parameters(model: type[BaseModel], schema: dict[str, Any]) -> list[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
            **({"description": prop["description"]} if "description" in prop else {}),
        }
        for name, prop in properties.items()
    ]


# Headers that always come with these statuses (see chalicelib/errors.py).
_ERROR_HEADERS = {
    401: {
        "WWW-Authenticate": {"required": True, "description": 'Bearer realm="openpost"', "schema": {"type": "string"}}
    },
    429: {
        "Retry-After": {
            "required": True,
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
    503: {
        "Retry-After": {
            "required": True,
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}


# On every answer to an authenticated request (chalicelib/domain/rate_limits.py). Not required: when
# the counters cannot be reached the request is served without them.
RATE_LIMIT_HEADERS = {
    "RateLimit-Policy": {
        "required": False,
        "schema": {"type": "string"},
        "description": "The key's rate limit policies that apply to this operation, as a "
        'structured-field list: `"default";q=600;w=60, "posts";q=60;w=60` '
        "(q requests per w seconds).",
    },
    "RateLimit": {
        "required": False,
        "schema": {"type": "string"},
        "description": 'What remains of each policy: `"default";r=412;t=17` (r requests left, '
        "t seconds until the window ends).",
    },
}


def _operation(op: Operation, query_schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    # The route wrapper answers 404 for a path parameter outside these bounds (routing._check_path_params).
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_PATH_PARAM_LENGTH},
        }
        for name in op.path_params
    ]
    if op.query is not None:
        parameters += _query_parameters(op.query, query_schemas[op.query.__name__])
    if op.idempotent:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": "Replays the first response for 24 hours; see the idempotency guide.",
            }
        )
    responses: dict[str, Any] = {}
    if op.status == 204:
        responses["204"] = {"description": "No content"}
    else:
        responses[str(op.status)] = {
            "description": op.summary,
            "content": {
                "application/json": {"schema": _envelope(op)},
                **_page(op),
                **{media_type: {"schema": {"type": "string"}} for media_type in op.also_serves},
            },
        }
    # 415: Chalice checks the Content-Type of every request, with or without a body, before our code runs.
    statuses = set(op.errors) | ({401, 429} if op.auth else set()) | {415}
    if op.path_params:
        statuses.add(404)  # an unknown id, or one that cannot be an id at all
    if op.body is not None:
        statuses |= {400, 413, 422}
    if op.query is not None:
        statuses.add(400)
    if op.idempotent:
        # Idempotency-Key: 400 when it is too long, 409 while a request with it is in flight,
        # 422 when it is reused with a different request.
        statuses |= {400, 409, 422}
    for status in sorted(statuses):
        responses[str(status)] = {
            "description": _ERROR_TITLES.get(status, "Error"),
            "content": {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}, **_page(op)},
        }
        if status in _ERROR_HEADERS:
            responses[str(status)]["headers"] = dict(_ERROR_HEADERS[status])
    if op.auth:
        # 401 and 415 come before the key is known (and counted): they carry no RateLimit fields.
        for status, response in responses.items():
            if status not in ("401", "415"):
                response["headers"] = {**RATE_LIMIT_HEADERS, **response.get("headers", {})}
    document: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": parameters,
        "responses": responses,
    }
    if op.description:
        document["description"] = op.description
    if op.body is not None:
        document["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=op.body.__name__)}}},
        }
    if not op.auth:
        document["security"] = []
    return document


def build(operations: Iterable[Operation], *, server_url: str = "/") -> dict[str, Any]:
    operations = list(operations)
    models: list[tuple[type[BaseModel], str]] = []
    for op in operations:
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
    _, definitions = models_json_schema(models, ref_template=REF)
    components = dict(definitions.get("$defs", {}))
    query_schemas = {
        model.__name__: model.model_json_schema(mode="validation", ref_template=REF)
        for model in {op.query for op in operations if op.query is not None}
    }
    components["Problem"] = PROBLEM_SCHEMA
    from chalicelib.api import webhook_docs

    webhooks, event_schemas = webhook_docs.section(REF)
    components.update(event_schemas)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, query_schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "openpost API",
            "version": __version__,
            "description": "Schedule and cross-post to social platforms. Every success body is "
            '{"data": ...}; every error is an RFC 9457 problem.',
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "op_test_sk_... or op_live_sk_..."}
            },
        },
        "paths": dict(sorted(paths.items())),
        "webhooks": webhooks,
    }

"""The ``webhooks`` section of the OpenAPI 3.1 document: one entry per event of the catalog."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from chalicelib.domain.events import CATALOG

_SIGNATURE_HEADERS = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "The event's id: the same on every attempt, so repeats can be dropped.",
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
        "description": "When this attempt was signed, in Unix seconds.",
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "Standard Webhooks signatures, space-separated: v1,<base64 HMAC-SHA256 of "
        "'{webhook-id}.{webhook-timestamp}.{body}' keyed with the secret after whsec_>. Two during "
        "the 24 hours after a secret rotation.",
    },
]

_DELIVERY = (
    "Answer 2xx within 10 seconds. Anything else (3xx included: redirects are not followed), a timeout or "
    "a network error is retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, with jitter; "
    "429 and 503 may say when in Retry-After. 410 disables the endpoint at once; an endpoint that fails "
    "every attempt for 5 days is disabled, and webhook.disabled goes to the workspace's other endpoints."
)


def _event_name(event_type: str) -> str:
    return "".join(part.capitalize() for part in event_type.replace("_", ".").split(".")) + "Event"


def section(ref_template: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the webhooks section, the component schemas it refers to)."""
    models = {model for model, _ in CATALOG.values()}
    _, definitions = models_json_schema([(model, "serialization") for model in models], ref_template=ref_template)
    components: dict[str, Any] = dict(definitions.get("$defs", {}))
    webhooks: dict[str, Any] = {}
    for event_type, (model, description) in CATALOG.items():
        name = _event_name(event_type)
        components[name] = {
            "type": "object",
            "required": ["id", "type", "created_at", "mode", "data"],
            "properties": {
                "id": {"type": "string", "description": "Stable: the same happening always has the same id."},
                "type": {"const": event_type},
                "created_at": {"type": "string", "format": "date-time"},
                "mode": {"enum": ["test", "live"]},
                "data": {"$ref": ref_template.format(model=model.__name__)},
            },
        }
        webhooks[event_type] = {
            "post": {
                "operationId": f"webhook_{event_type.replace('.', '_')}",
                "summary": event_type,
                "description": f"{description}\n\n{_DELIVERY}",
                "tags": ["Webhooks"],
                "parameters": _SIGNATURE_HEADERS,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": ref_template.format(model=name)}}},
                },
                "responses": {"2XX": {"description": "Received."}},
                "security": [],
            }
        }
    return webhooks, components

"""The API's description of itself."""

from __future__ import annotations

import functools

from chalicelib.api import openapi
from chalicelib.api.routing import BLUEPRINTS, ApiBlueprint, Call, Reply

blueprint = ApiBlueprint(__name__, tag="Meta")


@functools.lru_cache(maxsize=1)
def document():
    return openapi.build(op for bp in BLUEPRINTS for op in bp.operations)


@blueprint.operation("GET", "/v1/openapi.json", summary="The OpenAPI 3.1 document", auth=False, raw=True)
def get_openapi(call: Call):
    """This API's contract, generated from the models that validate its requests. Public, like any API reference."""
    return Reply(body=document(), raw=True)

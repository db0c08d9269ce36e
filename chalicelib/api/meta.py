"""The API's description of itself."""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib import __version__
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


class Health(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built when first used, as every API model
    status: Literal["ok"] = Field(description="Always ok in a 200; a 503 problem otherwise")
    version: str = Field(description="The API's version", examples=["1.0.0"])
    table: Literal["reachable"] = Field(description="The API read its table")


@blueprint.operation(
    "GET",
    "/v1/health",
    summary="Is the API up",
    auth=False,
    response=Health,
    errors=(503,),
    description="No API key needed, nothing secret: for uptime monitors and start-up checks.",
)
def get_health(call: Call):
    """200 when the API runs and reads its table; 503 (temporarily_unavailable) when the table does not answer."""
    from chalicelib.container import services

    services().workspaces.reachable()
    return Health(status="ok", version=__version__, table="reachable")

"""/v1/api-keys: a key manages the keys of its own workspace and mode."""

from __future__ import annotations

from pydantic import Field

from chalicelib.api.routing import ApiBlueprint, Call, Reply, page_in_memory
from chalicelib.api.schemas import PageQuery, RequestModel, ResponseModel, Timestamp
from chalicelib.container import services
from chalicelib.domain.records import ApiKey
from chalicelib.errors import NotFoundError

blueprint = ApiBlueprint(__name__, tag="API keys")


class CreateApiKey(RequestModel):
    name: str = Field(default="API key", min_length=1, max_length=100, description="A label to recognise the key by.")


class ApiKeyOut(ResponseModel):
    id: str
    name: str
    mode: str = Field(description="test or live: the world this key reaches.")
    redacted: str = Field(description="The key's first and last characters, to recognise it by.")
    created_at: Timestamp
    expires_at: Timestamp | None = Field(description="Set once the key is rotated: it stops working then.")
    replaced_by: str | None = Field(description="The id of the key that replaced this one.")

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            name=key.name,
            mode=key.mode,
            redacted=f"{key.prefix}…{key.last_four}",
            created_at=key.created_at,
            expires_at=key.expires_at,
            replaced_by=key.replaced_by,
        )


class ApiKeyWithSecret(ApiKeyOut):
    secret: str = Field(description="The key itself. Shown only in this response; store it now.")


class RotatedApiKey(ApiKeyWithSecret):
    replaces: ApiKeyOut = Field(description="The rotated key, which keeps working until its expires_at.")


def _still_active(principal, data) -> bool:
    """A replay shows a key's secret only while that key is still there (not revoked)."""
    try:
        services().api_keys.get(principal, data["id"])
    except NotFoundError:
        return False
    return True


@blueprint.operation(
    "POST",
    "/v1/api-keys",
    summary="Create an API key",
    status=201,
    body=CreateApiKey,
    response=ApiKeyWithSecret,
    idempotent=True,
    sensitive=True,
    still_valid=_still_active,
    errors=(400, 409, 422),
)
def create_api_key(call: Call):
    """Creates a key in the caller's workspace and mode. The secret is in this response only."""
    key, secret = services().api_keys.create(call.principal, call.body.name)
    return ApiKeyWithSecret(**ApiKeyOut.of(key).model_dump(), secret=secret)


@blueprint.operation(
    "GET", "/v1/api-keys", summary="List API keys", query=PageQuery, response=ApiKeyOut, paginated=True, errors=(400,)
)
def list_api_keys(call: Call):
    """The keys of the caller's workspace and mode, newest first, secrets redacted."""
    keys = services().api_keys.list(call.principal)
    return page_in_memory(keys, call.query, descending=True, render=ApiKeyOut.of)


@blueprint.operation("DELETE", "/v1/api-keys/{key_id}", summary="Revoke an API key", status=204, errors=(404,))
def delete_api_key(call: Call, key_id: str):
    """Revokes the key at once: the next request with it gets 401."""
    services().api_keys.revoke(call.principal, key_id)
    return Reply(status=204)


@blueprint.operation(
    "POST",
    "/v1/api-keys/{key_id}/rotate",
    summary="Rotate an API key",
    status=201,
    response=RotatedApiKey,
    idempotent=True,
    sensitive=True,
    still_valid=_still_active,
    errors=(404, 409),
)
def rotate_api_key(call: Call, key_id: str):
    """Issues a replacement key. The rotated key keeps working for 24 hours, then gets 401."""
    old, new, secret = services().api_keys.rotate(call.principal, key_id)
    return RotatedApiKey(**ApiKeyOut.of(new).model_dump(), secret=secret, replaces=ApiKeyOut.of(old))

"""/v1/integrations: the connected accounts posts are published to."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from chalicelib.api.routing import ApiBlueprint, Call, Page
from chalicelib.api.schemas import PageQuery, ResponseModel, Timestamp
from chalicelib.container import services
from chalicelib.domain.records import Integration

blueprint = ApiBlueprint(__name__, tag="Integrations")

Platform = Literal["twitter", "bluesky", "mastodon", "discord", "slack", "telegram", "linkedin", "threads",
                   "instagram", "facebook", "tiktok", "youtube"]


class IntegrationOut(ResponseModel):
    id: str
    platform: Platform
    username: str = Field(description="Handle or account identifier on the platform.")
    display_name: str
    status: Literal["active", "needs_refresh", "disconnected"]
    avatar_url: Optional[str]
    sandbox: bool = Field(description="True for test-mode accounts served by the sandbox, which never reach a platform.")
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, item: Integration) -> "IntegrationOut":
        return cls(id=item.id, platform=item.platform, username=item.username, display_name=item.display_name,
                   status=item.status, avatar_url=item.avatar_url, sandbox=item.sandbox,
                   created_at=item.created_at, updated_at=item.updated_at)


class ListIntegrations(PageQuery):
    status: Optional[Literal["active", "needs_refresh", "disconnected"]] = Field(
        default=None, description="Only integrations in this status. Default: active and needs_refresh.")


@blueprint.operation("GET", "/v1/integrations", summary="List integrations", query=ListIntegrations,
                     response=IntegrationOut, paginated=True, errors=(400,))
def list_integrations(call: Call):
    """The workspace's connected accounts in the caller's mode, oldest first."""
    query = call.query
    items = services().integrations.list(call.principal, query.status)
    page = items[query.offset: query.offset + query.limit]
    return Page([IntegrationOut.of(item) for item in page], total=len(items), limit=query.limit, offset=query.offset)


@blueprint.operation("GET", "/v1/integrations/{integration_id}", summary="Get an integration",
                     response=IntegrationOut, errors=(404,))
def get_integration(call: Call, integration_id: str):
    return IntegrationOut.of(services().integrations.get(call.principal, integration_id))

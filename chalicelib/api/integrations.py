"""/v1/integrations: the connected accounts posts are published to."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.api.routing import ApiBlueprint, Call, Reply, page_in_memory
from chalicelib.api.schemas import PageQuery, ResponseModel, Timestamp
from chalicelib.container import services
from chalicelib.domain.platforms import PlatformName
from chalicelib.domain.records import Integration

blueprint = ApiBlueprint(__name__, tag="Integrations")

Platform = PlatformName


class IntegrationOut(ResponseModel):
    id: str
    platform: Platform
    username: str = Field(description="Handle or account identifier on the platform.")
    display_name: str
    status: Literal["active", "needs_refresh", "disconnected"]
    avatar_url: str | None
    sandbox: bool = Field(
        description="True for test-mode accounts served by the sandbox, which never reach a platform."
    )
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, item: Integration) -> IntegrationOut:
        return cls(
            id=item.id,
            platform=item.platform,
            username=item.username,
            display_name=item.display_name,
            status=item.status,
            avatar_url=item.avatar_url,
            sandbox=item.sandbox,
            created_at=item.created_at,
            updated_at=item.updated_at,
        )


class ListIntegrations(PageQuery):
    status: Literal["active", "needs_refresh", "disconnected"] | None = Field(
        default=None, description="Only integrations in this status. Default: active and needs_refresh."
    )


@blueprint.operation(
    "GET",
    "/v1/integrations",
    summary="List integrations",
    query=ListIntegrations,
    response=IntegrationOut,
    paginated=True,
    errors=(400,),
)
def list_integrations(call: Call):
    """The workspace's connected accounts in the caller's mode, oldest first."""
    query = call.query
    items = services().integrations.list(call.principal, query.status)
    return page_in_memory(items, query, descending=False, render=IntegrationOut.of)


@blueprint.operation(
    "GET", "/v1/integrations/{integration_id}", summary="Get an integration", response=IntegrationOut, errors=(404,)
)
def get_integration(call: Call, integration_id: str):
    return IntegrationOut.of(services().integrations.get(call.principal, integration_id))


@blueprint.operation(
    "POST",
    "/v1/integrations/{integration_id}/reconnect",
    summary="Reconnect a sandbox account",
    response=IntegrationOut,
    errors=(404, 422),
)
def reconnect_sandbox(call: Call, integration_id: str):
    """Test mode: a sandbox account that a scripted failure ([sandbox:auth]) left needing a refresh
    becomes active again, as reconnecting does for a live account. A live account reconnects through
    its platform's connect route (422 here)."""
    return IntegrationOut.of(services().integrations.reconnect_sandbox(call.principal, integration_id))


class NextSlotOut(ResponseModel):
    date: Timestamp | None = Field(
        description="The next free slot: a whole hour (HH:00:00Z) strictly after now and at most 7 days ahead, "
        "at least 1 hour from every post planned on this integration. null when every hour in "
        "that window is taken (ask again later, or spread the existing posts)."
    )
    platform: Platform
    integration_id: str
    searched_until: Timestamp = Field(
        description="The end of the window searched (now + 7 days, inclusive); a null date means no free "
        "hour up to this time."
    )


@blueprint.operation(
    "GET",
    "/v1/integrations/{integration_id}/next-slot",
    summary="Next available posting slot",
    response=NextSlotOut,
    errors=(404, 409),
)
def next_slot(call: Call, integration_id: str):
    """The next time a new post could go out on this account without crowding the posts already planned
    there; a lightweight "when would this post go out?" preview before you schedule it.

    The rule: candidates are whole UTC hours (HH:00:00Z) strictly after now, so at 12:00:00 exactly the
    first candidate is 13:00. A candidate is free when every post planned on this integration is at least
    1 hour away from it, before or after; exactly 1 hour apart is free (a post at 13:00 leaves 14:00
    free, a post at 13:30 takes both 13:00 and 14:00). The search covers the next 7 days, the last
    candidate being the last whole hour at or before now + 7 days, inclusive (always 168 candidates).

    Planned posts are the scheduled posts targeting this integration (at their scheduled time) and the
    posts publishing right now (at the moment publishing began). Drafts, published and failed posts do
    not take a slot.

    When every candidate is taken the answer is still 200, with `date: null`: the integration exists and
    the question has an answer, "nothing free this week", which is not an error to handle. 404 for an
    unknown integration (or one of another workspace or mode); 409 `integration_not_active` when the
    integration is disconnected or needs a refresh, since no post can be scheduled on it until it is
    reconnected."""
    found = services().slots.next_slot(call.principal, integration_id)
    return NextSlotOut(
        date=found.date,
        platform=found.integration.platform,
        integration_id=found.integration.id,
        searched_until=found.searched_until,
    )


@blueprint.operation(
    "DELETE", "/v1/integrations/{integration_id}", summary="Disconnect an integration", status=204, errors=(404,)
)
def disconnect_integration(call: Call, integration_id: str):
    """Marks the integration disconnected and erases its credentials; an `integration.disconnected`
    event follows. Scheduled posts on it fail at their time unless it is reconnected before."""
    services().integrations.disconnect(call.principal, integration_id)
    return Reply(status=204)

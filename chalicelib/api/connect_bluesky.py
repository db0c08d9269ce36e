"""Connecting a Bluesky account: with an app password, not OAuth.

``GET /v1/integrations/bluesky/connect`` says so (the connect route of the OAuth platforms answers
a consent URL there); ``POST`` takes the handle and the app password, logs in to the account's
server (createSession) and connects the account. The app password and the session are sealed with
the tokens key; the session is what posts are published with, refreshed as it ages, and the app
password is kept to log in again when the session is gone.
"""
from __future__ import annotations

from typing import List, Literal, Optional

from pydantic import Field

from chalicelib.api.connect_accounts import _live_only, _platform_errors, _user_url
from chalicelib.api.integrations import IntegrationOut
from chalicelib.api.routing import ApiBlueprint, Call
from chalicelib.api.schemas import RequestModel, ResponseModel
from chalicelib.container import services
from chalicelib.errors import ValidationError

blueprint = ApiBlueprint(__name__, tag="Integrations")

PATH = "/v1/integrations/bluesky/connect"


class ConnectBluesky(RequestModel):
    identifier: str = Field(min_length=1, max_length=253, examples=["you.bsky.social"],
                            description="The account's handle (or its DID, or its email address).")
    password: str = Field(min_length=1, max_length=200, examples=["xxxx-xxxx-xxxx-xxxx"],
                          description="An app password (Settings > Privacy and security > App passwords). "
                                      "The account's own password is refused.")
    service: Optional[str] = Field(default=None, max_length=300, examples=["https://bsky.social"],
                                   description="The account's server (PDS), for accounts hosted elsewhere "
                                               "than this deployment's default; https only.")


class CredentialField(ResponseModel):
    name: str
    required: bool
    description: str


class CredentialInstructions(ResponseModel):
    auth_type: Literal["credentials"]
    method: Literal["POST"]
    url: str = Field(description="Where to send the credentials.")
    fields: List[CredentialField]
    instructions: str


@blueprint.operation("GET", PATH, summary="How to connect a Bluesky account", response=CredentialInstructions,
                     errors=(422,))
def bluesky_instructions(call: Call):
    """Bluesky has no OAuth flow here: this answers what to send to `POST` instead."""
    _live_only(call)
    fields = [CredentialField(name=name, required=info.is_required(), description=info.description or "")
              for name, info in ConnectBluesky.model_fields.items()]
    return CredentialInstructions(
        auth_type="credentials", method="POST", url=PATH, fields=fields,
        instructions="Create an app password in the Bluesky app (Settings > Privacy and security > App "
                     "passwords), then POST your handle as `identifier` and the app password as `password`.")


@blueprint.operation("POST", PATH, summary="Connect a Bluesky account", status=201, body=ConnectBluesky,
                     response=IntegrationOut, errors=(400, 422, 503))
def connect_bluesky(call: Call):
    """Logs in to the account's server with the app password. Refused credentials are a 422
    `invalid_credentials` (nothing is stored); a server that cannot be reached, a 503. Connecting
    an account that was connected before brings back the same integration with the new password."""
    _live_only(call)
    body: ConnectBluesky = call.body
    settings = services().settings
    service = _user_url(body.service.strip(), "service") if body.service else settings.bluesky_service_url
    service = service.rstrip("/")

    from chalicelib.platforms import bluesky   # atproto is heavy: loaded by this route only

    with _platform_errors("Bluesky"):
        account = bluesky.log_in(service, body.identifier.strip().lstrip("@"), body.password)
    if not account.app_password:
        raise ValidationError("This is the account's own password. Create an app password in the Bluesky app "
                              "(Settings > Privacy and security > App passwords) and connect with it instead.",
                              code="app_password_required",
                              errors=[{"field": "password", "message": "Use an app password."}])
    integration = services().integrations.connect(
        call.principal, "bluesky", account_id=account.did, username=account.handle,
        display_name=account.display_name,
        # The DID, not the handle: it still logs in after the user changes handle.
        credentials={"identifier": account.did, "app_password": body.password, "session": account.session,
                     "service": service},
        profile={"service": service, "did": account.did})
    return IntegrationOut.of(integration)

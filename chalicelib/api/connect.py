"""Connecting accounts: one blueprint for every platform, handing each request to the platform.

Each platform that takes credentials declares how (``connect`` of its descriptor,
chalicelib/platforms/<name>/): the request body, and the call that checks the credentials with the
platform itself before anything is stored. This blueprint gives each one
``POST /v1/integrations/{platform}/connect`` (and a ``GET`` saying what to send, where the
platform declares instructions), calls the platform's check, and stores what it vouched for as the
integration. Each route is a literal path, so the OpenAPI document shows each platform's own body,
and no platform's route competes with another's.

An account that cannot be used is refused here (422 ``invalid_credentials``), not discovered when
its first post fails; the secrets are sealed with the tokens key and never shown again.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, List, Literal

from pydantic import Field

from chalicelib.api.integrations import IntegrationOut
from chalicelib.api.routing import ApiBlueprint, Call
from chalicelib.api.schemas import ResponseModel
from chalicelib.container import services
from chalicelib.errors import ServiceUnavailableError, ValidationError
from chalicelib.platforms import registry
from chalicelib.platforms.descriptor import PlatformDescriptor

blueprint = ApiBlueprint(__name__, tag="Integrations")

ERRORS = (400, 422, 503)


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


def connect_path(platform: str) -> str:
    return f"/v1/integrations/{platform}/connect"


def live_only(call: Call) -> None:
    # Before any call to a platform: a test key never reaches one.
    if call.principal.mode != "live":
        raise ValidationError("Connect accounts with a live key: test mode publishes to sandbox accounts only "
                              "and never reaches a platform.", code="live_mode_required")


@contextlib.contextmanager
def platform_errors(platform: str) -> Iterator[None]:
    """What the platform said, as the API's answer: refused credentials are the caller's to fix
    (422); a platform that cannot be reached now is worth trying again (503)."""
    # The engine's error kinds are loaded by a connect request only: Lambda's init never needs them.
    from chalicelib.platforms.base import AuthenticationFailedError, PermanentError, TransientError

    try:
        yield
    except (AuthenticationFailedError, PermanentError) as error:
        raise ValidationError(f"{platform} refused these credentials: {error.message}",
                              code="invalid_credentials") from None
    except TransientError as error:
        unavailable = ServiceUnavailableError(f"{platform} could not be reached to check the credentials "
                                              f"({error.message}); try again.",
                                              retry_after=max(2, int(error.retry_after or 2)))
        unavailable.code = "platform_unavailable"
        raise unavailable from None
    except (KeyError, TypeError, ValueError) as error:
        unavailable = ServiceUnavailableError(f"{platform} answered in an unexpected shape ({error!r}); try again.")
        unavailable.code = "platform_unavailable"
        raise unavailable from None


def _credentials_routes(declared: PlatformDescriptor) -> None:
    """``POST`` (and, where declared, ``GET``) /v1/integrations/{platform}/connect."""
    connect, path = declared.connect, connect_path(declared.name)

    def handler(call: Call):
        from chalicelib.platforms.connecting import ConnectContext

        live_only(call)
        check = registry.load(connect.check)
        with platform_errors(declared.title):
            account = check(call.body, ConnectContext(services().settings))
        integration = services().integrations.connect(
            call.principal, declared.name, account_id=account.account_id, username=account.username,
            display_name=account.display_name, credentials=account.credentials, profile=account.profile,
            avatar_url=account.avatar_url)
        return IntegrationOut.of(integration)

    handler.__name__ = f"connect_{declared.name}"   # the operationId
    blueprint.operation("POST", path, summary=connect.summary, status=201, body=connect.body,
                        response=IntegrationOut, errors=ERRORS, description=connect.description)(handler)
    if connect.instructions:
        def instructions(call: Call):
            live_only(call)
            fields = [CredentialField(name=name, required=info.is_required(), description=info.description or "")
                      for name, info in connect.body.model_fields.items()]
            return CredentialInstructions(auth_type="credentials", method="POST", url=path, fields=fields,
                                          instructions=connect.instructions)

        instructions.__name__ = f"{declared.name}_instructions"
        blueprint.operation("GET", path, summary=f"How to connect a {declared.title} account",
                            response=CredentialInstructions, errors=(422,),
                            description=f"{declared.title} has no OAuth flow here: this answers what to send to "
                                        "`POST` instead.")(instructions)


for _declared in registry.descriptors():
    if _declared.connect is not None and _declared.connect.kind == "credentials":
        _credentials_routes(_declared)

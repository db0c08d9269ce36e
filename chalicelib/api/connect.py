"""Connecting accounts: one blueprint for every platform, handing each request to the platform.

Each platform that takes credentials declares how (``connect`` of its descriptor,
chalicelib/platforms/<name>/): the request body, and the call that checks the credentials with the
platform itself before anything is stored. This blueprint gives each one
``POST /v1/integrations/{platform}/connect`` (and a ``GET`` saying what to send, where the
platform declares instructions), calls the platform's check, and stores what it vouched for as the
integration. OAuth platforms (X) get ``GET`` for the consent screen's URL and their callback, with
the flow itself (state, PKCE, the pending connection, the page a browser is shown) run here once for
all of them. Each route is a literal path, so the OpenAPI document shows each platform's own body,
and no platform's route competes with another's.

An account that cannot be used is refused here (422 ``invalid_credentials``), not discovered when
its first post fails; the secrets are sealed with the tokens key and never shown again.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
from collections.abc import Iterator
from typing import Literal

from pydantic import ConfigDict, Field

from chalicelib.api.integrations import IntegrationOut
from chalicelib.api.routing import ApiBlueprint, Call
from chalicelib.api.schemas import RequestModel, ResponseModel
from chalicelib.container import services
from chalicelib.errors import (
    BadRequestError,
    GrantRejectedError,
    OpenpostError,
    PermanentError,
    PlatformNotConfiguredError,
    ServiceUnavailableError,
    TransientError,
    ValidationError,
)
from chalicelib.observability import logger
from chalicelib.platforms import registry
from chalicelib.platforms.descriptor import PlatformDescriptor

blueprint = ApiBlueprint(__name__, tag="Integrations")

ERRORS = (400, 409, 422, 503)  # 409: the account changed while it was being connected
UNAVAILABLE = "platform_unavailable"  # a 503, as the engine's TransientError


class CredentialField(ResponseModel):
    name: str
    required: bool
    description: str


class CredentialInstructions(ResponseModel):
    auth_type: Literal["credentials"]
    method: Literal["POST"]
    url: str = Field(description="Where to send the credentials.")
    fields: list[CredentialField]
    instructions: str


def connect_path(platform: str) -> str:
    return f"/v1/integrations/{platform}/connect"


def live_only(call: Call) -> None:
    # Before any call to a platform: a test key never reaches one.
    if call.principal.mode != "live":
        raise ValidationError(
            "Connect accounts with a live key: test mode publishes to sandbox accounts only "
            "and never reaches a platform.",
            code="live_mode_required",
        )


@contextlib.contextmanager
def platform_errors(platform: str) -> Iterator[None]:
    """What the platform said, as the API's answer: refused credentials are the caller's to fix
    (422); a platform that cannot be reached now is worth trying again (503)."""
    try:
        yield
    except PermanentError as error:
        raise ValidationError(
            f"{platform} refused these credentials: {error.message}", code="invalid_credentials"
        ) from None
    except TransientError as error:
        raise ServiceUnavailableError(
            f"{platform} could not be reached to check the credentials ({error.message}); try again.",
            retry_after=max(2, int(error.retry_after or 2)),
            code=UNAVAILABLE,
        ) from None
    except (KeyError, TypeError, ValueError) as error:
        raise ServiceUnavailableError(
            f"{platform} answered in an unexpected shape ({error!r}); try again.", code=UNAVAILABLE
        ) from None


def _credentials_routes(declared: PlatformDescriptor) -> None:
    """``POST`` (and, where declared, ``GET``) /v1/integrations/{platform}/connect."""
    connect, path = declared.connect, connect_path(declared.name)

    def handler(call: Call):
        live_only(call)
        check = registry.load(connect.check)
        with platform_errors(declared.title):
            account = check(call.body, _context())
        integration = services().integrations.connect(
            call.principal,
            declared.name,
            account_id=account.account_id,
            username=account.username,
            display_name=account.display_name,
            credentials=account.credentials,
            profile=account.profile,
            avatar_url=account.avatar_url,
        )
        return IntegrationOut.of(integration)

    handler.__name__ = f"connect_{declared.name}"  # the operationId
    blueprint.operation(
        "POST",
        path,
        summary=connect.summary,
        status=201,
        body=connect.body,
        response=IntegrationOut,
        errors=ERRORS,
        description=connect.description,
    )(handler)
    if connect.instructions:

        def instructions(call: Call):
            live_only(call)
            fields = [
                CredentialField(name=name, required=info.is_required(), description=info.description or "")
                for name, info in connect.body.model_fields.items()
            ]
            return CredentialInstructions(
                auth_type="credentials", method="POST", url=path, fields=fields, instructions=connect.instructions
            )

        instructions.__name__ = f"{declared.name}_instructions"
        blueprint.operation(
            "GET",
            path,
            summary=f"How to connect a {declared.title} account",
            response=CredentialInstructions,
            errors=(422,),
            description=f"{declared.title} has no OAuth flow here: this answers what to send to `POST` instead.",
        )(instructions)


# --- OAuth 2.0 with PKCE -------------------------------------------------------------------------
PENDING_SECONDS = 10 * 60


class ConnectOut(ResponseModel):
    auth_type: Literal["oauth"]
    url: str = Field(description="The platform's consent screen: send the user's browser here.")
    state: str = Field(description="Identifies this connection attempt; the platform hands it back to the callback.")
    code_verifier: str = Field(description="The PKCE verifier whose S256 challenge is in the URL.")
    redirect_uri: str = Field(description="Where the platform sends the browser back to; register it in the app.")


class CallbackQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")  # platforms may add parameters; only these matter
    state: str = Field(default="", max_length=500)
    code: str | None = Field(default=None, max_length=2048)
    error: str | None = Field(default=None, max_length=200, description="Set by the platform when the user declined.")


def new_verifier() -> str:
    """RFC 7636: 43 to 128 unreserved characters; 64 random URL-safe ones here."""
    return secrets.token_urlsafe(48)


def challenge_of(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def _pending(platform: str):
    from chalicelib.data.oauth_states import PendingConnects

    return PendingConnects(services().secret_box, services().clock, platform, PENDING_SECONDS)


def _app(declared: PlatformDescriptor) -> dict:
    """The platform app's credentials from the deployment's secret; a clear 503 while it has none."""
    app = services().app_secrets.credentials(declared.name)
    if app is None:
        names = " and ".join(declared.app_credentials)
        raise PlatformNotConfiguredError(
            f"This deployment has no {declared.title} app configured: its operator "
            f"puts the {declared.title} app's {names} in the deployment's "
            f"{declared.title} app secret."
        )
    return app


def _context():
    from chalicelib.platforms.connecting import ConnectContext

    return ConnectContext(services().settings, services().deployment)


def _oauth_routes(declared: PlatformDescriptor) -> None:
    """``GET`` /v1/integrations/{platform}/connect (the consent URL) and the platform's callback."""
    connect, title = declared.connect, declared.title

    def redirect_uri() -> str:
        return services().settings.public_base_url.rstrip("/") + connect.callback_path

    def start(call: Call):
        live_only(call)
        app = _app(declared)
        state, verifier, callback = secrets.token_urlsafe(32), new_verifier(), redirect_uri()
        _pending(declared.name).start(call.principal, state, verifier)
        url = registry.load(connect.consent)(_context(), app, state, challenge_of(verifier), callback)
        return ConnectOut(auth_type="oauth", url=url, state=state, code_verifier=verifier, redirect_uri=callback)

    def finish(call: Call) -> IntegrationOut:
        query = call.query
        again = f"start connecting the {title} account again"
        pending = _pending(declared.name).take(query.state)
        if pending is None:
            raise BadRequestError(
                f"This connection attempt is unknown, already used or expired; {again}.", code="oauth_state_invalid"
            )
        principal, verifier = pending
        if query.error or not query.code:
            raise BadRequestError(f"{title} did not authorize the connection; {again}.", code="oauth_declined")
        _app(declared)  # an app removed since the connection started is said plainly, not as a refusal
        try:
            account = registry.load(connect.finish)(query.code, verifier, redirect_uri(), _context())
        except GrantRejectedError:
            raise BadRequestError(
                f"{title} refused the authorization code (used or expired); {again}.", code="oauth_code_invalid"
            ) from None
        except TransientError:
            raise ServiceUnavailableError(f"{title} did not answer; {again}.", code=UNAVAILABLE) from None
        except Exception:  # noqa: BLE001 - the platform answered something unexpected: say so, never leak it
            logger.exception("oauth connect failed", extra={"platform": declared.name})
            raise ServiceUnavailableError(f"{title} answered unexpectedly; {again}.", code=UNAVAILABLE) from None
        integration = services().integrations.connect(
            principal,
            declared.name,
            account.account_id,
            account.username,
            account.display_name,
            credentials=account.credentials,
            profile=account.profile,
            avatar_url=account.avatar_url,
        )
        logger.info(
            "account connected",
            extra={"platform": declared.name, "integration_id": integration.id, "workspace_id": principal.workspace_id},
        )
        return IntegrationOut.of(integration)

    def callback(call: Call):
        from chalicelib.api import pages

        if pages.wants_json(call.headers):
            return finish(call)
        try:
            integration = finish(call)
        except OpenpostError as error:
            if error.status >= 500:
                logger.warning("oauth connect failed", extra={"platform": declared.name, "code": error.code})
            return pages.page(error.status, f"Your {title} account was not connected", error.detail, error.code)
        return pages.page(
            200,
            f"Your {title} account is connected",
            f"{connect.handle_prefix}{integration.username} ({integration.display_name}) is connected "
            "to openpost. You can close this window.",
        )

    start.__name__ = f"connect_{declared.name}"  # the operationIds
    callback.__name__ = f"{declared.name}_callback"
    blueprint.operation(
        "GET",
        connect_path(declared.name),
        summary=connect.summary,
        response=ConnectOut,
        errors=(422, 503),
        description=connect.description,
    )(start)
    blueprint.operation(
        "GET",
        connect.callback_path,
        summary=connect.callback_summary,
        query=CallbackQuery,
        response=IntegrationOut,
        auth=False,
        errors=(400, 409, 422, 503),
        description=connect.callback_description,
        pages=True,
    )(callback)


for _declared in registry.descriptors():
    if _declared.connect is not None and _declared.connect.kind == "oauth":
        _oauth_routes(_declared)
    elif _declared.connect is not None:
        _credentials_routes(_declared)

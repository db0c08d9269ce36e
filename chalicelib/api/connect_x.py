"""Connecting an X account: OAuth 2.0 authorization code flow with PKCE.

1. ``GET /v1/integrations/twitter/connect`` (a live key) answers the URL of X's consent screen, with
   a fresh ``state`` and PKCE ``code_verifier`` (its S256 hash is in the URL as ``code_challenge``).
   The pending connection (which workspace asked, and the verifier) is kept server-side for
   10 minutes, keyed by a hash of the state.
2. The user approves on X, and X sends the browser to ``GET /api/platforms/twitter/callback`` with
   the state and a code. That route is public (X's redirect carries no API key): the state alone
   says which workspace it is for, and works once. The code is exchanged for tokens with the
   verifier, the account is read from ``/2/users/me``, and the integration is created, or brought
   back with the new tokens if the account was connected before.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Literal, Optional
from urllib.parse import urlencode

from pydantic import ConfigDict, Field

from chalicelib.api.integrations import IntegrationOut
from chalicelib.api.routing import ApiBlueprint, Call
from chalicelib.api.schemas import RequestModel, ResponseModel
from chalicelib.container import services
from chalicelib.errors import BadRequestError, OpenpostError, ValidationError
from chalicelib.observability import logger

blueprint = ApiBlueprint(__name__, tag="Integrations")

CALLBACK_PATH = "/api/platforms/twitter/callback"
PENDING_SECONDS = 10 * 60


def _pending():
    from chalicelib.data.oauth_states import PendingConnects

    return PendingConnects(services().secret_box, services().clock, "twitter", PENDING_SECONDS)


class PlatformNotConfiguredError(OpenpostError):
    status = 503
    code = "platform_not_configured"
    title = "Platform not configured"


class PlatformUnavailableError(OpenpostError):
    status = 502
    code = "platform_unavailable"
    title = "Bad gateway"


# --- PKCE (RFC 7636) --------------------------------------------------------------------------------
def new_verifier() -> str:
    """43 to 128 unreserved characters; 64 random URL-safe ones here."""
    return secrets.token_urlsafe(48)


def challenge_of(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def x_app() -> dict:
    """The X app's client id and secret from the deployment's secret; a clear 503 while it has none."""
    app = services().app_secrets.credentials("twitter")
    if app is None:
        raise PlatformNotConfiguredError("This deployment has no X app configured: its operator puts the X app's "
                                         "client_id and client_secret in the deployment's X app secret.")
    return app


def redirect_uri() -> str:
    return services().settings.public_base_url.rstrip("/") + CALLBACK_PATH


# --- pending connections ------------------------------------------------------------------------
# --- the routes -------------------------------------------------------------------------------------
class ConnectOut(ResponseModel):
    auth_type: Literal["oauth"]
    url: str = Field(description="X's consent screen: send the user's browser here.")
    state: str = Field(description="Identifies this connection attempt; X hands it back to the callback.")
    code_verifier: str = Field(description="The PKCE verifier whose S256 challenge is in the URL.")
    redirect_uri: str = Field(description="Where X sends the browser back to; register it in the X app.")


@blueprint.operation("GET", "/v1/integrations/twitter/connect", summary="Start connecting an X account",
                     response=ConnectOut, errors=(422, 503))
def connect_twitter(call: Call):
    """Starts the OAuth 2.0 (PKCE) flow that connects an X account to the workspace, in live mode.
    Open `url` in the user's browser; after they approve, X sends them to `redirect_uri`, which
    finishes the connection. The attempt expires after 10 minutes and works once."""
    if call.principal.mode != "live":
        raise ValidationError("Connect accounts with a live key: test mode publishes to sandbox accounts only "
                              "and never reaches a platform.", code="live_mode_required")
    settings = services().settings
    app = x_app()
    from chalicelib.platforms.twitter import SCOPES   # what the adapter needs, media upload included

    state, verifier, callback = secrets.token_urlsafe(32), new_verifier(), redirect_uri()
    _pending().start(call.principal, state, verifier)
    query = urlencode({"response_type": "code", "client_id": app["client_id"], "redirect_uri": callback,
                       "scope": SCOPES, "state": state,
                       "code_challenge": challenge_of(verifier), "code_challenge_method": "S256"})
    return ConnectOut(auth_type="oauth", url=f"{settings.x_authorize_url}?{query}", state=state,
                      code_verifier=verifier, redirect_uri=callback)


class CallbackQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")   # X may add parameters; only these matter
    state: str = Field(default="", max_length=500)
    code: Optional[str] = Field(default=None, max_length=2048)
    error: Optional[str] = Field(default=None, max_length=200, description="Set by X when the user declined.")


@blueprint.operation("GET", CALLBACK_PATH, summary="Finish connecting an X account", query=CallbackQuery,
                     response=IntegrationOut, auth=False, errors=(400, 422, 502, 503))
def twitter_callback(call: Call):
    """Where X sends the user's browser after the consent screen. Exchanges the code for the
    account's tokens and creates the integration (or reconnects the existing one, keeping its id).
    400 when the state is unknown, used or expired, or the user declined. A browser gets a small
    HTML page saying what happened; a client that sends `Accept: application/json` gets the
    integration (or the problem) as JSON."""
    from chalicelib.api import pages

    if pages.wants_json(call.headers):
        return _finish_connecting(call)
    try:
        integration = _finish_connecting(call)
    except OpenpostError as error:
        if error.status >= 500:
            logger.warning("x connect failed", extra={"code": error.code})
        return pages.page(error.status, "Your X account was not connected", error.detail, error.code)
    return pages.page(200, "Your X account is connected",
                      f"@{integration.username} ({integration.display_name}) is connected to openpost. You can close "
                      "this window.")


def _finish_connecting(call: Call) -> IntegrationOut:
    from chalicelib.platforms.base import TransientError
    from chalicelib.platforms.twitter import XClient, XGrantRejected

    query = call.query
    pending = _pending().take(query.state)
    if pending is None:
        raise BadRequestError("This connection attempt is unknown, already used or expired; start connecting "
                              "the X account again.", code="oauth_state_invalid")
    principal, verifier = pending
    if query.error or not query.code:
        raise BadRequestError("X did not authorize the connection; start connecting the X account again.",
                              code="oauth_declined")
    x_app()   # an X app removed since the connection started is said plainly, not as X's refusal
    client = XClient.for_deployment(services().deployment)
    try:
        tokens = client.exchange_code(query.code, verifier, redirect_uri())
        account = client.me(tokens["access_token"])
    except XGrantRejected:
        raise BadRequestError("X refused the authorization code (used or expired); start connecting the X "
                              "account again.", code="oauth_code_invalid") from None
    except TransientError:
        raise PlatformUnavailableError("X did not answer; start connecting the X account again.") from None
    except Exception:   # noqa: BLE001 - X answered something unexpected: say so, never leak it
        logger.exception("x connect failed")
        raise PlatformUnavailableError("X answered unexpectedly; start connecting the X account again.") from None
    integration = services().integrations.connect(
        principal, "twitter", account["id"], account["username"], account.get("name") or account["username"],
        credentials=tokens, profile={})
    logger.info("x account connected", extra={"integration_id": integration.id,
                                              "workspace_id": principal.workspace_id})
    return IntegrationOut.of(integration)

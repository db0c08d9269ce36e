"""Connecting an X account: OAuth 2.0 authorization code flow with PKCE, on openpost's X app.

The API's connect blueprint runs the flow (state, verifier, the pending connection, the callback's
page); X's part is the consent screen's URL and the exchange of the code for the account's tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from chalicelib.platforms.connecting import ConnectContext, ConnectedAccount


def consent(context: ConnectContext, app: Mapping[str, str], state: str, challenge: str, redirect_uri: str) -> str:
    """X's consent screen for this connection attempt, asking for what the adapter needs (media
    upload included)."""
    from chalicelib.platforms.twitter.adapter import SCOPES

    query = urlencode(
        {
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{context.settings.x_authorize_url}?{query}"


def finish(code: str, verifier: str, redirect_uri: str, context: ConnectContext) -> ConnectedAccount:
    """The account behind an authorization code: its tokens, and who it is (``/2/users/me``)."""
    from chalicelib.platforms.twitter.adapter import XClient

    client = XClient.for_deployment(context.deployment)
    tokens = client.exchange_code(code, verifier, redirect_uri)  # GrantRejectedError for a refused code
    account = client.me(tokens["access_token"])
    return ConnectedAccount(
        account_id=account["id"],
        username=account["username"],
        display_name=account.get("name") or account["username"],
        credentials=tokens,
    )

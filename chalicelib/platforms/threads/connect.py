"""Connecting a Threads account: Meta's OAuth 2.0 authorization code flow, on openpost's Threads app.

The API's connect blueprint runs the flow (state, the pending connection, the callback's page);
Threads' part is the Authorization Window's URL and turning the code into a long-lived token: the
code gives a short-lived token (1 hour), exchanged at once for a long-lived one (60 days,
``th_exchange_token``) so the account stays connected. Threads' authorization takes no PKCE
challenge: the state alone ties the callback to the attempt, and the app secret authenticates the
exchange.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from chalicelib.platforms.connecting import ConnectContext, ConnectedAccount


def consent(context: ConnectContext, app: Mapping[str, str], state: str, challenge: str, redirect_uri: str) -> str:
    """The Authorization Window, asking for what publishing needs (threads_basic,
    threads_content_publish). "All parameters except state are required."""
    from chalicelib.platforms.threads.adapter import SCOPES, authorize_url

    query = urlencode(
        {
            "client_id": app["client_id"],
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "response_type": "code",
            "state": state,
        }
    )
    return f"{authorize_url(context.settings)}?{query}"


def finish(code: str, verifier: str, redirect_uri: str, context: ConnectContext) -> ConnectedAccount:
    """The account behind an authorization code: its long-lived token, and who it is (``/me``)."""
    from chalicelib.platforms.threads.adapter import ThreadsClient

    client = ThreadsClient.for_deployment(context.deployment)
    tokens = client.exchange_code(code, redirect_uri)  # GrantRejectedError for a refused code
    account = client.me(tokens["access_token"])
    return ConnectedAccount(
        account_id=str(account["id"]),
        username=account["username"],
        display_name=account.get("name") or account["username"],
        credentials=tokens,
        avatar_url=account.get("threads_profile_picture_url"),
    )

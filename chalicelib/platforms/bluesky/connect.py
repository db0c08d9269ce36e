"""Connecting a Bluesky account: with an app password, not OAuth.

Logs in to the account's server (createSession). The app password and the session are sealed with
the tokens key; the session is what posts are published with, refreshed as it ages, and the app
password is kept to log in again when the session is gone. The account's own password is refused.
"""

from __future__ import annotations

from chalicelib.errors import ValidationError
from chalicelib.platforms.connecting import ConnectContext, ConnectedAccount


def check(body, context: ConnectContext) -> ConnectedAccount:
    service = (
        context.user_url(body.service.strip(), "service") if body.service else context.settings.bluesky_service_url
    )
    service = service.rstrip("/")

    from chalicelib.platforms.bluesky import adapter  # atproto is heavy: loaded by connecting only

    account = adapter.log_in(service, body.identifier.strip().lstrip("@"), body.password)
    if not account.app_password:
        raise ValidationError(
            "This is the account's own password. Create an app password in the Bluesky app "
            "(Settings > Privacy and security > App passwords) and connect with it instead.",
            code="app_password_required",
            errors=[{"field": "password", "message": "Use an app password."}],
        )
    return ConnectedAccount(
        account_id=account.did,
        username=account.handle,
        display_name=account.display_name,
        # The DID, not the handle: it still logs in after the user changes handle.
        credentials={
            "identifier": account.did,
            "app_password": body.password,
            "session": account.session,
            "service": service,
        },
        profile={"service": service, "did": account.did},
    )

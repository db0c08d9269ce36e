"""What connecting an account needs, whatever the platform: the context a platform's connect call
gets, what it answers, and the checks every such call shares.

A platform's ``connect`` module checks the credentials a user brings with the platform itself and
answers a ``ConnectedAccount``; the API's one connect blueprint (chalicelib/api/connect.py) stores
it as an integration. Platform errors (base.py) raised here become the API's answers there: refused
credentials a 422, a platform that cannot be reached a 503.

URLs a user gives us (a Mastodon instance, a Discord webhook, a PDS) are where we will send their
secret: they must be HTTPS and resolve to public addresses, or to loopback when the deployment
allows it for local development (``allow_loopback_platforms``).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from chalicelib.errors import ValidationError


@dataclass(frozen=True)
class ConnectedAccount:
    """An account the platform vouched for. ``account_id`` is stable on the platform (a reconnect of
    the same account finds its integration by it); ``credentials`` are sealed and never shown."""

    account_id: str
    username: str
    display_name: str
    credentials: dict[str, Any]
    profile: dict[str, Any] = field(default_factory=dict)
    avatar_url: str | None = None


@dataclass(frozen=True)
class ConnectContext:
    """What the deployment gives a connect call: its settings (where each platform's API is, whether
    loopback URLs are allowed), and the ``Deployment`` adapters are built with (the HTTP session,
    and for OAuth platforms the app's credentials)."""

    settings: Any
    deployment: Any = None

    @property
    def session(self):
        """The HTTP session the deployment's adapters share (a requests.Session)."""
        return self.deployment.session

    def user_url(self, url: str, field_name: str) -> str:
        """``url`` if we may send a user's secret there: HTTPS to a public address (or, where
        allowed, anything on loopback). Checked by resolving the name, so a public-looking name
        that points inside the network is refused too."""

        def refuse(message: str) -> ValidationError:
            return ValidationError(
                f"{field_name} cannot be used: {message}",
                code="invalid_url",
                errors=[{"field": field_name, "message": message}],
            )

        parts = urlsplit(url)
        host = parts.hostname
        if not host or parts.username or parts.password:
            raise refuse("it needs a host name, and no user or password.")
        try:
            port = parts.port
        except ValueError:
            raise refuse("its port is not a number from 1 to 65535.") from None
        allow_loopback = self.settings.allow_loopback_platforms
        if is_loopback_host(host) and allow_loopback:
            if parts.scheme not in ("http", "https"):
                raise refuse("it must be an http(s) URL.")
            return url
        if parts.scheme != "https":
            raise refuse("it must be an https URL.")
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)}
        except (socket.gaierror, UnicodeError):
            raise refuse(f"{host} could not be found.") from None
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global and not (allow_loopback and ip.is_loopback):
                raise refuse(f"{host} is not a public address.")
        return url

    def allows_loopback(self, host: str | None) -> bool:
        return bool(self.settings.allow_loopback_platforms) and is_loopback_host(host)


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refused(code: str, field_name: str, detail: str) -> ValidationError:
    """A 422 naming the field to fix: what users trip on (a bot not in the chat), said plainly."""
    return ValidationError(detail, code=code, errors=[{"field": field_name, "message": detail}])


def get_json(platform: str, url: str, headers: dict[str, str] | None = None, *, session) -> dict[str, Any]:
    """A JSON object the platform answers a GET with; its refusal as the engine's error kinds."""
    from chalicelib.platforms import http  # requests costs ~0.1 s: only connecting pays for it

    response = http.call("GET", url, session=session, platform=platform, idempotent=True, headers=headers or {})
    answer = http.json_body(response)
    if response.status_code >= 400:
        body = answer if isinstance(answer, dict) else {}
        message = str(body.get("error") or body.get("message") or "")
        http.raise_for_answer(platform, response.status_code, message, wait=http.retry_after(response.headers))
    if not isinstance(answer, dict):
        http.raise_for_answer(platform, 502, "an answer that could not be read")
    return answer

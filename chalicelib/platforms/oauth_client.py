"""What every client of a platform's API reached with an OAuth access token shares: how it is built
for a deployment, the platform app's credentials read at each token call, and one way to make a
call whose failure says whether the platform may have acted.

A platform's client subclasses ``OAuthClient``, names its descriptor (``platform``) and says where
its API is for a deployment (``api_url_for``); it keeps its own calls and its own reading of answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import requests

from chalicelib.clock import Clock, SystemClock
from chalicelib.platforms.base import OutcomeUnknownError, PermanentError, TransientError

if TYPE_CHECKING:
    from chalicelib.platforms.base import Deployment
    from chalicelib.platforms.descriptor import PlatformDescriptor
    from chalicelib.settings import Settings

# (connect, read) seconds. Connecting is quick or hopeless; a platform can take a few seconds to
# create a post. Both stay well under the publisher's Lambda timeout, so a slow call ends as an
# error we classify rather than as a killed worker.
TIMEOUTS: tuple[float, float] = (3.05, 15.0)


class OAuthClient:
    platform: ClassVar[PlatformDescriptor]
    default_timeouts: ClassVar[tuple[float, float]] = TIMEOUTS
    # Extra options of every request (a client that must never follow a redirect says so here).
    request_options: ClassVar[Mapping[str, Any]] = {}

    def __init__(
        self,
        api_url: str,
        app: Callable[..., Mapping[str, str] | None],
        timeouts: tuple[float, float] | None = None,
        session: requests.Session | None = None,
        clock: Clock | None = None,
    ):
        self._api_url = api_url.rstrip("/")
        # The platform app's client id and secret (or None while the deployment has none), asked for
        # at each token call, never held: a rotated secret is picked up. ``app(fresh=True)`` skips
        # any cache.
        self._app = app
        self._timeouts = timeouts or self.default_timeouts
        self._session = session or requests.Session()
        self._clock = clock or SystemClock()  # token expiry and rate-limit resets: the wall clock

    @classmethod
    def api_url_for(cls, settings: Settings) -> str:
        raise NotImplementedError

    @classmethod
    def for_deployment(cls, deployment: Deployment):
        """A client on the deployment's API of the platform, with its platform app's credentials."""
        return cls(
            cls.api_url_for(deployment.settings),
            lambda fresh=False: deployment.app_credentials(cls.platform.name, fresh=fresh),
            session=deployment.session,
            clock=deployment.clock,
        )

    def _app_credentials(self, fresh: bool = False) -> Mapping[str, str]:
        from chalicelib.errors import ServiceUnavailableError

        try:
            app = self._app(fresh=fresh)
        except ServiceUnavailableError as error:
            raise TransientError(error.detail, code="platform_app_unavailable") from None
        if app is None:
            raise PermanentError(
                f"This deployment has no {self.platform.title} app configured: put its client_id and "
                f"client_secret in the deployment's {self.platform.title} app secret.",
                code="platform_not_configured",
            )
        return app

    def _call(self, method: str, path: str, *, may_have_acted: bool, **kwargs: Any) -> requests.Response:
        """One request. A failure before any answer is a TransientError when repeating it cannot
        duplicate anything (nothing left, or the call publishes nothing); otherwise the platform
        may have acted, and with no way to recognise a repeated request it is OutcomeUnknownError."""
        try:
            return self._session.request(
                method, self._api_url + path, timeout=self._timeouts, **self.request_options, **kwargs
            )
        except requests.RequestException as error:
            title = self.platform.title
            if nothing_was_sent(error) or not may_have_acted:
                raise TransientError(
                    f"{title} could not be reached ({type(error).__name__}); it will be tried again."
                ) from None
            raise OutcomeUnknownError(
                f"{title} did not answer after the post was sent, and {title} offers no way to recognise a "
                "repeated request, so it was not sent again. Check the account before publishing this post again."
            ) from None


def nothing_was_sent(error: requests.RequestException) -> bool:
    """True when the connection failed before the request left: repeating it cannot duplicate."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(error, requests.exceptions.ConnectionError):
        reason = getattr(error.args[0], "reason", None) if error.args else None
        from urllib3.exceptions import NameResolutionError, NewConnectionError

        return isinstance(reason, (NewConnectionError, NameResolutionError))
    return False


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}

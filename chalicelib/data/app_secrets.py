"""The platform apps' own credentials (X's client id and secret, ...), read from AWS Secrets Manager.

A deployment holds one secret per platform declared in chalicelib/platforms/app_credentials.py,
its value a JSON object of the declared names; the functions are told only where each secret is
(``Settings.app_secrets``), never what it holds. Values are read through Powertools' parameters
utility, at the first connect or token call that needs them, and kept in the container for
``max_age`` seconds: a busy container asks Secrets Manager at most once per platform in that time,
and a value put into the secret is in use everywhere once that time has passed.

This module imports Powertools' parameters utility (and boto3 with it): only the container imports
it, on first use, so the API's cold start never pays for it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping

from aws_lambda_powertools.utilities.parameters import GetParameterError, SecretsProvider
from aws_lambda_powertools.utilities.parameters.base import ExpirableValue

from chalicelib.clock import Clock
from chalicelib.data.clients import LazyClient
from chalicelib.errors import ServiceUnavailableError
from chalicelib.observability import logger
from chalicelib.platforms.app_credentials import APP_CREDENTIALS


class _SecretsOnOurClock(SecretsProvider):
    """Powertools' Secrets Manager provider with its cache aged by our clock instead of
    ``datetime.now()``, so a test moves time past ``max_age`` rather than sleeping through it.

    A cached value is fresh for less than ``max_age`` seconds: after exactly that long it is read
    again (Powertools' own check keeps it one tick longer).
    """

    def __init__(self, client, clock: Clock):
        super().__init__(boto3_client=client)
        self._clock = clock

    def has_not_expired_in_cache(self, key: tuple) -> bool:
        return key in self.store and self.store[key].ttl > self._clock.now()

    def add_to_cache(self, key: tuple, value, max_age: int) -> None:
        if max_age <= 0:
            return
        self.store[key] = ExpirableValue(value, self._clock.now() + dt.timedelta(seconds=max_age))


class AppSecrets(LazyClient):
    def __init__(
        self,
        secretsmanager_client_factory: Callable[[], object],
        secret_ids: Mapping[str, str],
        max_age: int,
        clock: Clock,
    ):
        super().__init__(secretsmanager_client_factory)
        self._secret_ids = dict(secret_ids)
        self._max_age = max_age
        self._clock = clock
        self._provider: _SecretsOnOurClock | None = None

    def credentials(self, platform: str, *, fresh: bool = False) -> dict[str, str] | None:
        """The platform app's credentials by their declared names, or None while the deployment has
        none for it (no secret, or a value that lacks one of the names). ``fresh`` skips the cache:
        for a caller that just saw the cached credentials refused.

        Raises ServiceUnavailableError when Secrets Manager cannot be read.
        """
        names = APP_CREDENTIALS.get(platform, ())
        secret_id = self._secret_ids.get(platform)
        if not names or not secret_id:
            return None
        if self._provider is None:
            self._provider = _SecretsOnOurClock(self.client, self._clock)
        try:
            raw = self._provider.get(secret_id, max_age=self._max_age, force_fetch=fresh)
        except GetParameterError:
            # Powertools puts the AWS error in its message; that names the secret, never its value.
            logger.exception("platform app secret unreadable", extra={"platform": platform})
            raise ServiceUnavailableError(f"The {platform} app's credentials could not be read; try again.") from None
        return _declared_values(platform, raw, names)


def _declared_values(platform: str, raw, names) -> dict[str, str] | None:
    """The declared names' values out of the secret's JSON; None unless every one is a non-empty
    string. Nothing of the value itself is ever logged."""
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        value = None
    if not isinstance(value, dict):
        logger.warning("platform app secret is not a JSON object", extra={"platform": platform})
        return None
    found = {name: value.get(name) for name in names}
    missing = sorted(name for name, item in found.items() if not isinstance(item, str) or not item)
    if missing:
        if len(missing) < len(names):  # a half-filled secret is a mistake worth a line; an empty one is not
            logger.warning("platform app secret incomplete", extra={"platform": platform, "missing": missing})
        return None
    return found

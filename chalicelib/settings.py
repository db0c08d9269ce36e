"""Settings: one validated object, read from the environment once per container.

Nothing else in chalicelib reads ``os.environ``. Deployment (infrastructure/) and the local stack
(tools/devstack.py) set the same variables, named here.
"""
from __future__ import annotations

import functools
import os
from typing import Mapping, Optional, Tuple

from pydantic import BaseModel, ConfigDict, Field

QUEUE_URL_PREFIX = "OPENPOST_QUEUE_URL_"
APP_SECRET_PREFIX = "OPENPOST_APP_SECRET_"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str = "local"
    region: str = "us-east-1"
    # Every table is named f"{resource_prefix}-{logical name}" (see chalicelib.data.models).
    resource_prefix: str = "openpost-local"
    # Set only where AWS is emulated (the local stack, tests); None means the real endpoints.
    aws_endpoint_url: Optional[str] = None
    # Logical queue name ("publish", "events", ...) to its URL.
    queue_urls: Mapping[str, str] = Field(default_factory=dict)
    media_bucket: str = ""
    tokens_key_id: str = ""
    auth_cache_seconds: int = Field(default=60, ge=0, le=60)
    tracing_enabled: bool = False
    # Public base URL of the API, used in links we hand out (OAuth redirect URIs).
    public_base_url: str = "http://127.0.0.1:8000"
    # Platform endpoints. Deployments keep the defaults; tests and self-hosters point them elsewhere.
    x_api_url: str = "https://api.x.com"
    x_authorize_url: str = "https://x.com/i/oauth2/authorize"
    # Platform name to the ARN (or name) of the Secrets Manager secret holding its app credentials
    # (chalicelib/platforms/app_credentials.py). Only where the secret is: never its value.
    app_secrets: Mapping[str, str] = Field(default_factory=dict)
    # Seconds a container keeps an app secret it read: a rotated value is seen within this time.
    app_secrets_max_age: int = Field(default=60, ge=0, le=3600)
    bluesky_service_url: str = "https://bsky.social"
    slack_api_url: str = "https://slack.com/api"
    telegram_api_url: str = "https://api.telegram.org"
    # Local development only: let platform URLs (a Mastodon instance, a Discord webhook, a PDS)
    # point at loopback. Never set in a deployment.
    allow_loopback_platforms: bool = False
    # Local development only: let media URLs in posts point at loopback (a file server on this
    # machine). Private, link-local and metadata addresses stay refused. Never set in a deployment.
    allow_loopback_media_urls: bool = False
    # Origins whose browser pages may call the API (CORS); "*" for any. Keys are bearer tokens,
    # never cookies, so an origin gains nothing a key does not already give.
    cors_origins: Tuple[str, ...] = ("*",)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "Settings":
        queue_urls = {
            name[len(QUEUE_URL_PREFIX):].lower(): value
            for name, value in environ.items()
            if name.startswith(QUEUE_URL_PREFIX)
        }
        app_secrets = {
            name[len(APP_SECRET_PREFIX):].lower(): value
            for name, value in environ.items()
            if name.startswith(APP_SECRET_PREFIX) and value
        }
        values = {
            "stage": environ.get("OPENPOST_STAGE"),
            "region": environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
            "resource_prefix": environ.get("OPENPOST_RESOURCE_PREFIX"),
            "aws_endpoint_url": environ.get("AWS_ENDPOINT_URL"),
            "queue_urls": queue_urls,
            "media_bucket": environ.get("OPENPOST_MEDIA_BUCKET"),
            "tokens_key_id": environ.get("OPENPOST_TOKENS_KEY_ID"),
            "auth_cache_seconds": environ.get("OPENPOST_AUTH_CACHE_SECONDS"),
            "tracing_enabled": environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() == "false",
            "public_base_url": environ.get("OPENPOST_PUBLIC_BASE_URL"),
            "x_api_url": environ.get("OPENPOST_X_API_URL"),
            "x_authorize_url": environ.get("OPENPOST_X_AUTHORIZE_URL"),
            "app_secrets": app_secrets,
            "app_secrets_max_age": environ.get("OPENPOST_APP_SECRETS_MAX_AGE"),
            "bluesky_service_url": environ.get("OPENPOST_BLUESKY_SERVICE_URL"),
            "slack_api_url": environ.get("OPENPOST_SLACK_API_URL"),
            "telegram_api_url": environ.get("OPENPOST_TELEGRAM_API_URL"),
            "allow_loopback_platforms": (environ.get("OPENPOST_ALLOW_LOOPBACK_PLATFORMS", "").lower() == "true") or None,
            "allow_loopback_media_urls": (environ.get("OPENPOST_ALLOW_LOOPBACK_MEDIA_URLS", "").lower() == "true")
            or None,
            "cors_origins": tuple(origin.strip() for origin in environ["OPENPOST_CORS_ORIGINS"].split(",")
                                  if origin.strip()) if environ.get("OPENPOST_CORS_ORIGINS") else None,
        }
        return cls(**{key: value for key, value in values.items() if value is not None})

    def queue_url(self, name: str) -> str:
        try:
            return self.queue_urls[name.replace("-", "_")]
        except KeyError:
            raise LookupError(f"no URL configured for queue {name!r} ({QUEUE_URL_PREFIX}{name.upper()})")

    def table_name(self, logical_name: str) -> str:
        return f"{self.resource_prefix}-{logical_name}"


def app_secret_variable(platform: str) -> str:
    """The environment variable that names a platform's app secret ("twitter" -> ..._TWITTER)."""
    return f"{APP_SECRET_PREFIX}{platform.upper()}"


def queue_url_variable(queue_name: str) -> str:
    """The environment variable that carries a queue's URL ("publish-dlq" -> ..._PUBLISH_DLQ)."""
    return f"{QUEUE_URL_PREFIX}{queue_name.upper().replace('-', '_')}"


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environ(os.environ)

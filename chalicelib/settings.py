"""Settings: one validated object, read from the environment once per container.

Nothing else in chalicelib reads ``os.environ``. Deployment (infrastructure/) and the local stack
(tools/devstack.py) set the same variables, named here. What a platform needs from the deployment
(where its API is) each platform declares itself (``deployment_settings`` of its descriptor,
chalicelib/platforms/<name>/); they are fields of Settings too, read from ``OPENPOST_<NAME>``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

QUEUE_URL_PREFIX = "OPENPOST_QUEUE_URL_"
APP_SECRET_PREFIX = "OPENPOST_APP_SECRET_"
RATE_LIMIT_PREFIX = "OPENPOST_RATE_LIMIT_POLICY_"  # ..._POSTS=60/60: 60 requests per 60 s

# Every rate limit window nests in the clock hour (chalicelib/domain/rate_limits.py keeps one counter
# item per key and hour), so a window divides 3600; 10 s at least keeps that item small.
MIN_RATE_LIMIT_WINDOW = 10
RATE_LIMIT_HOUR = 3600


class RateLimit(BaseModel):
    """A quota of requests per window of seconds, for one API key."""

    # Built on first use, as every settings model here: a container pays for Pydantic's first model
    # build when it first reads its settings (its first request), not in Lambda's init.
    model_config = ConfigDict(frozen=True, defer_build=True)

    quota: int = Field(ge=1, le=10_000_000)
    window: int

    @field_validator("window")
    @classmethod
    def _nests_in_the_hour(cls, window: int) -> int:
        if window < MIN_RATE_LIMIT_WINDOW or RATE_LIMIT_HOUR % window:
            raise ValueError(
                f"a window is at least {MIN_RATE_LIMIT_WINDOW} seconds and divides "
                f"{RATE_LIMIT_HOUR} (10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600, ...)"
            )
        return window

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """ "600/60": 600 requests per 60 seconds."""
        quota, _, window = text.partition("/")
        return cls(quota=quota.strip(), window=window.strip() or "60")


# The policies every key has. "default" counts every authenticated request; "posts" also counts
# creating posts (create, duplicate) and "media" media uploads, where one request costs us the most.
@functools.cache
def default_rate_limits() -> dict[str, RateLimit]:
    return {
        "default": RateLimit(quota=600, window=60),
        "posts": RateLimit(quota=60, window=60),
        "media": RateLimit(quota=60, window=60),
    }


class DeploymentSettings(BaseModel):
    """Every setting but the platforms' own; ``Settings`` below adds theirs."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    stage: str = "local"
    region: str = "us-east-1"
    # Every table is named f"{resource_prefix}-{logical name}" (see chalicelib.data.models).
    resource_prefix: str = "openpost-local"
    # Set only where AWS is emulated (the local stack, tests); None means the real endpoints.
    aws_endpoint_url: str | None = None
    # Logical queue name ("publish", "events", ...) to its URL.
    queue_urls: Mapping[str, str] = Field(default_factory=dict)
    media_bucket: str = ""
    tokens_key_id: str = ""
    auth_cache_seconds: int = Field(default=60, ge=0, le=60)
    # Public base URL of the API, used in links we hand out (OAuth redirect URIs).
    public_base_url: str = "http://127.0.0.1:8000"
    # Platform name to the ARN (or name) of the Secrets Manager secret holding its app credentials
    # (chalicelib/platforms/app_credentials.py). Only where the secret is: never its value.
    app_secrets: Mapping[str, str] = Field(default_factory=dict)
    # Seconds a container keeps an app secret it read: a rotated value is seen within this time.
    app_secrets_max_age: int = Field(default=60, ge=0, le=3600)
    # Local development only: let platform URLs (a Mastodon instance, a Discord webhook, a PDS)
    # point at loopback. Never set in a deployment.
    allow_loopback_platforms: bool = False
    # Local development only: let media URLs in posts point at loopback (a file server on this
    # machine). Private, link-local and metadata addresses stay refused. Never set in a deployment.
    allow_loopback_media_urls: bool = False
    # Local development only: webhook URLs may be http and point at loopback (a receiver on this
    # machine). Private, link-local and metadata addresses stay refused. Never set in a deployment.
    allow_local_webhooks: bool = False
    # Origins whose browser pages may call the API (CORS); "*" for any. Keys are bearer tokens,
    # never cookies, so an origin gains nothing a key does not already give.
    cors_origins: tuple[str, ...] = ("*",)
    # Rate limits per API key (policy name to quota and window); a workspace may override any of
    # them (tools/admin.py set-rate-limit). Off only to measure what they cost.
    rate_limits_enabled: bool = True
    rate_limits: Mapping[str, RateLimit] = Field(default_factory=lambda: dict(default_rate_limits()))
    # Requests a second one counter item is planned for: a key allowed more is counted on several
    # items (shards), so one busy key never makes a hot partition. DynamoDB takes 1,000 writes a
    # second on a partition; refused requests write too, hence the wide margin.
    rate_limit_shard_rate: int = Field(default=100, ge=1)
    rate_limit_max_shards: int = Field(default=16, ge=1, le=100)
    # Analytics: post reads per integration per calendar month on platforms that charge per read
    # (X), so a deployment's bill has a ceiling; over it, targets say budget_exhausted.
    metered_reads_per_month: int = Field(default=10_000, ge=0)

    @field_validator("rate_limits")
    @classmethod
    def _default_policy_is_there(cls, limits: Mapping[str, RateLimit]) -> Mapping[str, RateLimit]:
        if "default" not in limits:
            raise ValueError("the 'default' rate limit policy is required")
        return limits

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> DeploymentSettings:
        queue_urls = {
            name[len(QUEUE_URL_PREFIX) :].lower(): value
            for name, value in environ.items()
            if name.startswith(QUEUE_URL_PREFIX)
        }
        app_secrets = {
            name[len(APP_SECRET_PREFIX) :].lower(): value
            for name, value in environ.items()
            if name.startswith(APP_SECRET_PREFIX) and value
        }
        rate_limits = dict(default_rate_limits())
        rate_limits.update(
            {
                name[len(RATE_LIMIT_PREFIX) :].lower(): RateLimit.parse(value)
                for name, value in environ.items()
                if name.startswith(RATE_LIMIT_PREFIX) and value
            }
        )
        values = {
            "stage": environ.get("OPENPOST_STAGE"),
            "region": environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
            "resource_prefix": environ.get("OPENPOST_RESOURCE_PREFIX"),
            "aws_endpoint_url": environ.get("AWS_ENDPOINT_URL"),
            "queue_urls": queue_urls,
            "media_bucket": environ.get("OPENPOST_MEDIA_BUCKET"),
            "tokens_key_id": environ.get("OPENPOST_TOKENS_KEY_ID"),
            "auth_cache_seconds": environ.get("OPENPOST_AUTH_CACHE_SECONDS"),
            "public_base_url": environ.get("OPENPOST_PUBLIC_BASE_URL"),
            "app_secrets": app_secrets,
            "app_secrets_max_age": environ.get("OPENPOST_APP_SECRETS_MAX_AGE"),
            "allow_loopback_platforms": (environ.get("OPENPOST_ALLOW_LOOPBACK_PLATFORMS", "").lower() == "true")
            or None,
            "allow_loopback_media_urls": (environ.get("OPENPOST_ALLOW_LOOPBACK_MEDIA_URLS", "").lower() == "true")
            or None,
            "allow_local_webhooks": (environ.get("OPENPOST_ALLOW_LOCAL_WEBHOOKS", "").lower() == "true") or None,
            "cors_origins": tuple(
                origin.strip() for origin in environ["OPENPOST_CORS_ORIGINS"].split(",") if origin.strip()
            )
            if environ.get("OPENPOST_CORS_ORIGINS")
            else None,
            "rate_limits_enabled": environ.get("OPENPOST_RATE_LIMITS_ENABLED", "true").lower() != "false",
            "rate_limits": rate_limits,
            "rate_limit_shard_rate": environ.get("OPENPOST_RATE_LIMIT_SHARD_RATE"),
            "rate_limit_max_shards": environ.get("OPENPOST_RATE_LIMIT_MAX_SHARDS"),
            "metered_reads_per_month": environ.get("OPENPOST_METERED_READS_PER_MONTH"),
            **{declared.name: environ.get(declared.variable) for declared in platform_settings()},
        }
        return cls(**{key: value for key, value in values.items() if value is not None})

    def queue_url(self, name: str) -> str:
        try:
            return self.queue_urls[name.replace("-", "_")]
        except KeyError as exc:
            raise LookupError(f"no URL configured for queue {name!r} ({QUEUE_URL_PREFIX}{name.upper()})") from exc

    def table_name(self, logical_name: str) -> str:
        return f"{self.resource_prefix}-{logical_name}"


def platform_settings() -> tuple:
    """What every platform declares it needs from the deployment (DeploymentSetting, in
    chalicelib/platforms/descriptor.py). The registry imports only the platforms' small descriptor
    modules, which the API loads anyway for its routes: no HTTP client, no platform SDK."""
    from chalicelib.platforms import registry

    return tuple(declared for platform in registry.descriptors() for declared in platform.deployment_settings)


# The settings object: the deployment's own settings and every platform's.
Settings = create_model(
    "Settings",
    __base__=DeploymentSettings,
    __module__=__name__,
    **{declared.name: (str, declared.default) for declared in platform_settings()},
)


def app_secret_variable(platform: str) -> str:
    """The environment variable that names a platform's app secret ("twitter" -> ..._TWITTER)."""
    return f"{APP_SECRET_PREFIX}{platform.upper()}"


def queue_url_variable(queue_name: str) -> str:
    """The environment variable that carries a queue's URL ("publish-dlq" -> ..._PUBLISH_DLQ)."""
    return f"{QUEUE_URL_PREFIX}{queue_name.upper().replace('-', '_')}"


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environ(os.environ)

"""Stack parameters: settings an operator may change at deploy time without editing code.

The rate limits (chalicelib/settings.py, docs/data-model.md "Rate limit counters"): each policy's
quota and window, the switch, and the sharding of busy keys; and the monthly budget of metered
analytics reads per integration (X charges per post read). Each parameter's default is the
setting's default, so a stack deployed without them behaves as the code does:

    cdk deploy --parameters RateLimitPosts=120/60 --parameters RateLimitShardRate=50

A quota and window are "quota/window" in seconds; the window must also divide an hour (10, 15, 20,
30, 60, ...), which the functions check when they start (a bad value fails them at once, loudly).
"""

from __future__ import annotations

from aws_cdk import CfnParameter
from constructs import Construct

from chalicelib.settings import RATE_LIMIT_PREFIX, Settings, default_rate_limits

RATE_LIMITS_ENABLED = "OPENPOST_RATE_LIMITS_ENABLED"
SHARD_RATE = "OPENPOST_RATE_LIMIT_SHARD_RATE"
MAX_SHARDS = "OPENPOST_RATE_LIMIT_MAX_SHARDS"
METERED_READS = "OPENPOST_METERED_READS_PER_MONTH"


def parameter_name(policy: str) -> str:
    """The stack parameter of a rate limit policy: "posts" -> "RateLimitPosts"."""
    return "RateLimit" + policy.title().replace("_", "")


def add_parameters(scope: Construct) -> dict[str, str]:
    """Every stack parameter, as the functions' environment variables (parameter references)."""
    defaults = Settings()
    return {
        **add_rate_limit_parameters(scope),
        METERED_READS: CfnParameter(
            scope,
            "MeteredReadsPerMonth",
            type="Number",
            default=defaults.metered_reads_per_month,
            min_value=0,
            description="Post reads per integration and month on platforms that bill reads (X); 0 reads none.",
        ).value_as_string,
    }


def add_rate_limit_parameters(scope: Construct) -> dict[str, str]:
    """The rate limit parameters, as the functions' environment variables (parameter references)."""
    defaults = Settings()
    environment = {
        RATE_LIMITS_ENABLED: CfnParameter(
            scope,
            "RateLimitsEnabled",
            type="String",
            default="true",
            allowed_values=["true", "false"],
            description="Rate limits per API key: on, as they should be, or off.",
        ).value_as_string
    }
    for policy, limit in default_rate_limits().items():
        environment[f"{RATE_LIMIT_PREFIX}{policy.upper()}"] = CfnParameter(
            scope,
            parameter_name(policy),
            type="String",
            default=f"{limit.quota}/{limit.window}",
            allowed_pattern=r"^[1-9][0-9]*/[1-9][0-9]*$",
            constraint_description="quota/window, in requests and seconds: 600/60",
            description=f'Requests per window of each API key on the "{policy}" rate limit policy: quota/seconds.',
        ).value_as_string
    environment[SHARD_RATE] = CfnParameter(
        scope,
        "RateLimitShardRate",
        type="Number",
        default=defaults.rate_limit_shard_rate,
        min_value=1,
        description="Requests a second one rate limit counter item takes; a busier key is counted on several.",
    ).value_as_string
    environment[MAX_SHARDS] = CfnParameter(
        scope,
        "RateLimitMaxShards",
        type="Number",
        default=defaults.rate_limit_max_shards,
        min_value=1,
        max_value=100,
        description="The most counter items one key is counted on.",
    ).value_as_string
    return environment

"""The one way a benchmark lifts the API's rate limits for its workspace, as an operator would.

The defaults (60 posts a minute per key) would refuse a run's burst of posts, which would then measure
the limiter rather than what the run is about. The quotas are set through ``tools.admin
set-rate-limit`` against the stack's own emulated AWS, never this machine's account.
"""

from __future__ import annotations

import contextlib
import io
import os

POLICIES = ("default", "posts", "media")
QUOTA = 100_000  # a minute: more than any run sends


def lift_rate_limits(workspace_id: str, prefix: str, endpoint_url: str) -> None:
    from tools import admin
    from tools.emulated_aws import use_fake_credentials

    use_fake_credentials(os.environ)  # the stack's moto takes any; never this machine's own
    for policy in POLICIES:
        arguments = ["set-rate-limit", "--workspace", workspace_id, "--policy", policy]
        arguments += ["--quota", str(QUOTA), "--window", "60", "--prefix", prefix, "--endpoint-url", endpoint_url]
        with contextlib.redirect_stdout(io.StringIO()):
            admin.main(arguments)

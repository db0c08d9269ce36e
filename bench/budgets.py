"""The one way a benchmark lifts the API's rate limits for its workspace, as an operator would.

The defaults (60 posts a minute per key) would refuse a run's burst of posts, which would then measure
the limiter rather than what the run is about. The quotas are set through ``tools.admin
set-rate-limit`` against the stack's own emulated AWS. The caller's environment must already hold
fake credentials (tools.emulated_aws): this leaves it as it is, since a stack running in the same
process reads its endpoint from it.
"""

from __future__ import annotations

import contextlib
import io

POLICIES = ("default", "posts", "media")
QUOTA = 100_000  # a minute: more than any run sends


def lift_rate_limits(workspace_id: str, prefix: str, endpoint_url: str) -> None:
    from tools import admin

    for policy in POLICIES:
        arguments = ["set-rate-limit", "--workspace", workspace_id, "--policy", policy]
        arguments += ["--quota", str(QUOTA), "--window", "60", "--prefix", prefix, "--endpoint-url", endpoint_url]
        with contextlib.redirect_stdout(io.StringIO()):
            admin.main(arguments)

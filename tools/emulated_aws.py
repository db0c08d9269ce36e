"""The environment every process that talks to emulated AWS starts from (tests, benchmarks, the
local stack): fake credentials, so nothing can ever reach a real account, and one region."""

from __future__ import annotations

from collections.abc import MutableMapping

REGION = "us-east-1"

FAKE_CREDENTIALS: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
}

# Set on this machine, these would point boto3 somewhere else: a profile absent from ~/.aws stops
# it cold, and an endpoint would bypass the emulator the caller chose.
FOREIGN = ("AWS_PROFILE", "AWS_ENDPOINT_URL")


def use_fake_credentials(environ: MutableMapping[str, str]) -> None:
    environ.update(FAKE_CREDENTIALS)
    for name in FOREIGN:
        environ.pop(name, None)

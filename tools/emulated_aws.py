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


def one_key_pair_for_symmetric_keys() -> None:
    """moto gives every KMS key an RSA-2048 key pair, symmetric keys too, which never sign or verify
    (AWS gives them none); generating it costs 0.05-0.5 s, paid by every test that provisions a world.
    Symmetric keys here share one pair made on first use; asymmetric keys still get their own."""
    import moto.kms.models as kms_models

    generate = kms_models.generate_private_key
    if getattr(generate, "shares_symmetric_pairs", False):
        return
    shared = []

    def generate_private_key(key_spec: str):
        if key_spec != "SYMMETRIC_DEFAULT":
            return generate(key_spec)
        if not shared:
            shared.append(generate(key_spec))
        return shared[0]

    generate_private_key.shares_symmetric_pairs = True
    kms_models.generate_private_key = generate_private_key

"""Verifying a webhook delivery (Standard Webhooks): ``openpost.webhooks.verify(body, headers, secret)``
returns the event when the signature is one of ours and recent, and raises ``WebhookVerificationError``
otherwise. Pass the body exactly as received (bytes or str), before any JSON parsing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from openpost.errors import OpenpostError

TOLERANCE_SECONDS = 5 * 60  # older or newer than this is refused: a replayed capture


class WebhookVerificationError(OpenpostError):
    pass


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(body: bytes | str, msg_id: str, timestamp: int, secret: str) -> str:
    payload = body if isinstance(body, bytes) else body.encode()
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def verify(
    body: bytes | str, headers: Mapping[str, str], secret: str | list[str], *, tolerance: int = TOLERANCE_SECONDS
) -> dict[str, Any]:
    """The event as a dict; ``secret`` may be a list (during a rotation both secrets are valid)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not a number") from exc
    if abs(time.time() - timestamp) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is too far from now (a replay?)")
    offered = [part.strip() for part in signatures.split(" ") if part.strip()]
    for one_secret in [secret] if isinstance(secret, str) else secret:
        expected = sign(body, msg_id, timestamp, one_secret)
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return json.loads(body)
    raise WebhookVerificationError("no signature matches the secret")

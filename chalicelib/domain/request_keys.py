"""The Idempotency-Key of a request that creates something, carried down to the write itself.

Replaying the first response is the API's business (``api/idempotency.py``), but a response can be
lost after the write: the function dies, or its record of the answer cannot be saved. A retry then
runs the request again. So a create also claims its key in the same transaction as the thing it
creates; a second run finds the claim and hands back what the first one made.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.errors import ValidationError


@dataclass(frozen=True)
class RequestKey:
    """``key`` is the client's Idempotency-Key; ``fingerprint`` identifies the request it came with
    (method, path and body), so the same key with another request is refused."""

    key: str
    fingerprint: str


class AlreadyCreatedError(Exception):
    """The request key was claimed before: ``resource_id`` is what that request created."""

    def __init__(self, resource_id: str, fingerprint: str):
        super().__init__(resource_id)
        self.resource_id = resource_id
        self.fingerprint = fingerprint

    def check_same_request(self, key: RequestKey) -> str:
        if self.fingerprint != key.fingerprint:
            raise ValidationError(
                "This Idempotency-Key was already used with a different request. Use a new key for a new request.",
                code="idempotency_key_reused",
            )
        return self.resource_id

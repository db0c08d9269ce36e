"""Secrets at rest, sealed with the deployment's KMS key.

Whatever must be stored but never readable from the table alone (platform tokens, a response that
carries a newly issued API key) goes through ``SecretBox``. The encryption context binds each
ciphertext to its owner, so a sealed value copied to another workspace's record does not open.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping

from chalicelib.data.clients import LazyClient


class SecretBox(LazyClient):
    def __init__(self, kms_client_factory: Callable[[], object], key_id: str):
        super().__init__(kms_client_factory)
        self._key_id = key_id

    @property
    def _kms(self):
        return self.client

    def seal(self, plaintext: bytes, context: Mapping[str, str]) -> str:
        result = self._kms.encrypt(KeyId=self._key_id, Plaintext=plaintext, EncryptionContext=dict(context))
        return base64.b64encode(result["CiphertextBlob"]).decode()

    def open(self, sealed: str, context: Mapping[str, str]) -> bytes:
        result = self._kms.decrypt(
            CiphertextBlob=base64.b64decode(sealed), EncryptionContext=dict(context), KeyId=self._key_id
        )
        return result["Plaintext"]

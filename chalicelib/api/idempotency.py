"""Idempotency-Key on POST, PATCH and PUT, on Powertools' idempotency utility and DynamoDB.

The rules (api-decisions): a key is scoped to the workspace and mode and kept 24 hours; the same
key with the same request replays the first response, status and body, with
``Idempotent-Replayed: true``; the same key with a different request is 422; a request still in
flight under that key is 409. A request that fails is not recorded, so retrying it runs it again.

"The same request" means the same method, path and body, the body compared as parsed JSON so that
whitespace and key order do not matter. A response that carries a secret (a new API key) is
stored sealed with the KMS key, never in plain text.

The stored response is compressed: Powertools keeps it as JSON text, which escapes every
non-ASCII character again, and a large post's answer then outgrew DynamoDB's 400 KB item: the
save failed after the post was written, and the retry wrote it twice. Compressed, the answer to
any request within the 256 KiB body limit fits; should one not, the record keeps no body and a
replay runs the request again, which for a create finds its claim (``domain/request_keys.py``)
and answers the post the first run made.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.domain.request_keys import RequestKey
from chalicelib.errors import BadRequestError, ConflictError, ValidationError

KEEP_SECONDS = 24 * 60 * 60
MAX_KEY_LENGTH = 255
# How long a replay may show a secret again: long enough for a client retrying a lost answer.
SECRET_REPLAY_SECONDS = 10 * 60
# What a stored response may take of the item, leaving room for Powertools' own attributes.
MAX_STORED_RESPONSE_BYTES = 350 * 1024


def fingerprint(method: str, path: str, raw_body: bytes | None) -> str:
    raw_body = raw_body or b""
    try:
        canonical = json.dumps(json.loads(raw_body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = raw_body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


class IdempotentRequests:
    def __init__(self, settings, secret_box, dynamodb_client_factory, clock):
        self._clock = clock
        self._settings = settings
        self._box = secret_box
        self._dynamodb = dynamodb_client_factory
        self._persistence = None

    def _to_wire(self, response: Response, sensitive: bool, scope: str) -> dict[str, Any]:
        body = response.body
        data = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
        wire = {"status": response.status_code, "headers": dict(response.headers)}
        if sensitive:
            wire["sealed_body"] = self._box.seal(data, {"purpose": "idempotent-response", "scope": scope})
            wire["shown_until"] = int(self._clock.now().timestamp()) + SECRET_REPLAY_SECONDS
        else:
            wire["compressed_body"] = base64.b64encode(zlib.compress(data, 6)).decode()
            if len(wire["compressed_body"]) > MAX_STORED_RESPONSE_BYTES:
                del wire["compressed_body"]
                wire["run_again"] = True
        return wire

    def _body(self, wire: dict[str, Any], scope: str) -> str:
        if "sealed_body" in wire:
            return self._box.open(wire["sealed_body"], {"purpose": "idempotent-response", "scope": scope}).decode()
        if "compressed_body" in wire:
            return zlib.decompress(base64.b64decode(wire["compressed_body"])).decode("utf-8", "surrogatepass")
        return wire["body"]  # stored before responses were compressed

    def request_key(self, op, request, key: str) -> RequestKey:
        """The key and the request's fingerprint, for a create to claim in its own write."""
        return RequestKey(key=key, fingerprint=fingerprint(op.method, request.path, request.raw_body))

    def _layer(self):
        # Imported and built on the first idempotent request: it costs about 0.35 s.
        if self._persistence is None:
            from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

            self._persistence = DynamoDBPersistenceLayer(
                table_name=self._settings.table_name("idempotency"), boto3_client=self._dynamodb()
            )
        return self._persistence

    def run(self, principal, op, request, call, render: Callable[[], Response]) -> Response:
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        key = call.headers.get("idempotency-key", "")
        if not 0 < len(key) <= MAX_KEY_LENGTH:
            raise BadRequestError(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.", code="invalid_idempotency_key"
            )
        config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="fingerprint",
            expires_after_seconds=KEEP_SECONDS,
            hash_function="sha256",
            response_hook=lambda response, record: {**response, "replayed": True},
        )
        context = getattr(request, "lambda_context", None)
        if context is not None and hasattr(context, "get_remaining_time_in_millis"):
            # Lets a request that died mid-flight be retried once its Lambda time is over.
            config.register_lambda_context(context)

        first: list[Response] = []

        def execute(request: dict[str, str]) -> dict[str, Any]:
            first.append(render())
            return self._to_wire(first[0], op.sensitive, principal.scope)

        guarded = idempotent_function(
            execute,
            data_keyword_argument="request",
            config=config,
            persistence_store=self._layer(),
            key_prefix="openpost-api",
        )
        try:
            wire = guarded(
                request={
                    "key": f"{principal.scope}:{key}",
                    "fingerprint": (call.request_key or self.request_key(op, request, key)).fingerprint,
                }
            )
        except IdempotencyValidationError as exc:
            raise ValidationError(
                "This Idempotency-Key was already used with a different request. Use a new key for a new request.",
                code="idempotency_key_reused",
            ) from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise ConflictError(
                "A request with this Idempotency-Key is still in progress; retry shortly.",
                code="idempotency_key_in_flight",
            ) from exc
        if first:
            return first[0]  # this request ran: its own answer, as rendered
        if wire.get("run_again"):
            # The first answer was too large to keep: run the request again (a create finds its
            # claim and answers the post it made).
            response = render()
            response.headers["Idempotent-Replayed"] = "true"
            return response
        body = self._body(wire, principal.scope)
        if "sealed_body" in wire:
            self._may_show_secret_again(op, principal, wire, body)
        headers = dict(wire["headers"])
        if wire.get("replayed"):
            headers["Idempotent-Replayed"] = "true"
        return Response(body=body, status_code=wire["status"], headers=headers)

    def _may_show_secret_again(self, op, principal, wire: dict[str, Any], body: str) -> None:
        """A secret is shown once: a replay shows it again only to a retry within minutes (the
        answer was lost), and never once the key is gone."""
        data = json.loads(body).get("data") or {}
        shown_for = int(self._clock.now().timestamp()) <= wire.get("shown_until", 0)
        if shown_for and (op.still_valid is None or op.still_valid(principal, data)):
            return
        raise ConflictError(
            f"This request already created {data.get('id', 'its key')}. Its secret was shown "
            f"once and is not shown again (a retry within {SECRET_REPLAY_SECONDS // 60} minutes "
            "sees it while the key is active). Send a new Idempotency-Key to create another.",
            code="secret_not_shown_again",
        )

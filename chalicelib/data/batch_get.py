"""Items of several tables in one BatchGetItem: one round trip where separate GetItems would take one
each, for the same read units (DynamoDB counts each item as its own GetItem would).

DynamoDB may answer part of a batch and hand the rest back as ``UnprocessedKeys`` (when a table is
being throttled); those are asked for again after a short, growing pause, as AWS recommends, until
answered or the attempts run out.
"""

from __future__ import annotations

import time

from pynamodb.exceptions import GetError
from pynamodb.models import Model

ATTEMPTS = 5
FIRST_PAUSE = 0.05  # seconds; doubled after each partial answer


class UnansweredError(GetError):
    """DynamoDB kept some keys of a batch unanswered (throttled) through every attempt."""


def get_items(wanted: list[tuple[type[Model], str, str]], consistent_read: bool = True) -> list[Model | None]:
    """The items at (model, hash key, range key), in the order asked; None where there is none.
    ``consistent_read`` applies to every table of the batch (one strongly consistent read each)."""
    request: dict[str, dict] = {}
    for model, hash_key, range_key in wanted:
        hash_attribute, range_attribute = model._hash_key_attribute(), model._range_key_attribute()
        key = {
            hash_attribute.attr_name: {hash_attribute.attr_type: hash_key},
            range_attribute.attr_name: {range_attribute.attr_type: range_key},
        }
        table = request.setdefault(model.Meta.table_name, {"Keys": [], "ConsistentRead": consistent_read})
        table["Keys"].append(key)
    # The first model's connection: its client is made once per container and shared by its threads.
    connection = wanted[0][0]._get_connection().connection
    found: dict[str, list[dict]] = {}
    pause = FIRST_PAUSE
    for attempt in range(ATTEMPTS):
        answer = connection.dispatch("BatchGetItem", {"RequestItems": request})
        for table, items in answer.get("Responses", {}).items():
            found.setdefault(table, []).extend(items)
        request = answer.get("UnprocessedKeys") or {}
        if not request:
            break
        if attempt < ATTEMPTS - 1:
            time.sleep(pause)  # the SDK's own pause between retries is not applied to a partial answer
            pause *= 2
    if request:
        raise UnansweredError(f"DynamoDB left {sum(len(t['Keys']) for t in request.values())} keys unanswered")
    return [_match(model, hashed, ranged, found.get(model.Meta.table_name, [])) for model, hashed, ranged in wanted]


def _match(model: type[Model], hash_key: str, range_key: str, items: list[dict]) -> Model | None:
    hash_name, range_name = model._hash_key_attribute().attr_name, model._range_key_attribute().attr_name
    for item in items:
        if next(iter(item[hash_name].values())) == hash_key and next(iter(item[range_name].values())) == range_key:
            return model.from_raw_data(item)
    return None

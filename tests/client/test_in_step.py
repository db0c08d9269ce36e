"""The Python client is kept in step with /v1/openapi.json: every operation of the document has a
client method, every answer's model is the one the document names, and the generated models declare
every field the document does (so no field is dropped). When one fails, the message says what to do."""

from __future__ import annotations

import pytest
from openpost import _codegen, models
from openpost._base import declared_operations
from openpost.resources import RESOURCES

import app  # noqa: F401  (registers every blueprint's operations)
from chalicelib.api import meta

MODELS_FILE = models.__file__

# Operations a program never calls: the browser lands on them at the end of an OAuth consent.
BROWSER_ONLY_PREFIX = "/api/platforms/"

# Operations the client covers before the document has them (an endpoint being built on its own
# branch), as ("GET", "/v1/..."): checked like the rest once the document has them.
AHEAD_OF_THE_DOCUMENT: set[tuple[str, str]] = set()

HOW_TO_ADD = (
    "regenerate the models (make client-models), then add a method to client/openpost/resources.py "
    "with @operation(METHOD, PATH, models.RESPONSE_MODEL) (@paged_operation for a list)"
)


@pytest.fixture(scope="module")
def document():
    return meta.document()


def documented_operations(document):
    for path, item in document["paths"].items():
        for method, spec in item.items():
            if method in ("get", "post", "put", "patch", "delete") and not path.startswith(BROWSER_ONLY_PREFIX):
                yield method.upper(), path, spec


def client_operations():
    covered = {}
    for name, declared in declared_operations(RESOURCES):
        for path in (declared.path, *declared.aliases):
            covered[(declared.method, path)] = (name, declared)
    return covered


def test_every_operation_has_a_client_method(document):
    covered = client_operations()
    missing = [
        f"{method} {path}" for method, path, _ in documented_operations(document) if (method, path) not in covered
    ]
    assert not missing, f"the client has no method for {missing}: {HOW_TO_ADD}"


def test_every_client_method_is_an_operation_of_the_document(document):
    documented = {(method, path) for method, path, _ in documented_operations(document)}
    unknown = sorted(set(client_operations()) - documented - AHEAD_OF_THE_DOCUMENT)
    assert not unknown, f"client methods for operations the API does not have: {unknown}"


def success_data_schema(spec, schemas):
    """The schema name of the answer's ``data`` (or of its items, for a page or a list), and whether
    it is a page."""
    for status, response in spec["responses"].items():
        if status.startswith("2") and response.get("content"):
            schema = response["content"].get("application/json", {}).get("schema", {})
            data = schema.get("properties", {}).get("data", {})
            paged = "next_cursor" in schema.get("properties", {})
            reference = data.get("$ref") or data.get("items", {}).get("$ref")
            named = schemas.get((reference or "").rsplit("/", 1)[-1], {})
            if named.get("type") == "array":  # a list model: its items are the objects
                reference = named.get("items", {}).get("$ref")
            return (reference.rsplit("/", 1)[-1] if reference else None), paged
    return None, False


def test_each_method_returns_the_documented_model(document):
    covered = client_operations()
    wrong = []
    for method, path, spec in documented_operations(document):
        name, declared = covered.get((method, path), (None, None))
        if declared is None or declared.raw:
            continue
        model, paged = success_data_schema(spec, document["components"]["schemas"])
        declared_model = declared.response.__name__ if declared.response else None
        if model and (declared_model, declared.paged) != (model, paged):
            wrong.append(
                f"{name} ({method} {path}): declares {declared_model}, paged={declared.paged}; "
                f"the document says {model}, paged={paged}"
            )
    assert not wrong, "\n".join(wrong)


def test_the_models_declare_every_documented_field(document):
    schemas = document["components"]["schemas"]
    dropped = []
    for name, schema in schemas.items():
        model = getattr(models, name, None)
        if schema.get("type", "object") != "object":
            continue
        if model is None:
            dropped.append(f"{name} (no model)")
            continue
        fields = {field.alias or attribute for attribute, field in model.model_fields.items()}
        dropped += [f"{name}.{prop}" for prop in schema.get("properties", {}) if prop not in fields]
    assert not dropped, f"the client's models lack {dropped}: regenerate them ({HOW_TO_ADD})"


def test_the_committed_models_are_what_the_document_generates(document):
    with open(MODELS_FILE) as handle:
        committed = handle.read()
    assert committed == _codegen.generate(document), (
        f"client/openpost/models.py is not what the document generates: {HOW_TO_ADD}"
    )

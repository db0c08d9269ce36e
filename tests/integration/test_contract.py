"""The HTTP contract: problem bodies for everything that goes wrong, and a valid OpenAPI document."""

from __future__ import annotations

from openapi_spec_validator import validate

import app as application
from chalicelib.api import edges
from chalicelib.api.routing import BLUEPRINTS
from tests.conftest import problem


def test_openapi_document_is_valid_and_complete(api):
    document = api.get("/v1/openapi.json").json
    validate(document)
    assert document["openapi"].startswith("3.1")
    served = {(path, method.upper()) for path, methods in document["paths"].items() for method in methods}
    routed = {
        (path, method)
        for path, entries in application.app.routes.items()
        for method, entry in entries.items()
        if not edges.is_edge_route(entry)
    }
    assert served == routed
    create = document["paths"]["/v1/api-keys"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CreateApiKey")
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    assert "401" in create["responses"] and "422" in create["responses"]


def test_every_operation_is_documented():
    for blueprint in BLUEPRINTS:
        for op in blueprint.operations:
            assert op.summary and op.operation_id, op


def test_unsupported_content_type_is_a_problem(api, workspace):
    answer = api.post("/v1/api-keys", workspace.test_key, {"name": "a"}, headers={"Content-Type": "application/xml"})
    assert answer.status == 415
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json["code"] == "unsupported_media_type"


def test_a_body_that_is_too_large_is_413(api, workspace):
    answer = api.post("/v1/api-keys", workspace.test_key, {"name": "a" * (300 * 1024)})
    assert answer.status == 413 and answer.json["code"] == "payload_too_large"


def test_json_that_is_not_an_object_is_422(api, workspace):
    answer = api.post("/v1/api-keys", workspace.test_key, raw=b"[1, 2]")
    assert problem(answer, 422, "validation_failed")["errors"][0]["field"] == "body"


def test_malformed_json_is_400(api, workspace):
    answer = api.post("/v1/api-keys", workspace.test_key, raw=b'{"name": ')
    assert answer.status == 400 and answer.json["code"] == "malformed_json"


def test_unknown_field_is_422_naming_it(api, workspace):
    answer = api.post("/v1/api-keys", workspace.test_key, {"nmae": "typo"})
    assert problem(answer, 422, "validation_failed")["errors"] == [
        {"field": "nmae", "message": "Extra inputs are not permitted"}
    ]


def test_method_not_allowed_is_a_problem(api, workspace):
    answer = api.request("PATCH", "/v1/integrations", workspace.test_key)
    assert problem(answer, 405, "method_not_allowed")["detail"]


def test_lambda_init_loads_no_heavy_library():
    """Every function loads app.py at init; what only some requests need is imported when they run
    (see README, Performance). A fresh interpreter shows what init really loads."""
    import subprocess
    import sys

    heavy = [
        "requests",
        "atproto",
        "pynamodb.models",
        "boto3",
        "aws_xray_sdk",
        "aws_lambda_powertools.utilities.idempotency",
        "aws_lambda_powertools.utilities.batch",
        # No Pydantic model is built at init (each is built on first use, the settings' by the
        # first request): Pydantic's first build imports its plugin loader, and with it the
        # standard library's package metadata reader.
        "pydantic.plugin._loader",
        "importlib.metadata",
    ]
    code = f"import sys, app; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"},
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_every_authenticated_operation_documents_its_rate_limits(api):
    document = api.get("/v1/openapi.json").json
    authenticated = 0
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            if operation.get("security") == []:
                assert "429" not in responses, (method, path)
                continue
            authenticated += 1
            assert set(responses["429"]["headers"]) == {"Retry-After", "RateLimit-Policy", "RateLimit"}, (method, path)
            assert responses["429"]["headers"]["Retry-After"]["required"] is True
            for status, response in responses.items():
                if status not in ("401", "415"):
                    assert {"RateLimit-Policy", "RateLimit"} <= set(response["headers"]), (method, path, status)
    assert authenticated >= 20

"""Validates API responses against docs/api/openapi.yaml, so the document and the code cannot drift apart."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec

SPEC_PATH = Path(__file__).resolve().parent.parent / "docs" / "api" / "openapi.yaml"


@cache
def spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    validate_spec(document)
    return document


def assert_response_matches(method: str, route: str, status: int, body: Any) -> None:
    """route is the OpenAPI path template, e.g. /v1/images/{image_id}."""
    document = spec()
    operation = document["paths"][route][method.lower()]
    response = operation["responses"].get(str(status))
    assert response is not None, f"{method} {route} does not document status {status}"
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = response["content"]["application/json"]["schema"]
    # Local "#/components/..." references resolve against the schema's own root, so carry the components along.
    validator = OAS30Validator({**schema, "components": document["components"]})
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method} {route} {status}: " + "; ".join(e.message for e in errors[:5])

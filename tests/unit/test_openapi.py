"""The API document is valid OpenAPI and the validator really rejects what the document forbids."""

from __future__ import annotations

import pytest

from tests.openapi import assert_response_matches, spec


def test_the_document_is_valid_openapi_with_every_route() -> None:
    document = spec()
    assert set(document["paths"]) == {"/v1/uploads", "/v1/images", "/v1/images/{image_id}"}
    # Either scheme alone satisfies the API (alternatives, not both at once: two credentials are refused).
    assert document["security"] == [{"apiKey": []}, {"bearer": []}]
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "x-api-key"}
    assert (schemes["bearer"]["type"], schemes["bearer"]["scheme"], schemes["bearer"]["bearerFormat"]) == (
        "http",
        "bearer",
        "JWT",
    )


def test_error_shape_is_enforced() -> None:
    assert_response_matches(
        "GET", "/v1/images/{image_id}", 404, {"error": {"code": "not_found", "message": "m", "request_id": "r"}}
    )
    with pytest.raises(AssertionError, match="request_id"):
        assert_response_matches("GET", "/v1/images/{image_id}", 404, {"error": {"code": "x", "message": "m"}})


def test_undocumented_status_and_extra_fields_fail() -> None:
    with pytest.raises(AssertionError, match="does not document status 418"):
        assert_response_matches("GET", "/v1/images", 418, {})
    with pytest.raises(AssertionError, match="Additional properties"):
        assert_response_matches("GET", "/v1/images", 200, {"items": [], "next": None, "debug": "stack trace"})

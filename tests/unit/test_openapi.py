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


def test_an_items_bookkeeping_never_reaches_the_api() -> None:
    """The processor's pinned object version, the raw key and the index keys are the service's, not the API's:
    GET /v1/images/{id} answers the documented Image, which admits no other property."""
    from imgpipe.auth import Principal
    from imgpipe.ids import new_image_id
    from imgpipe.models import ImageItem, ImageStatus, Source
    from imgpipe.uploads import UploadService

    image_id = new_image_id()
    item = ImageItem.new(
        image_id, Source.API, ImageStatus.PROCESSING, f"raw/acme/2026/12/02/{image_id}", tenant_id="acme"
    ).model_copy(update={"raw_version": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"})

    class OneItem:
        def get(self, wanted: str, now: object = None) -> ImageItem | None:
            return item if wanted == image_id else None

    service = UploadService(OneItem(), raw=None)  # type: ignore[arg-type]  # reads only
    view = service.get_image(image_id, Principal("key-1", "Acme", "acme"))
    assert not {"raw_key", "raw_version", "created_day", "tenant_status"} & set(view)
    assert_response_matches("GET", "/v1/images/{image_id}", 200, view)

"""The error the HTTP API answers with, in a module of its own: upload_api's routes register their answer to
it when the function starts, before the use cases (imgpipe.uploads, pydantic) are loaded by a first request."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imgpipe.errors import ValidationError


class ApiError(Exception):
    """An error the API answers with {error: {code, message, request_id}} and this status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    @classmethod
    def from_validation(cls, err: ValidationError) -> ApiError:
        return cls(err.http_status, err.reason.value, err.message)

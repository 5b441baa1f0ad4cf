"""What the processor makes of every image: a declarative list of renditions.

Terraform passes the list as JSON (RENDITIONS_JSON, module variable `renditions`); the defaults below are the
product's: 1280/640/160 JPEG and a 1280 WebP. Names are part of the output keys and of the API's `links`.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator


class OutputFormat(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    AVIF = "avif"

    @property
    def extension(self) -> str:
        return "jpg" if self is OutputFormat.JPEG else self.value

    @property
    def mime_type(self) -> str:
        return f"image/{self.value}"


class Operations(BaseModel):
    """Optional transforms, applied after resizing (cheaper on fewer pixels), in this field order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    crop_aspect: tuple[Annotated[int, Field(ge=1, le=100)], Annotated[int, Field(ge=1, le=100)]] | None = None
    grayscale: bool = False
    autocontrast: bool = False
    blur_radius: float = Field(default=0.0, ge=0.0, le=50.0)
    sharpen: bool = False
    watermark: str | None = Field(default=None, min_length=1, max_length=64)


class RenditionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    max_edge: int = Field(ge=16, le=8192)
    format: OutputFormat
    quality: int = Field(default=82, ge=1, le=100)
    operations: Operations = Field(default_factory=Operations)


class RenditionList(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    renditions: list[RenditionSpec] = Field(min_length=1, max_length=12)

    @model_validator(mode="after")
    def _unique_names(self) -> RenditionList:
        names = [r.name for r in self.renditions]
        if len(set(names)) != len(names):
            raise ValueError(f"rendition names must be unique: {names}")
        return self


DEFAULT_RENDITIONS: tuple[RenditionSpec, ...] = (
    RenditionSpec(name="large", max_edge=1280, format=OutputFormat.JPEG, quality=82),
    RenditionSpec(name="medium", max_edge=640, format=OutputFormat.JPEG, quality=82),
    RenditionSpec(name="thumb", max_edge=160, format=OutputFormat.JPEG, quality=80),
    RenditionSpec(name="large_webp", max_edge=1280, format=OutputFormat.WEBP, quality=80),
)


class RenditionConfigError(ValueError):
    """RENDITIONS_JSON is not a valid rendition list: the function must not start with it."""


def parse_renditions(text: str | None) -> tuple[RenditionSpec, ...]:
    """The rendition list from JSON (a list of specs); the defaults when empty."""
    if text is None or not text.strip():
        return DEFAULT_RENDITIONS
    try:
        return tuple(RenditionList(renditions=TypeAdapter(list[RenditionSpec]).validate_json(text)).renditions)
    except (ValidationError, ValueError) as err:
        raise RenditionConfigError(f"invalid rendition list: {err}") from None


def to_json(specs: tuple[RenditionSpec, ...]) -> str:
    return json.dumps([s.model_dump(mode="json") for s in specs])

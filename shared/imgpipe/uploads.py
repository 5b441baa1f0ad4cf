"""The HTTP ingestion use cases, independent of API Gateway: presigned uploads, direct uploads, reads.

Consistency rule (documented in docs/api.md): a refused upload writes nothing. Validation runs before any
write; a direct upload stores the object first and the item second, and deletes the object again if the item
cannot be written, so there is never a raw object without an item nor an item pointing at nothing. Presigned
uploads create a PENDING_UPLOAD item first; bytes that later fail validation are REJECTED by the processor
(item kept with its reason for the retention window, object deleted).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as SchemaError

from imgpipe import validation
from imgpipe.adapters.metadata_table import MAX_PAGE, ItemExists, MetadataTable
from imgpipe.adapters.object_store import ObjectStore
from imgpipe.adapters.quota_ledger import QuotaLedger
from imgpipe.adapters.request_claims import RequestClaims
from imgpipe.api_error import ApiError as ApiError  # re-exported: the use cases raise it
from imgpipe.auth import Principal
from imgpipe.cursors import CursorCodec, InvalidCursor, query_fingerprint
from imgpipe.ids import is_image_id, new_image_id
from imgpipe.models import ImageItem, ImageStatus, Source
from imgpipe.purge import purge_image_objects
from imgpipe.retention import DEFAULT_RETENTION_DAYS

# API Gateway hands a Lambda at most 6 MB, and a binary body arrives base64-encoded (4/3 larger), so the
# largest direct upload is 6 MB * 3/4 minus room for headers: 4 MiB. Bigger images use the presigned POST.
DIRECT_UPLOAD_MAX_BYTES = 4 * 1024 * 1024
ANY_IMAGE = "image/*"
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class UploadSettings:
    raw_prefix: str = "raw/"
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    direct_max_bytes: int = DIRECT_UPLOAD_MAX_BYTES
    retention_days: int = DEFAULT_RETENTION_DAYS
    presign_seconds: int = 300
    limits: validation.Limits = field(default_factory=validation.Limits)


class UploadRequest(BaseModel):
    # strict: JSON types as documented ("10" is not a size, true is not 1); a client that sends them is wrong.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    filename: str = Field(min_length=1, max_length=1024)
    content_type: str = Field(min_length=1, max_length=255)
    size_bytes: int = Field(ge=1)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    metadata: dict[str, str] = Field(default_factory=dict, max_length=10)

    @field_validator("metadata")
    @classmethod
    def _bounded(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not 1 <= len(key) <= 64 or len(text) > 256:
                raise ValueError("metadata keys are 1-64 characters and values at most 256")
        return value


def _schema_error(err: SchemaError) -> ApiError:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return ApiError(422, "invalid_request", f"{where}: {first['msg']}")


def parse_since(value: str | None) -> str | None:
    """`since` as RFC 3339 with any offset, normalised to the UTC form created_at is stored in; 400 otherwise."""
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}", value):
        raise ApiError(
            400, "invalid_request", "since must be an RFC 3339 time with an offset, e.g. 2026-12-02T08:00:00Z"
        )
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return 25
    if not re.fullmatch(r"[0-9]{1,3}", value) or not 1 <= int(value) <= MAX_PAGE:  # ASCII digits only ("²" is a digit)
        raise ApiError(400, "invalid_request", f"limit must be a whole number from 1 to {MAX_PAGE}")
    return int(value)


# Reads of an image that a processor moves on between each read and delete (RECEIVED, PROCESSING, PROCESSED).
DELETE_ATTEMPTS = 3

# Item attributes that are the service's bookkeeping, not part of the API's Image (docs/api/openapi.yaml).
_INTERNAL_FIELDS = frozenset({"raw_key", "raw_version", "created_day", "tenant_status"})


@dataclass(frozen=True)
class ClaimedImage:
    image: tuple[str, datetime]  # (image id, creation time) the request's key stands for
    stored: ImageItem | None  # its item, when an earlier attempt got as far as writing it


class UploadService:
    def __init__(
        self,
        table: MetadataTable,
        raw: ObjectStore,
        settings: UploadSettings | None = None,
        processed: ObjectStore | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cursors: CursorCodec | None = None,
        quotas: QuotaLedger | None = None,
        claims: RequestClaims | None = None,
    ):
        self._table = table
        self._raw = raw
        self._processed = processed
        self._settings = settings or UploadSettings()
        self._clock = clock
        self._cursors = cursors  # None: one page only (no next)
        self._quotas = quotas  # None: no daily upload quota
        self._claims = claims  # None: a retry after a crash between writes may store a second image

    @contextmanager
    def _counted(self, principal: Principal, size_bytes: int) -> Iterator[None]:
        """The upload counts against the tenant's day (QuotaExceeded: nothing written), and is given back if
        what follows fails, so that a failed upload costs nothing."""
        if self._quotas is None:
            yield
            return
        reservation = self._quotas.reserve_upload(principal.tenant_id, size_bytes, self._clock())
        try:
            yield
        except BaseException:
            self._quotas.release(reservation)
            raise

    def _new_item(
        self,
        status: ImageStatus,
        principal: Principal,
        claim: tuple[str, datetime] | None = None,
        **fields: Any,
    ) -> ImageItem:
        """A new item of the caller's tenant with a server-generated id, its raw key (the tenant's, dated,
        deterministic) and its expiry; with `claim` (image id, creation time), the item a request claimed."""
        image_id, created = claim or (None, self._clock())
        image_id = image_id or new_image_id(int(created.timestamp() * 1000))
        key = f"{self._settings.raw_prefix}{principal.tenant_id}/{created:%Y/%m/%d}/{image_id}"
        return ImageItem.new(
            image_id,
            Source.API,
            status,
            key,
            created=created,
            retention_days=self._settings.retention_days,
            tenant_id=principal.tenant_id,
            owner=principal.key_id,
            **fields,
        )

    def request_upload(
        self, body: dict[str, Any], principal: Principal, request_key: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """POST /v1/uploads: a PENDING_UPLOAD item and a presigned POST bound to its key; and whether this answer
        is a replay. With an Idempotency-Key, every repeat of the request stands for the same image: a fresh form
        for the same object key while its bytes have not arrived (counted once, however often it is asked for),
        409 `already_uploaded` once they have — a form that could replace bytes already taken is never handed out."""
        try:
            request = UploadRequest.model_validate(body)
        except SchemaError as err:
            raise _schema_error(err) from None
        try:
            fmt = validation.format_from_mime(request.content_type)
            filename = validation.clean_filename(request.filename)
        except validation.ValidationError as err:
            raise ApiError.from_validation(err) from None
        if request.size_bytes > self._settings.max_upload_bytes:
            raise ApiError(413, "too_large", f"{request.size_bytes} bytes exceeds {self._settings.max_upload_bytes}")

        fingerprint = hashlib.sha256(  # domain-separated: a direct upload's key and a form's never stand for each other
            b"presigned\0" + json.dumps(request.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()
        claim = self._claim(principal, request_key, fingerprint)
        if claim is not None and claim.stored is not None:
            return self._upload_form(claim.stored), True
        claimed = claim.image if claim is not None else None  # new, or an earlier attempt died before its item

        item = self._new_item(
            ImageStatus.PENDING_UPLOAD,
            principal,
            claimed,
            filename=filename,
            declared_type=fmt.mime_type,
            size_bytes=request.size_bytes,
            sha256=request.sha256.lower() if request.sha256 else None,
            attributes=request.metadata,
        )
        answer = self._upload_form(item)  # signed before anything is written: a failure here leaves nothing
        try:
            with self._counted(principal, request.size_bytes):
                self._table.put_new(item)
        except ItemExists:
            racing = self._table.get(item.image_id, self._clock()) if claimed else None
            if racing is None:
                raise
            return self._upload_form(racing), True  # a concurrent attempt with the same key wrote it first
        return answer, False

    def _upload_form(self, item: ImageItem) -> dict[str, Any]:
        if item.status is not ImageStatus.PENDING_UPLOAD:
            raise ApiError(
                409,
                "already_uploaded",
                f"the bytes of this upload have arrived: its image is {item.image_id} (GET /v1/images/{item.image_id})",
            )
        post = self._raw.presigned_post(
            item.raw_key, str(item.declared_type), self._settings.max_upload_bytes, self._settings.presign_seconds
        )
        return {
            "image_id": item.image_id,
            "status": item.status.value,
            "expires_at": item.expires_at,
            "upload": {"url": post.url, "fields": post.fields, "expires_in": post.expires_in},
        }

    def direct_upload(
        self,
        data: bytes,
        content_type: str | None,
        filename: str | None,
        principal: Principal,
        request_key: str | None = None,
    ) -> dict[str, Any]:
        """PUT /v1/images: validated synchronously (headers and pixels), then object + RECEIVED item, or nothing."""
        if len(data) > self._settings.direct_max_bytes:
            raise ApiError(
                413,
                "too_large",
                f"direct uploads are limited to {self._settings.direct_max_bytes} "
                "bytes; use POST /v1/uploads for larger images",
            )
        if not content_type:
            raise ApiError(415, "unsupported_type", "a Content-Type header naming the image type is required")
        # image/* says "an image, find out which" (what generic clients send): the bytes decide, against the
        # same allowlist; a specific type must match the bytes.
        declared = None if content_type.split(";", 1)[0].strip().lower() == ANY_IMAGE else content_type
        try:
            # The client waits for this answer: decode the pixels now (within the image's time budget), so that
            # what the processor would refuse later is refused here, with its reason.
            info = validation.verify(data, declared, self._settings.limits)
            clean_name = validation.clean_filename(filename) if filename else None
        except validation.ValidationError as err:
            raise ApiError.from_validation(err) from None

        fingerprint = hashlib.sha256(b"\0".join([data, (content_type or "").encode(), (filename or "").encode()]))
        claim = self._claim(principal, request_key, fingerprint.hexdigest())
        if claim is not None and claim.stored is not None:
            return self._view(claim.stored)  # an earlier attempt of this request stored it: the same answer
        item = self._new_item(
            ImageStatus.RECEIVED,
            principal,
            claim.image if claim is not None else None,
            filename=clean_name,
            declared_type=info.format.mime_type,
            format=info.format.value,
            width=info.upright_size[0],
            height=info.upright_size[1],
            size_bytes=info.size_bytes,
            sha256=hashlib.sha256(data).hexdigest(),
        )
        with self._counted(principal, info.size_bytes):
            self._raw.put(item.raw_key, data, info.format.mime_type, metadata={"image-id": item.image_id})
            try:
                self._table.put_new(item)
            except Exception:
                self._raw.delete(item.raw_key)  # never leave an object no item describes
                raise
        return self._view(item)

    def _claim(self, principal: Principal, request_key: str | None, fingerprint: str) -> ClaimedImage | None:
        """For a request with an Idempotency-Key (None without one): the image it stands for, the same on every
        attempt whatever moment an earlier one died at, and that image's item when an attempt stored it. The
        same key with another fingerprint is a 422."""
        if request_key is None or self._claims is None:
            return None
        now = self._clock()
        claim = self._claims.claim(
            f"{principal.tenant_id}\0{request_key}", new_image_id(int(now.timestamp() * 1000)), fingerprint, now
        )
        if claim.fingerprint != fingerprint:
            raise ApiError(422, "idempotency_key_reused", "this Idempotency-Key was used for another request")
        stored = None if claim.fresh else self._table.get(claim.image_id, now)
        if stored is not None and stored.tenant_id != principal.tenant_id:
            stored = None
        return ClaimedImage((claim.image_id, claim.created_at), stored)

    def get_image(self, image_id: str, principal: Principal) -> dict[str, Any]:
        """One image of the caller's tenant. Another tenant's image answers exactly as one that does not exist
        (same status, same body, one read either way): no oracle for which ids exist."""
        item = self._table.get(image_id, self._clock()) if is_image_id(image_id) else None
        if item is None or item.tenant_id != principal.tenant_id:
            raise ApiError(404, "not_found", "no such image (unknown, or past its retention)")
        return self._view(item, with_links=True)

    def delete_image(self, image_id: str, principal: Principal) -> None:
        """DELETE /v1/images/{image_id}: the image gone now rather than at the end of its retention, exactly as
        the retention audit purges it (every version of its raw object and renditions, then its item, whose
        removal the export records as a tombstone). Another tenant's image answers as one that does not exist.
        Processing may finish while this runs: the item is deleted only in the status its objects were purged
        in, else read again and purged again; renditions written after that are the processor's to remove."""
        if self._processed is None:
            raise RuntimeError("deleting images needs the processed bucket's store")
        for _ in range(DELETE_ATTEMPTS):
            item = self._table.get(image_id, self._clock()) if is_image_id(image_id) else None
            if item is None or item.tenant_id != principal.tenant_id:
                raise ApiError(404, "not_found", "no such image (unknown, or past its retention)")
            purge_image_objects(item, self._raw, self._processed)
            if self._table.delete_unchanged(item):
                return
        raise ApiError(409, "conflict", "the image kept changing while it was deleted; try again")

    def list_images(
        self, principal: Principal, status: str | None, since: str | None, limit: str | None, cursor: str | None
    ) -> dict[str, Any]:
        """GET /v1/images: the caller's tenant's images of one status, newest first, page by page."""
        try:
            wanted = ImageStatus(status or ImageStatus.PROCESSED.value)
        except ValueError:
            raise ApiError(400, "invalid_request", f"status must be one of {[s.value for s in ImageStatus]}") from None
        since_utc = parse_since(since)
        size = parse_limit(limit)
        now = self._clock()
        query = query_fingerprint(status=wanted.value, since=since_utc)
        position = None
        if cursor:
            if self._cursors is None:
                raise ApiError(400, "invalid_cursor", "this listing has no further pages")
            try:
                position = self._cursors.decode(cursor, principal.tenant_id, query, now)
            except InvalidCursor:
                raise ApiError(
                    400, "invalid_cursor", "next must be a cursor this API returned for this listing, within an hour"
                ) from None
        try:
            items, last = self._table.list_for_tenant(
                principal.tenant_id, wanted, since=since_utc, limit=size, start_key=position, now=now
            )
        except ValueError:
            raise ApiError(400, "invalid_cursor", "next must be a cursor this API returned for this listing") from None
        next_cursor = None
        if last is not None and self._cursors is not None:
            next_cursor = self._cursors.encode(last, principal.tenant_id, query, now)
        return {"items": [self._view(i, with_links=True) for i in items], "next": next_cursor}

    def _view(self, item: ImageItem, with_links: bool = False) -> dict[str, Any]:
        view = {k: v for k, v in item.to_record().items() if k not in _INTERNAL_FIELDS}
        if with_links and item.status is ImageStatus.PROCESSED and self._processed is not None:
            view["links"] = {
                name: self._processed.presigned_get(rendition.key)
                for name, rendition in sorted(item.renditions.items())
            }
        return view

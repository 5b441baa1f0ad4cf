"""The metadata item and the retention rule (pure: no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from imgpipe import retention
from imgpipe.ids import new_image_id
from imgpipe.models import TRANSITIONS, ImageItem, ImageStatus, Source, sources_of

CREATED = datetime(2026, 11, 22, 23, 30, 0, 123456, tzinfo=UTC)


def test_new_item_derives_day_time_and_expiry_from_one_clock() -> None:
    item = ImageItem.new(new_image_id(), Source.API, ImageStatus.PENDING_UPLOAD, "raw/x", created=CREATED)
    assert item.created_at == "2026-11-22T23:30:00.123Z"
    assert item.created_day == "2026-11-22"
    assert item.expires_at == int((CREATED + timedelta(days=7)).timestamp())


def test_created_day_is_utc_whatever_the_callers_zone() -> None:
    local = CREATED.astimezone(timezone(timedelta(hours=5)))  # already 2026-11-23 there
    item = ImageItem.new(new_image_id(), Source.KAFKA, ImageStatus.RECEIVED, "raw/x", created=local)
    assert item.created_day == "2026-11-22"


def test_expiry_is_read_time_truth() -> None:
    item = ImageItem.new(new_image_id(), Source.API, ImageStatus.RECEIVED, "raw/x", created=CREATED, retention_days=1)
    assert not item.is_expired(CREATED + timedelta(hours=23, minutes=59))
    assert item.is_expired(CREATED + timedelta(days=1))


@pytest.mark.parametrize("days", [0, 8, -1])
def test_retention_outside_one_to_seven_days_is_refused(days: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 7"):
        retention.expires_at(CREATED, days)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        retention.expires_at(datetime(2026, 1, 1), 7)


@pytest.mark.parametrize("image_id", ["raw/../../x", "0192f1a2-0000-4000-8000-000000000000", ""])
def test_client_chosen_ids_are_refused(image_id: str) -> None:
    with pytest.raises(ValidationError, match="server-generated UUIDv7"):
        ImageItem.new(image_id, Source.API, ImageStatus.RECEIVED, "raw/x", created=CREATED)


def test_record_omits_nulls_and_stores_enums_as_text() -> None:
    item = ImageItem.new(new_image_id(), Source.API, ImageStatus.RECEIVED, "raw/x", created=CREATED, width=10)
    record = item.to_record()
    assert record["status"] == "RECEIVED" and record["source"] == "api" and record["width"] == 10
    assert "height" not in record and "attributes" not in record
    assert ImageItem.model_validate(record) == item


def test_terminal_states_have_no_way_out_and_processed_comes_only_from_processing() -> None:
    assert TRANSITIONS[ImageStatus.PROCESSED] == frozenset() == TRANSITIONS[ImageStatus.REJECTED]
    assert sources_of(ImageStatus.PROCESSED) == {ImageStatus.PROCESSING}
    assert sources_of(ImageStatus.PENDING_UPLOAD) == frozenset()

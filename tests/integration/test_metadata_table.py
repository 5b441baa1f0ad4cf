"""The metadata adapter against the Terraform-deployed table on the moto server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from imgpipe.adapters.metadata_table import ItemExists, MetadataTable, TransitionRefused
from imgpipe.ids import new_image_id
from imgpipe.models import ImageItem, ImageStatus, Source
from scripts import stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def table(deployed: dict[str, Any], local_stack: stack.StackConfig) -> MetadataTable:
    return MetadataTable(stack.aws_client(local_stack, "dynamodb"), deployed["metadata_table_name"])


def new_item(status: ImageStatus = ImageStatus.RECEIVED, created: datetime | None = None, days: int = 7) -> ImageItem:
    image_id = new_image_id()
    return ImageItem.new(image_id, Source.API, status, f"raw/{image_id}", created=created, retention_days=days)


def test_put_get_and_replay_refused(table: MetadataTable) -> None:
    item = new_item()
    table.put_new(item)
    assert table.get(item.image_id) == item
    with pytest.raises(ItemExists):
        table.put_new(item)
    assert table.get(new_image_id()) is None


def test_expired_items_read_as_gone_before_ttl_deletes_them(table: MetadataTable) -> None:
    item = new_item(created=datetime.now(UTC) - timedelta(days=2), days=1)
    table.put_new(item)
    assert table.get(item.image_id) is None
    assert table.get(item.image_id, now=datetime.now(UTC) - timedelta(days=1, hours=1)) == item
    with pytest.raises(TransitionRefused):
        table.transition(item.image_id, ImageStatus.PROCESSING)


def test_transitions_are_conditional_so_redelivery_is_a_no_op(table: MetadataTable) -> None:
    item = new_item()
    table.put_new(item)
    processing = table.transition(item.image_id, ImageStatus.PROCESSING)
    assert processing.status is ImageStatus.PROCESSING
    done = table.transition(item.image_id, ImageStatus.PROCESSED, width=640, height=480)
    assert (done.status, done.width, done.height) == (ImageStatus.PROCESSED, 640, 480)
    with pytest.raises(TransitionRefused):  # a redelivered message must not re-process a PROCESSED item
        table.transition(item.image_id, ImageStatus.PROCESSING)
    with pytest.raises(TransitionRefused):
        table.transition(new_image_id(), ImageStatus.PROCESSING)  # nothing there: no item is conjured up
    assert table.get(item.image_id).status is ImageStatus.PROCESSED  # type: ignore[union-attr]


def test_listing_by_status_pages_newest_first(table: MetadataTable) -> None:
    # Half an hour ahead: the session's table is shared, and no other test writes items created after now.
    base = datetime.now(UTC) + timedelta(minutes=30)
    made = [new_item(ImageStatus.REJECTED, created=base + timedelta(seconds=i)) for i in range(5)]
    for item in made:
        table.put_new(item)
    since = made[0].created_at
    first, cursor = table.list_by_status(ImageStatus.REJECTED, since=since, limit=3)
    assert cursor is not None
    second, _ = table.list_by_status(ImageStatus.REJECTED, since=since, limit=3, cursor=cursor)
    listed = [i.image_id for i in first + second]
    assert listed == [i.image_id for i in reversed(made)]


@pytest.mark.parametrize("cursor", ["not-base64!", "e30=", "eyJpbWFnZV9pZCI6IDF9"])
def test_malformed_cursors_are_refused(table: MetadataTable, cursor: str) -> None:
    with pytest.raises(ValueError, match="malformed pagination cursor"):
        table.list_by_status(ImageStatus.RECEIVED, cursor=cursor)

"""The metadata adapter against the Terraform-deployed table on the moto server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from imgpipe.adapters.metadata_table import ItemExists, MetadataTable, TransitionRefused
from imgpipe.ids import new_image_id
from imgpipe.models import ImageItem, ImageStatus, Source
from scripts.local import stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def table(deployed: dict[str, Any], local_stack: stack.StackConfig) -> MetadataTable:
    return MetadataTable(stack.aws_client(local_stack, "dynamodb"), deployed["metadata_table_name"])


def new_item(
    status: ImageStatus = ImageStatus.RECEIVED, created: datetime | None = None, days: int = 7, tenant: str = "t"
) -> ImageItem:
    image_id = new_image_id()
    return ImageItem.new(
        image_id, Source.API, status, f"raw/{tenant}/{image_id}", created=created, retention_days=days, tenant_id=tenant
    )


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


def test_a_tenants_listing_pages_newest_first_and_holds_only_its_items(table: MetadataTable) -> None:
    # Half an hour ahead: the session's table is shared, and no other test writes items created after now.
    base = datetime.now(UTC) + timedelta(minutes=30)
    made = [new_item(ImageStatus.REJECTED, created=base + timedelta(seconds=i), tenant="lister") for i in range(5)]
    other = new_item(ImageStatus.REJECTED, created=base + timedelta(seconds=2), tenant="lister-b")
    for item in [*made, other]:
        table.put_new(item)
    since = made[0].created_at
    first, position = table.list_for_tenant("lister", ImageStatus.REJECTED, since=since, limit=3)
    assert position is not None
    second, _ = table.list_for_tenant("lister", ImageStatus.REJECTED, since=since, limit=3, start_key=position)
    listed = [i.image_id for i in first + second]
    assert listed == [i.image_id for i in reversed(made)]
    assert table.list_for_tenant("lister-b", ImageStatus.REJECTED, since=since)[0] == [other]


def test_a_transition_moves_the_item_to_its_tenants_partition_of_the_new_status(table: MetadataTable) -> None:
    item = new_item(tenant="mover")
    table.put_new(item)
    table.transition(item.image_id, ImageStatus.PROCESSING, tenant_id="mover")
    assert [i.image_id for i in table.list_for_tenant("mover", ImageStatus.PROCESSING)[0]] == [item.image_id]
    assert table.list_for_tenant("mover", ImageStatus.RECEIVED)[0] == []


@pytest.mark.parametrize(
    "position",
    [
        {"image_id": {"S": "x"}},
        {"image_id": {"N": "1"}, "tenant_status": {"S": "lister#RECEIVED"}, "created_at": {"S": "x"}},
        # a well-formed position of another tenant's partition
        {"image_id": {"S": "x"}, "tenant_status": {"S": "someone-else#RECEIVED"}, "created_at": {"S": "x"}},
    ],
)
def test_a_position_of_another_listing_is_refused(table: MetadataTable, position: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not one of this listing"):
        table.list_for_tenant("lister", ImageStatus.RECEIVED, start_key=position)

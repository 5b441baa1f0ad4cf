"""Server-generated UUIDv7 image ids."""

from __future__ import annotations

import uuid

import pytest

from imgpipe.ids import id_timestamp_ms, is_image_id, new_image_id


def test_ids_are_version_7_rfc_variant_and_carry_their_time() -> None:
    image_id = new_image_id(now_ms=1_795_000_000_123)
    parsed = uuid.UUID(image_id)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert id_timestamp_ms(image_id) == 1_795_000_000_123
    assert is_image_id(image_id)


def test_ids_sort_by_creation_time_and_do_not_repeat() -> None:
    ids = [new_image_id(now_ms=1_700_000_000_000 + i) for i in range(500)]
    assert ids == sorted(ids)
    assert len({new_image_id() for _ in range(10_000)}) == 10_000


@pytest.mark.parametrize(
    "candidate",
    ["", "../raw/x", str(uuid.uuid4()), new_image_id().upper(), new_image_id() + "x", "raw/" + new_image_id()],
    # named, not shown: the values are fresh each run and every xdist worker must collect the same test ids
    ids=["empty", "path", "uuid4", "upper-case", "suffixed", "prefixed"],
)
def test_anything_but_a_canonical_uuid7_is_not_an_image_id(candidate: str) -> None:
    assert not is_image_id(candidate)


def test_out_of_range_time_is_refused() -> None:
    with pytest.raises(ValueError, match="out of UUIDv7 range"):
        new_image_id(now_ms=-1)

"""Removing an image's bytes for good: its raw object and every rendition, each version of each (no delete
marker left in their place). The retention audit (an expired image) and DELETE /v1/images/{id} (its tenant's
request) purge the same way, and both remove the objects before the item, so that a failure halfway leaves an
item that a retry finds and finishes, never bytes that nothing points at any more."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imgpipe.adapters.object_store import ObjectStore
    from imgpipe.models import ImageItem


def purge_key(store: ObjectStore, key: str) -> int:
    """Deletes every version and delete marker of exactly `key`; how many there were (0: nothing to do, and no
    delete marker is written for a key that never existed)."""
    versions = store.versions_of(key)
    if versions:
        store.delete_versions(versions)
    return len(versions)


def purge_image_objects(item: ImageItem, raw: ObjectStore, processed: ObjectStore) -> dict[str, int]:
    """The versions deleted per bucket: the raw object's, then those of each rendition the item records."""
    purged = {raw.bucket: purge_key(raw, item.raw_key)}
    for rendition in item.renditions.values():
        purged[processed.bucket] = purged.get(processed.bucket, 0) + purge_key(processed, rendition.key)
    return purged

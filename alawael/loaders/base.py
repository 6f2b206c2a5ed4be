"""Generic batch loaders over one collection: one `$in` query per batch, key order kept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiodataloader import DataLoader
from bson import ObjectId

from alawael.infra.db import Db, Document
from alawael.infra.observers import BatchObserver, observe_batches, report_batch

# (collection, batch size) goes to the observers after each batch: the metrics module counts
# them. Re-exported for callers that registered here before the hooks moved.
_report = report_batch
__all__ = ["BatchObserver", "DocumentByIdLoader", "observe_batches"]


class DocumentByIdLoader(DataLoader):  # type: ignore[type-arg]
    """Loads documents by `_id`, each turned into what the door works with (a typed record,
    see `to_item`); missing ids resolve to None."""

    collection: str = ""
    projection: Mapping[str, Any] | None = None

    def __init__(self, db: Db, collection: str | None = None) -> None:
        super().__init__()
        self.db = db
        if collection is not None:
            self.collection = collection

    def to_item(self, doc: Document) -> Any:
        """The loaded value for one document: the document itself unless a subclass says."""
        return doc

    async def batch_load_fn(self, keys: Sequence[ObjectId]) -> list[Any]:
        _report(self.collection, len(keys))
        cursor = self.db[self.collection].find({"_id": {"$in": list(keys)}}, self.projection)
        by_id = {doc["_id"]: self.to_item(doc) async for doc in cursor}
        return [by_id.get(key) for key in keys]

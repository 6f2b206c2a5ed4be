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
__all__ = ["BatchObserver", "DocumentByIdLoader", "DocumentsByFieldLoader", "observe_batches"]


class DocumentByIdLoader(DataLoader):  # type: ignore[type-arg]
    """Loads documents by `_id`; missing ids resolve to None."""

    collection: str = ""
    projection: Mapping[str, Any] | None = None

    def __init__(self, db: Db, collection: str | None = None) -> None:
        super().__init__()
        self.db = db
        if collection is not None:
            self.collection = collection

    async def batch_load_fn(self, keys: Sequence[ObjectId]) -> list[Document | None]:
        _report(self.collection, len(keys))
        cursor = self.db[self.collection].find({"_id": {"$in": list(keys)}}, self.projection)
        by_id = {doc["_id"]: doc async for doc in cursor}
        return [by_id.get(key) for key in keys]


class DocumentsByFieldLoader(DataLoader):  # type: ignore[type-arg]
    """One-to-many: loads the documents whose `field` equals each key, sorted as asked."""

    collection: str = ""
    field: str = ""
    sort: list[tuple[str, int]] | None = None

    def __init__(self, db: Db) -> None:
        super().__init__()
        self.db = db

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[list[Document]]:
        _report(self.collection, len(keys))
        cursor = self.db[self.collection].find({self.field: {"$in": list(keys)}})
        if self.sort:
            cursor = cursor.sort(self.sort)
        grouped: dict[Any, list[Document]] = {key: [] for key in keys}
        async for doc in cursor:
            grouped.setdefault(doc[self.field], []).append(doc)
        return [grouped[key] for key in keys]

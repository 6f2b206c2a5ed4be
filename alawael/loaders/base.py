"""Generic batch loaders over one collection: one `$in` query per batch, key order kept."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiodataloader import DataLoader
from bson import ObjectId

from alawael.db import Db, Document

# Called with (collection, batch size) after each batch: the metrics module counts them.
BatchObserver = Callable[[str, int], None]
_observers: list[BatchObserver] = []


def observe_batches(observer: BatchObserver) -> None:
    _observers.append(observer)


def _report(collection: str, size: int) -> None:
    for observer in _observers:
        observer(collection, size)


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

from __future__ import annotations

from alawael.infra.db import Document
from alawael.loaders.base import DocumentByIdLoader
from alawael.records.orders import OrderRecord
from alawael.services.search import WITHOUT_KEYS


class OrderByIdLoader(DocumentByIdLoader):
    collection = "orders"
    projection = WITHOUT_KEYS

    def to_item(self, doc: Document) -> OrderRecord:
        return OrderRecord.from_doc(doc)

from __future__ import annotations

from alawael.infra.db import Document
from alawael.loaders.base import DocumentByIdLoader
from alawael.records.orders import OrderRecord


class OrderByIdLoader(DocumentByIdLoader):
    collection = "orders"

    def to_item(self, doc: Document) -> OrderRecord:
        return OrderRecord.from_doc(doc)

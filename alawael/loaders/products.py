from __future__ import annotations

from alawael.infra.db import Document
from alawael.loaders.base import DocumentByIdLoader
from alawael.records.products import ProductRecord
from alawael.services.search import WITHOUT_KEYS


class ProductByIdLoader(DocumentByIdLoader):
    # Archived products load too: old orders keep showing what was bought. Visibility is
    # the caller's business (see services.products.visible).
    collection = "products"
    projection = WITHOUT_KEYS

    def to_item(self, doc: Document) -> ProductRecord:
        return ProductRecord.from_doc(doc)

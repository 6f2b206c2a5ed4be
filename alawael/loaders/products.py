from __future__ import annotations

from alawael.loaders.base import DocumentByIdLoader


class ProductByIdLoader(DocumentByIdLoader):
    # Archived products load too: old orders keep showing what was bought. Visibility is
    # the caller's business (see services.products.visible).
    collection = "products"

from __future__ import annotations

from alawael.infra.db import Document
from alawael.loaders.base import DocumentByIdLoader
from alawael.records.flags import FlagRecord


class FeatureFlagByIdLoader(DocumentByIdLoader):
    """For `node(id)` on FeatureFlag ids."""

    collection = "feature_flags"

    def to_item(self, doc: Document) -> FlagRecord:
        return FlagRecord.from_doc(doc)

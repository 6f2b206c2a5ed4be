from __future__ import annotations

from alawael.infra.db import Document
from alawael.loaders.base import DocumentByIdLoader
from alawael.records.notifications import NotificationRecord


class NotificationByIdLoader(DocumentByIdLoader):
    collection = "notifications"

    def to_item(self, doc: Document) -> NotificationRecord:
        return NotificationRecord.from_doc(doc)

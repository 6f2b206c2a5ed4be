from __future__ import annotations

from pymongo import DESCENDING

from alawael.loaders.base import DocumentByIdLoader, DocumentsByFieldLoader


class NotificationsByUserIdLoader(DocumentsByFieldLoader):
    """All notifications of each user, newest first (one `$in` query per batch)."""

    collection = "notifications"
    field = "userId"
    sort = [("createdAt", DESCENDING), ("_id", DESCENDING)]


class NotificationByIdLoader(DocumentByIdLoader):
    collection = "notifications"

from __future__ import annotations

from pymongo import DESCENDING

from alawael.loaders.base import DocumentByIdLoader, DocumentsByFieldLoader


class OrderByIdLoader(DocumentByIdLoader):
    collection = "orders"


class OrdersByUserIdLoader(DocumentsByFieldLoader):
    """All orders of each user, newest first. `User.orders` is a paginated connection and
    uses `paginate` instead (cursors need a keyset query per user); this loader serves
    list-shaped uses where a handful of users each have a handful of orders."""

    collection = "orders"
    field = "userId"
    sort = [("createdAt", DESCENDING), ("_id", DESCENDING)]

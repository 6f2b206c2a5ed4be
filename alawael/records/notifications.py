"""The notification record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bson import ObjectId


class NotificationType(StrEnum):
    ORDER_PLACED = "ORDER_PLACED"
    ORDER_STATUS = "ORDER_STATUS"
    LOW_STOCK = "LOW_STOCK"
    DAILY_SUMMARY = "DAILY_SUMMARY"


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    id: ObjectId
    user_id: ObjectId
    type: NotificationType
    title: str
    body: str
    # Small values and ObjectIds (orderId, productId); the doors render ids as global ids.
    data: dict[str, Any] = field(hash=False)
    read: bool
    read_at: datetime | None
    created_at: datetime

    @property
    def order_id(self) -> ObjectId | None:
        value = self.data.get("orderId")
        return value if isinstance(value, ObjectId) else None

    @property
    def product_id(self) -> ObjectId | None:
        value = self.data.get("productId")
        return value if isinstance(value, ObjectId) else None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> NotificationRecord:
        return cls(
            id=doc["_id"],
            user_id=doc["userId"],
            type=NotificationType(doc["type"]),
            title=doc["title"],
            body=doc.get("body", ""),
            data=dict(doc.get("data") or {}),
            read=bool(doc.get("read")),
            read_at=doc.get("readAt"),
            created_at=doc["createdAt"],
        )

"""The order record with its lines and status history (snapshots taken when ordered)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bson import ObjectId

from alawael.records.defaults import DEFAULT_CURRENCY


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class OrderLineRecord:
    product_id: ObjectId
    sku: str
    name: str
    unit_price_cents: int
    quantity: int
    line_total_cents: int

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> OrderLineRecord:
        return cls(
            product_id=doc["productId"],
            sku=doc["sku"],
            name=doc["name"],
            unit_price_cents=doc["unitPriceCents"],
            quantity=doc["quantity"],
            line_total_cents=doc["lineTotalCents"],
        )


@dataclass(frozen=True, slots=True)
class StatusChangeRecord:
    status: OrderStatus
    at: datetime
    note: str | None
    by_user_id: ObjectId | None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> StatusChangeRecord:
        return cls(
            status=OrderStatus(doc["status"]),
            at=doc["at"],
            note=doc.get("note"),
            by_user_id=doc.get("byUserId"),
        )


@dataclass(frozen=True, slots=True)
class OrderRecord:
    id: ObjectId
    number: str
    user_id: ObjectId
    items: tuple[OrderLineRecord, ...]
    subtotal_cents: int
    total_cents: int
    currency: str
    status: OrderStatus
    status_history: tuple[StatusChangeRecord, ...]
    note: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> OrderRecord:
        return cls(
            id=doc["_id"],
            number=doc["number"],
            user_id=doc["userId"],
            items=tuple(OrderLineRecord.from_doc(item) for item in doc["items"]),
            subtotal_cents=doc["subtotalCents"],
            total_cents=doc["totalCents"],
            currency=doc.get("currency", DEFAULT_CURRENCY),
            status=OrderStatus(doc["status"]),
            status_history=tuple(
                StatusChangeRecord.from_doc(h) for h in doc.get("statusHistory", ())
            ),
            note=doc.get("note"),
            created_at=doc["createdAt"],
            updated_at=doc["updatedAt"],
        )

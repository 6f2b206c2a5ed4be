"""The product record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from alawael.records.defaults import DEFAULT_CURRENCY, DEFAULT_LOW_STOCK_THRESHOLD


@dataclass(frozen=True, slots=True)
class ProductRecord:
    id: ObjectId
    sku: str
    name: str
    description: str
    category: str
    price_cents: int
    currency: str
    stock: int
    low_stock_threshold: int
    archived: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ProductRecord:
        return cls(
            id=doc["_id"],
            sku=doc["sku"],
            name=doc["name"],
            description=doc.get("description", ""),
            category=doc.get("category", ""),
            price_cents=doc["priceCents"],
            currency=doc.get("currency", DEFAULT_CURRENCY),
            stock=doc["stock"],
            low_stock_threshold=doc.get("lowStockThreshold", DEFAULT_LOW_STOCK_THRESHOLD),
            archived=bool(doc.get("archived", False)),
            created_at=doc["createdAt"],
            updated_at=doc["updatedAt"],
        )


@dataclass(frozen=True, slots=True)
class CategoryCount:
    """A category and how many products (that the caller may see) it holds."""

    name: str
    count: int

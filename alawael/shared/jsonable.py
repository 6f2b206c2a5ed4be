"""BSON values -> JSON (audit before/after, notification data), the same for every door."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.decimal128 import Decimal128

from alawael.shared.ids import to_global_id

# Global-id keys inside JSON blobs (notification data, audit before/after).
_ID_KEYS = {"orderId": "Order", "productId": "Product", "userId": "User", "byUserId": "User"}


def jsonable(value: Any, key: str | None = None) -> Any:
    """BSON values -> JSON: ObjectIds under known keys become global ids, others hex;
    datetimes ISO 8601; Decimal128 strings."""
    if isinstance(value, dict):
        return {k: jsonable(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, key) for v in value]
    if isinstance(value, ObjectId):
        type_name = _ID_KEYS.get(key or "")
        return to_global_id(type_name, value) if type_name else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal128):
        return str(value.to_decimal())
    return value

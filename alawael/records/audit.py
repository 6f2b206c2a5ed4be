"""The audit-entry record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bson import ObjectId


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: ObjectId
    user_id: ObjectId | None
    role: str | None
    action: str
    entity: str
    entity_id: Any
    before: dict[str, Any] | None = field(hash=False)
    after: dict[str, Any] | None = field(hash=False)
    request_id: str | None
    timestamp: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> AuditRecord:
        return cls(
            id=doc["_id"],
            user_id=doc.get("userId"),
            role=doc.get("role"),
            action=doc["action"],
            entity=doc["entity"],
            entity_id=doc.get("entityId"),
            before=doc.get("before"),
            after=doc.get("after"),
            request_id=doc.get("requestId"),
            timestamp=doc["timestamp"],
        )

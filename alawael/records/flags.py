"""The feature-flag record (the definition, as admins see it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from alawael.auth.permissions import Role


@dataclass(frozen=True, slots=True)
class FlagRecord:
    id: ObjectId
    key: str
    description: str
    enabled: bool
    rollout_percentage: int
    allowed_roles: tuple[Role, ...]
    allowed_user_ids: tuple[ObjectId, ...]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> FlagRecord:
        return cls(
            id=doc["_id"],
            key=doc["key"],
            description=doc.get("description", ""),
            enabled=bool(doc.get("enabled", False)),
            rollout_percentage=int(doc.get("rolloutPercentage", 0)),
            allowed_roles=tuple(Role(r) for r in doc.get("allowedRoles") or ()),
            allowed_user_ids=tuple(doc.get("allowedUserIds") or ()),
            created_at=doc["createdAt"],
            updated_at=doc["updatedAt"],
        )

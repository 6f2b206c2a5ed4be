"""The user record: what may leave the core about a user (never the password hash)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from alawael.auth.permissions import Role
from alawael.shared.locale import Locale, locale_of


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: ObjectId
    email: str
    name: str
    phone: str | None
    role: Role
    active: bool
    created_at: datetime
    locale: Locale

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> UserRecord:
        return cls(
            id=doc["_id"],
            email=doc["email"],
            name=doc.get("name", ""),
            phone=doc.get("phone"),
            role=Role(doc["role"]),
            active=doc.get("active", True),
            created_at=doc["createdAt"],
            locale=locale_of(doc),
        )

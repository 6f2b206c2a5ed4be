"""The User type (queries and mutations on users are added by the users/auth work)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from alawael.auth.permissions import Role as RoleValue
from alawael.db import Document
from alawael.schema.node import Node, to_global_id

# The domain enum itself is the GraphQL enum: one definition of the roles.
strawberry.enum(
    RoleValue,
    name="Role",
    description="ADMIN > MANAGER > STAFF > CUSTOMER; see the permission table in the README.",
)


@strawberry.type
class User(Node):
    email: str
    name: str
    phone: str | None
    role: RoleValue
    active: bool
    created_at: datetime
    _id: strawberry.Private[object]

    @classmethod
    def from_doc(cls, doc: Document) -> User:
        return cls(
            id=to_global_id("User", doc["_id"]),
            email=doc["email"],
            name=doc.get("name", ""),
            phone=doc.get("phone"),
            role=RoleValue(doc["role"]),
            active=doc.get("active", True),
            created_at=doc["createdAt"],
            _id=doc["_id"],
        )

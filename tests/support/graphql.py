"""Schema-level helpers: run an operation without HTTP, as a given user."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bson import ObjectId

from alawael.auth.permissions import Actor, Role
from alawael.context import Context, Resources
from alawael.schema.build import exported_schema
from alawael.services import search

schema = exported_schema()


async def execute(
    resources: Resources,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    user: Actor | None = None,
) -> Any:
    """Run `query` against the schema; returns strawberry's ExecutionResult."""
    return await schema.execute(
        query, variable_values=variables, context_value=Context(resources=resources, user=user)
    )


async def make_user(
    resources: Resources,
    role: Role = Role.CUSTOMER,
    *,
    email: str | None = None,
    name: str = "Test User",
) -> Actor:
    """Insert a user document directly (no password) and return its Actor."""
    oid = ObjectId()
    now = datetime.now(UTC)
    email = email or f"{role.value.lower()}-{oid}@example.com"
    await resources.db.users.insert_one(
        {
            "_id": oid,
            "email": email,
            "name": name,
            "phone": None,
            "role": role.value,
            "active": True,
            "passwordHash": None,
            "createdAt": now,
            "updatedAt": now,
            # As every write path stores them (alawael.services.search).
            **search.user_keys({"name": name, "email": email}),
        }
    )
    return Actor(user_id=str(oid), role=role)

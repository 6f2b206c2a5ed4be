"""The audit trail query (admins): who did what to which entity, when, before/after."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from bson import ObjectId
from strawberry.scalars import JSON
from strawberry.types import Info

from alawael.auth.permissions import Permission
from alawael.records.audit import AuditRecord
from alawael.resolvers import audit as r
from alawael.schema.connection import Connection, build_connection
from alawael.schema.node import to_global_id
from alawael.schema.permissions import HasPermission
from alawael.shared.jsonable import jsonable

if TYPE_CHECKING:
    from alawael.schema.users import User

# Audit `entity` names -> GraphQL type names, so entity ids come out as global ids.
ENTITY_TYPES = {
    "order": "Order",
    "product": "Product",
    "notification": "Notification",
    "user": "User",
    "feature_flag": "FeatureFlag",
}


@strawberry.type
class AuditEntry:
    id: strawberry.ID
    role: str | None
    action: str
    entity: str
    entity_id: strawberry.ID | None = strawberry.field(
        description="A global id when the entity is a node type, else the raw id."
    )
    before: JSON | None
    after: JSON | None
    request_id: str | None
    timestamp: datetime
    _user_id: strawberry.Private[ObjectId | None]

    @strawberry.field(description="The actor; null for the system or a deleted user.")
    async def user(
        self, info: Info
    ) -> Annotated[User, strawberry.lazy("alawael.schema.users")] | None:
        from alawael.schema.users import User

        if self._user_id is None:
            return None
        return User.maybe(await info.context.loaders.user_by_id.load(self._user_id))

    @classmethod
    def from_record(cls, a: AuditRecord) -> AuditEntry:
        raw_id = a.entity_id
        type_name = ENTITY_TYPES.get(a.entity)
        entity_id = None
        if isinstance(raw_id, ObjectId) and type_name:
            entity_id = to_global_id(type_name, raw_id)
        elif raw_id is not None:
            entity_id = strawberry.ID(str(raw_id))
        return cls(
            id=strawberry.ID(str(a.id)),
            role=a.role,
            action=a.action,
            entity=a.entity,
            entity_id=entity_id,
            before=jsonable(a.before),
            after=jsonable(a.after),
            request_id=a.request_id,
            timestamp=a.timestamp,
            _user_id=a.user_id,
        )


@strawberry.input(name="AuditFilter")
class AuditFilterInput:
    user_id: strawberry.ID | None = None
    entity: str | None = strawberry.field(default=None, description='e.g. "order", "product"')
    entity_id: strawberry.ID | None = strawberry.field(
        default=None, description="A global id (or the raw id of a non-node entity)."
    )
    from_: datetime | None = strawberry.field(name="from", default=None)
    to: datetime | None = None


@strawberry.type
class AuditQuery:
    @strawberry.field(
        permission_classes=[HasPermission(Permission.VIEW_AUDIT)],
        description="The audit trail, newest first (admins).",
    )
    async def audit_trail(
        self,
        info: Info,
        filter: AuditFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEntry]:
        page = await r.audit_page(info, filter, first, after)
        return build_connection(page, AuditEntry.from_record)

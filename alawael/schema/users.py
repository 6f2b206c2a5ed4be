"""The User type (queries and mutations on users are added by the users/auth work)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from bson import ObjectId
from strawberry.types import Info

from alawael.auth.permissions import Permission
from alawael.auth.permissions import Role as RoleValue
from alawael.records.orders import OrderStatus
from alawael.records.users import UserRecord
from alawael.schema.connection import Connection
from alawael.schema.node import Node, to_global_id
from alawael.schema.notifications import Notification, notifications_connection
from alawael.schema.orders import Order, OrderFilterInput, OrderSortInput, orders_connection
from alawael.schema.permissions import HasPermission
from alawael.shared.locale import Locale

strawberry.enum(Locale, name="Locale", description="The language mails are written in.")

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
    locale: Locale = strawberry.field(description="Language of the mails sent to this user.")
    _id: strawberry.Private[ObjectId]

    @strawberry.field(
        permission_classes=[HasPermission(Permission.VIEW_OWN_ORDERS)],
        description="This user's orders (your own; anyone's for staff). A keyset-paginated "
        "query per user, not a DataLoader: a connection needs cursors.",
    )
    async def orders(
        self,
        info: Info,
        status: OrderStatus | None = None,
        sort: OrderSortInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Order]:
        flt = OrderFilterInput(status=status, user_id=self.id)
        return await orders_connection(info, flt, sort, first, after, last, before)

    @strawberry.field(
        permission_classes=[HasPermission(Permission.READ_OWN_NOTIFICATIONS)],
        description="Your own notifications, newest first (FORBIDDEN for other users); "
        "first/after forward, last/before backward.",
    )
    async def notifications(
        self,
        info: Info,
        unread_only: bool = False,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Notification] | None:
        return await notifications_connection(
            info, unread_only, first, after, last, before, of_user=self._id
        )

    @classmethod
    def from_record(cls, u: UserRecord) -> User:
        return cls(
            id=to_global_id("User", u.id),
            email=u.email,
            name=u.name,
            phone=u.phone,
            role=u.role,
            active=u.active,
            created_at=u.created_at,
            locale=u.locale,
            _id=u.id,
        )

    @classmethod
    def maybe(cls, u: UserRecord | None) -> User | None:
        return None if u is None else cls.from_record(u)

"""Notifications: the caller's own, as a connection, plus read marks."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import strawberry
from bson import ObjectId
from strawberry.scalars import JSON
from strawberry.types import Info

from alawael.auth.permissions import Permission
from alawael.records.notifications import NotificationRecord, NotificationType
from alawael.resolvers import notifications as r
from alawael.schema.connection import Connection, build_connection
from alawael.schema.errors import UserError, run_mutation
from alawael.schema.node import Node, register_node, to_global_id
from alawael.schema.orders import Order
from alawael.schema.permissions import HasPermission
from alawael.schema.products import Product
from alawael.shared.jsonable import jsonable

strawberry.enum(NotificationType, name="NotificationType")


@strawberry.type
class Notification(Node):
    type: NotificationType
    title: str
    body: str
    data: JSON = strawberry.field(description="Ids (as global ids) and small values.")
    read: bool
    read_at: datetime | None
    created_at: datetime
    _order_id: strawberry.Private[ObjectId | None]
    _product_id: strawberry.Private[ObjectId | None]

    @strawberry.field(description="The order this is about, if any (and still visible).")
    async def order(self, info: Info) -> Order | None:
        if self._order_id is None:
            return None
        return Order.maybe(await r.order_of(info, self._order_id))

    @strawberry.field(description="The product this is about, if any (and still visible).")
    async def product(self, info: Info) -> Product | None:
        if self._product_id is None:
            return None
        return Product.maybe(await r.product_of(info, self._product_id))

    @classmethod
    def from_record(cls, n: NotificationRecord) -> Notification:
        return cls(
            id=to_global_id("Notification", n.id),
            type=n.type,
            title=n.title,
            body=n.body,
            data=jsonable(n.data),
            read=n.read,
            read_at=n.read_at,
            created_at=n.created_at,
            _order_id=n.order_id,
            _product_id=n.product_id,
        )


@strawberry.type
class MarkNotificationReadPayload:
    notification: Notification | None = None
    errors: list[UserError]


@strawberry.type
class MarkAllNotificationsReadPayload:
    count: int = 0
    errors: list[UserError]


async def _notification(result: Awaitable[NotificationRecord]) -> dict[str, Any]:
    return {"notification": Notification.from_record(await result)}


async def _count(result: Awaitable[int]) -> dict[str, Any]:
    return {"count": await result}


async def _node(info: Info, oid: ObjectId) -> Notification | None:
    notification = await r.visible_notification(info, oid)
    return None if notification is None else Notification.from_record(notification)


register_node("Notification", _node)


async def notifications_connection(
    info: Info,
    unread_only: bool,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
    of_user: ObjectId | None = None,
) -> Connection[Notification]:
    page = await r.notifications_page(info, unread_only, first, after, last, before, of_user)
    return build_connection(page, Notification.from_record)


_OWN = [HasPermission(Permission.READ_OWN_NOTIFICATIONS)]


@strawberry.type
class NotificationQuery:
    @strawberry.field(
        permission_classes=_OWN,
        description="Your notifications, newest first; page forward (first/after) or "
        "backward (last/before).",
    )
    async def notifications(
        self,
        info: Info,
        unread_only: bool = False,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Notification]:
        return await notifications_connection(info, unread_only, first, after, last, before)

    @strawberry.field(permission_classes=_OWN)
    async def unread_notification_count(self, info: Info) -> int:
        return await r.unread_count(info)


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(permission_classes=_OWN, description="Anyone else's id: NOT_FOUND.")
    async def mark_notification_read(
        self, info: Info, id: strawberry.ID
    ) -> MarkNotificationReadPayload:
        return await run_mutation(
            MarkNotificationReadPayload, lambda: _notification(r.mark_read(info, id))
        )

    @strawberry.mutation(permission_classes=_OWN, description="Returns how many were unread.")
    async def mark_all_notifications_read(self, info: Info) -> MarkAllNotificationsReadPayload:
        return await run_mutation(
            MarkAllNotificationsReadPayload, lambda: _count(r.mark_all_read(info))
        )

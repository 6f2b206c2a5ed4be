"""Notification resolvers: GraphQL arguments in, service calls, records out."""

from __future__ import annotations

from bson import ObjectId
from strawberry.types import Info

from alawael.records.notifications import NotificationRecord
from alawael.records.orders import OrderRecord
from alawael.records.products import ProductRecord
from alawael.services import notifications, orders, products
from alawael.services.pagination import Page, PageArgs
from alawael.shared.ids import from_global_id


async def notifications_page(
    info: Info,
    unread_only: bool,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
    of_user: ObjectId | None = None,
) -> Page[NotificationRecord]:
    return await notifications.list_notifications(
        info.context.resources,
        info.context.user,
        unread_only=unread_only,
        args=PageArgs(first=first, after=after, last=last, before=before),
        of_user=of_user,
    )


async def mark_read(info: Info, gid: str) -> NotificationRecord:
    oid = from_global_id(gid, "Notification")
    ctx = info.context
    return await notifications.mark_read(ctx.resources, ctx.user, oid, request_id=ctx.request_id)


async def mark_all_read(info: Info) -> int:
    ctx = info.context
    return await notifications.mark_all_read(ctx.resources, ctx.user, request_id=ctx.request_id)


async def visible_notification(info: Info, oid: ObjectId) -> NotificationRecord | None:
    loaded = await info.context.loaders.notification_by_id.load(oid)
    return notifications.visible(info.context.user, loaded)


async def unread_count(info: Info) -> int:
    return await notifications.unread_count(info.context.resources, info.context.user)


async def order_of(info: Info, oid: ObjectId) -> OrderRecord | None:
    """The order a notification is about, if the reader may (still) see it."""
    return orders.visible(info.context.user, await info.context.loaders.order_by_id.load(oid))


async def product_of(info: Info, oid: ObjectId) -> ProductRecord | None:
    """The product a notification is about, if the reader may (still) see it."""
    loaded = await info.context.loaders.product_by_id.load(oid)
    return products.visible(info.context.user, loaded)

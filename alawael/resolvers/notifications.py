"""Notification resolvers: GraphQL arguments in, service calls, documents out."""

from __future__ import annotations

from bson import ObjectId
from strawberry.types import Info

from alawael.infra.db import Document
from alawael.services import notifications
from alawael.services.pagination import Page, PageArgs
from alawael.shared.ids import from_global_id


async def notifications_page(
    info: Info,
    unread_only: bool,
    first: int | None,
    after: str | None,
    of_user: ObjectId | None = None,
) -> Page:
    return await notifications.list_notifications(
        info.context.resources,
        info.context.user,
        unread_only=unread_only,
        args=PageArgs(first=first, after=after),
        of_user=of_user,
    )


async def mark_read(info: Info, gid: str) -> Document:
    oid = from_global_id(gid, "Notification")
    ctx = info.context
    return await notifications.mark_read(ctx.resources, ctx.user, oid, request_id=ctx.request_id)


async def mark_all_read(info: Info) -> int:
    ctx = info.context
    return await notifications.mark_all_read(ctx.resources, ctx.user, request_id=ctx.request_id)

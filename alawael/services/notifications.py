"""Notifications: created by other services (order placed, status changed, low stock),
read and marked read by their owner only."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from alawael.auth.permissions import Actor, Role
from alawael.infra.clock import utcnow
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.records.defaults import DEFAULT_LOW_STOCK_THRESHOLD
from alawael.records.notifications import NotificationRecord, NotificationType
from alawael.services.audited import Author, Change, audited_write
from alawael.services.pagination import Page, PageArgs, paginate
from alawael.shared.errors import Forbidden, NotFound, Unauthenticated

CHANNEL = "notifications"
# Read marks, `{"userId": ...}`: a channel of their own, so subscribers of new notifications
# never see them; the unread-count feed follows both channels.
READ_CHANNEL = "notifications:read"


def _owner(actor: Actor | None) -> ObjectId:
    if actor is None:
        raise Unauthenticated()
    return ObjectId(actor.user_id)


async def notify(
    res: Resources,
    user_ids: Sequence[ObjectId],
    *,
    type: NotificationType,
    title: str,
    body: str,
    data: dict[str, Any],
) -> list[NotificationRecord]:
    """Create one notification per user (one insert_many) and publish each one.

    Called after the business change has committed: a notification about an order that was
    rolled back would be worse than one lost to a crash between commit and this insert."""
    if not user_ids:
        return []
    now = utcnow()
    docs: list[Document] = [
        {
            "_id": ObjectId(),
            "userId": uid,
            "type": type.value,
            "title": title,
            "body": body,
            "data": data,
            "read": False,
            "readAt": None,
            "createdAt": now,
        }
        for uid in dict.fromkeys(user_ids)  # de-duplicated, order kept
    ]
    await res.db.notifications.insert_many(docs)
    # One publish per recipient, sent together: with Redis each is a round trip, and a
    # low-stock notice goes to every manager on the placeOrder request path.
    await asyncio.gather(
        *(
            res.events.publish(
                CHANNEL, {"notificationId": str(doc["_id"]), "userId": str(doc["userId"])}
            )
            for doc in docs
        )
    )
    return [NotificationRecord.from_doc(doc) for doc in docs]


async def notify_low_stock(res: Resources, products: Sequence[Document]) -> None:
    """Tell every active manager and admin that these products fell below their threshold."""
    if not products:
        return
    cursor = res.db.users.find(
        {"role": {"$in": [Role.MANAGER.value, Role.ADMIN.value]}, "active": True}, {"_id": 1}
    )
    staff = [doc["_id"] async for doc in cursor]
    for product in products:
        await notify(
            res,
            staff,
            type=NotificationType.LOW_STOCK,
            title=f"Low stock: {product['name']}",
            body=f"{product['sku']} has {product['stock']} left "
            f"(threshold {product.get('lowStockThreshold', DEFAULT_LOW_STOCK_THRESHOLD)}).",
            data={"productId": product["_id"], "stock": product["stock"]},
        )


def crossed_low_stock(product_after: Document, delta: int) -> bool:
    """True when a stock change of `delta` took the product from at-or-above its threshold
    to below it: one notification per crossing, not one per sale below the line."""
    threshold = int(product_after.get("lowStockThreshold", DEFAULT_LOW_STOCK_THRESHOLD))
    after = int(product_after["stock"])
    before = after - delta
    return before >= threshold > after


async def list_notifications(
    res: Resources,
    actor: Actor | None,
    *,
    unread_only: bool,
    args: PageArgs,
    of_user: ObjectId | None = None,
) -> Page[NotificationRecord]:
    """The caller's notifications. `of_user` names whose list was asked for (a
    `User.notifications` field): nobody reads another user's notifications, admins included."""
    owner = _owner(actor)
    if of_user is not None and of_user != owner:
        raise Forbidden("You can only read your own notifications.")
    query: Document = {"userId": owner}
    if unread_only:
        query["read"] = False
    page = await paginate(
        res.db, "notifications", query, sort_field="createdAt", direction=-1, args=args
    )
    return page.map(NotificationRecord.from_doc)


async def unread_count(res: Resources, actor: Actor | None) -> int:
    return await res.db.notifications.count_documents({"userId": _owner(actor), "read": False})


async def get_notification(
    res: Resources, actor: Actor | None, oid: ObjectId
) -> NotificationRecord:
    doc = await res.db.notifications.find_one({"_id": oid, "userId": _owner(actor)})
    if doc is None:
        raise NotFound("No such notification.", field="id")
    return NotificationRecord.from_doc(doc)


def visible(
    actor: Actor | None, notification: NotificationRecord | None
) -> NotificationRecord | None:
    """Own notifications only (used by node(id) with loaded records)."""
    if notification is None or actor is None or str(notification.user_id) != actor.user_id:
        return None
    return notification


async def mark_read(
    res: Resources, actor: Actor | None, oid: ObjectId, *, request_id: str | None = None
) -> NotificationRecord:
    """Mark one of the caller's notifications read. Someone else's id is NOT_FOUND: the
    filter includes the owner, so existence never leaks."""
    owner = _owner(actor)
    before = await res.db.notifications.find_one({"_id": oid, "userId": owner})
    if before is None:
        raise NotFound("No such notification.", field="id")
    if before["read"]:
        # Already read: nothing changes, nothing to audit.
        return NotificationRecord.from_doc(before)

    async def change(session: AsyncClientSession) -> Change[Document]:
        after = await res.db.notifications.find_one_and_update(
            {"_id": oid, "userId": owner},
            {"$set": {"read": True, "readAt": utcnow()}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if after is None:  # deleted in between
            raise NotFound("No such notification.", field="id")
        return Change(after, oid, before={"read": False}, after={"read": True})

    # Notifications are never cached, so there is no cache scope to bump.
    after = await audited_write(
        res,
        Author(actor, request_id),
        action="markNotificationRead",
        entity="notification",
        change=change,
    )
    await _publish_read(res, owner)
    return NotificationRecord.from_doc(after)


async def _publish_read(res: Resources, owner: ObjectId) -> None:
    """After the commit: the owner's other devices update their unread badges."""
    await res.events.publish(READ_CHANNEL, {"userId": str(owner)})


async def mark_all_read(
    res: Resources, actor: Actor | None, *, request_id: str | None = None
) -> int:
    owner = _owner(actor)

    async def change(session: AsyncClientSession) -> Change[int]:
        result = await res.db.notifications.update_many(
            {"userId": owner, "read": False},
            {"$set": {"read": True, "readAt": utcnow()}},
            session=session,
        )
        count = result.modified_count
        return Change(count, None, before=None, after={"count": count})

    count = await audited_write(
        res,
        Author(actor, request_id),
        action="markAllNotificationsRead",
        entity="notification",
        change=change,
    )
    if count:
        await _publish_read(res, owner)
    return count

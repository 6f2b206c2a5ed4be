"""Notifications: created by other services (order placed, status changed, low stock),
read and marked read by their owner only."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from bson import ObjectId

from alawael.auth.permissions import Actor, Role
from alawael.infra.clock import utcnow
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.services import audit
from alawael.services.pagination import Page, PageArgs, paginate
from alawael.shared.errors import Forbidden, NotFound, Unauthenticated

CHANNEL = "notifications"


class NotificationType(StrEnum):
    ORDER_PLACED = "ORDER_PLACED"
    ORDER_STATUS = "ORDER_STATUS"
    LOW_STOCK = "LOW_STOCK"
    DAILY_SUMMARY = "DAILY_SUMMARY"


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
) -> list[Document]:
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
    return docs


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
            f"(threshold {product.get('lowStockThreshold', 10)}).",
            data={"productId": product["_id"], "stock": product["stock"]},
        )


def crossed_low_stock(product_after: Document, delta: int) -> bool:
    """True when a stock change of `delta` took the product from at-or-above its threshold
    to below it: one notification per crossing, not one per sale below the line."""
    threshold = int(product_after.get("lowStockThreshold", 10))
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
) -> Page:
    """The caller's notifications. `of_user` names whose list was asked for (a
    `User.notifications` field): nobody reads another user's notifications, admins included."""
    owner = _owner(actor)
    if of_user is not None and of_user != owner:
        raise Forbidden("You can only read your own notifications.")
    query: Document = {"userId": owner}
    if unread_only:
        query["read"] = False
    return await paginate(
        res.db, "notifications", query, sort_field="createdAt", direction=-1, args=args
    )


async def unread_count(res: Resources, actor: Actor | None) -> int:
    return await res.db.notifications.count_documents({"userId": _owner(actor), "read": False})


async def get_notification(res: Resources, actor: Actor | None, oid: ObjectId) -> Document:
    doc = await res.db.notifications.find_one({"_id": oid, "userId": _owner(actor)})
    if doc is None:
        raise NotFound("No such notification.", field="id")
    return doc


def visible(actor: Actor | None, doc: Document | None) -> Document | None:
    """Own notifications only (used by node(id) with loaded documents)."""
    if doc is None or actor is None or str(doc["userId"]) != actor.user_id:
        return None
    return doc


async def mark_read(
    res: Resources, actor: Actor | None, oid: ObjectId, *, request_id: str | None = None
) -> Document:
    """Mark one of the caller's notifications read. Someone else's id is NOT_FOUND: the
    filter includes the owner, so existence never leaks."""
    owner = _owner(actor)
    before = await res.db.notifications.find_one({"_id": oid, "userId": owner})
    if before is None:
        raise NotFound("No such notification.", field="id")
    if before["read"]:
        return before  # already read: nothing changes, nothing to audit
    after = await res.db.notifications.find_one_and_update(
        {"_id": oid, "userId": owner},
        {"$set": {"read": True, "readAt": utcnow()}},
        return_document=True,
    )
    if after is None:  # deleted in between
        raise NotFound("No such notification.", field="id")
    await audit.record(
        res.db,
        actor,
        action="markNotificationRead",
        entity="notification",
        entity_id=oid,
        before={"read": False},
        after={"read": True},
        request_id=request_id,
    )
    # Notifications are never cached, so there is no cache scope to bump.
    return after


async def mark_all_read(
    res: Resources, actor: Actor | None, *, request_id: str | None = None
) -> int:
    owner = _owner(actor)
    result = await res.db.notifications.update_many(
        {"userId": owner, "read": False},
        {"$set": {"read": True, "readAt": utcnow()}},
    )
    await audit.record(
        res.db,
        actor,
        action="markAllNotificationsRead",
        entity="notification",
        entity_id=None,
        before=None,
        after={"count": result.modified_count},
        request_id=request_id,
    )
    return result.modified_count

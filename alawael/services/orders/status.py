"""Status changes along the state machine, cancellation with restocking."""

from __future__ import annotations

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from alawael.auth.permissions import Actor, Permission, require
from alawael.infra.clock import utcnow
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.records.notifications import NotificationType
from alawael.records.orders import OrderRecord, OrderStatus
from alawael.services.audited import Author, Change, audited_write
from alawael.services.notifications import notify
from alawael.services.orders.locks import stock_locks
from alawael.services.orders.placing import publish_order
from alawael.services.orders.queries import get_order
from alawael.services.orders.rules import (
    CUSTOMER_CANCELLABLE,
    TRANSITIONS,
    clean_note,
    require_signed_in,
)
from alawael.services.products import STOCK_CHANNEL, product_scopes
from alawael.shared.errors import (
    Forbidden,
    InvalidTransition,
)


async def update_order_status(
    res: Resources,
    actor: Actor | None,
    oid: ObjectId,
    status: OrderStatus,
    note: str | None = None,
    *,
    request_id: str | None = None,
) -> OrderRecord:
    """Staff move an order along the state machine (orders:manage, declared on the field
    and re-checked here for every door)."""
    actor = require(actor, Permission.MANAGE_ORDERS)
    order = await get_order(res, actor, oid)
    return await _transition(
        res,
        actor,
        order,
        status,
        clean_note(note),
        action="updateOrderStatus",
        request_id=request_id,
    )


async def cancel_order(
    res: Resources,
    actor: Actor | None,
    oid: ObjectId,
    reason: str | None = None,
    *,
    request_id: str | None = None,
) -> OrderRecord:
    """The customer may cancel their own PENDING order; staff also a CONFIRMED one."""
    actor = require_signed_in(actor)
    order = await get_order(res, actor, oid)  # someone else's order: NOT_FOUND
    current = order.status
    if (
        not actor.can(Permission.MANAGE_ORDERS)
        and current not in CUSTOMER_CANCELLABLE
        and OrderStatus.CANCELLED in TRANSITIONS[current]
    ):
        raise Forbidden("Only staff can cancel an order once it is confirmed.")
    return await _transition(
        res,
        actor,
        order,
        OrderStatus.CANCELLED,
        clean_note(reason, "reason"),
        action="cancelOrder",
        request_id=request_id,
    )


async def _transition(
    res: Resources,
    actor: Actor,
    order: OrderRecord,
    target: OrderStatus,
    note: str | None,
    *,
    action: str,
    request_id: str | None,
) -> OrderRecord:
    current = order.status
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(
            f"An order can't go from {current.value} to {target.value}.", field="status"
        )

    async def change(session: AsyncClientSession) -> Change[tuple[Document, list[Document]]]:
        now = utcnow()
        by = ObjectId(actor.user_id)
        entry: Document = {"status": target.value, "at": now, "byUserId": by, "note": note}
        # Optimistic guard: the filter requires the status we checked, so of two concurrent
        # transitions from the same status only one matches.
        after = await res.db.orders.find_one_and_update(
            {"_id": order.id, "status": current.value},
            {"$set": {"status": target.value, "updatedAt": now}, "$push": {"statusHistory": entry}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if after is None:
            raise InvalidTransition(
                "The order's status changed meanwhile; reload it and retry.", field="status"
            )
        restocked: list[Document] = []
        if target is OrderStatus.CANCELLED:
            # The stock comes back in the same transaction as the cancellation (archived
            # products too: the goods exist even if they are no longer sold).
            for item in after["items"]:
                product = await res.db.products.find_one_and_update(
                    {"_id": item["productId"]},
                    {"$inc": {"stock": item["quantity"]}, "$set": {"updatedAt": now}},
                    return_document=ReturnDocument.AFTER,
                    session=session,
                )
                if product is not None:
                    restocked.append(product)
        return Change(
            (after, restocked),
            order.id,
            before={"status": current.value},
            after={"status": target.value, "note": note},
        )

    def scopes(done: tuple[Document, list[Document]]) -> list[str]:
        restocked = done[1]
        return ["orders", *(product_scopes(*(p["_id"] for p in restocked)) if restocked else [])]

    restock_ids = (
        sorted({item.product_id for item in order.items}) if target is OrderStatus.CANCELLED else []
    )
    async with stock_locks(res).hold(restock_ids):
        after, restocked = await audited_write(
            res,
            Author(actor, request_id),
            action=action,
            entity="order",
            change=change,
            scopes=scopes,
        )
    await publish_order(res, after, "ORDER_UPDATED")
    for product in restocked:
        await res.events.publish(
            STOCK_CHANNEL, {"productId": str(product["_id"]), "stock": product["stock"]}
        )
    await notify(
        res,
        [after["userId"]],
        type=NotificationType.ORDER_STATUS,
        title=f"Order {after['number']} is {target.value.lower()}",
        body=note or f"Your order {after['number']} is now {target.value.lower()}.",
        data={"orderId": after["_id"], "status": target.value},
    )
    return OrderRecord.from_doc(after)

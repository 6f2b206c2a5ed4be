"""Placing an order: stock, order, idempotency record and audit entry in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from alawael.auth.permissions import Actor
from alawael.infra.clock import utcnow
from alawael.infra.db import Db, Document
from alawael.infra.resources import Resources
from alawael.records.defaults import DEFAULT_CURRENCY
from alawael.records.notifications import NotificationType
from alawael.records.orders import OrderRecord, OrderStatus
from alawael.services import idempotency, search
from alawael.services.audited import Author, Change, audited_write
from alawael.services.notifications import crossed_low_stock, notify, notify_low_stock
from alawael.services.orders.locks import next_order_number, stock_locks
from alawael.services.orders.rules import (
    ORDERS_CHANNEL,
    MergedLine,
    OrderLine,
    clean_note,
    merge_lines,
    require_signed_in,
)
from alawael.services.products import STOCK_CHANNEL, product_scopes
from alawael.shared.errors import (
    InsufficientStock,
    NotFound,
)


async def place_order(
    res: Resources,
    actor: Actor | None,
    lines: Sequence[OrderLine],
    *,
    note: str | None = None,
    idempotency_key: str | None = None,
    request_id: str | None = None,
) -> OrderRecord:
    """Check and take the stock, write the order, its idempotency record and its audit
    entry in one transaction; then bump caches, publish events and notify."""
    actor = require_signed_in(actor)
    merged = merge_lines(lines)
    note = clean_note(note)
    key = idempotency.validate_key(idempotency_key)
    rid = fp = None
    if key is not None:
        rid = idempotency.record_id("placeOrder", actor.user_id, key)
        fp = idempotency.fingerprint(
            {"items": [[str(m.product_id), m.quantity] for m in merged], "note": note}
        )
        found = await idempotency.find(res.db, rid, request_fingerprint=fp)
        if found is not None:
            return await _replay(res, found)

    user_id = ObjectId(actor.user_id)
    order_id = ObjectId()
    number = ""  # allocated under the stock locks, once the pre-check passed
    # Orders are searched by their customer's name too: it goes into the search keys.
    customer = await res.db.users.find_one({"_id": user_id}, {"name": 1}) or {}

    async def change(
        session: AsyncClientSession,
    ) -> Change[tuple[Document, list[tuple[Document, int]]]]:
        now = utcnow()
        if rid is not None:
            # First, so a racing retry with the same key stops before touching stock.
            await idempotency.insert(
                res.db, rid, {"orderId": order_id}, request_fingerprint=fp, session=session
            )
        items: list[Document] = []
        taken: list[tuple[Document, int]] = []
        for line in merged:
            # The stock check is the update's filter: it can't oversell, and it can't lose
            # a concurrent buyer's decrement.
            product = await res.db.products.find_one_and_update(
                {"_id": line.product_id, "archived": False, "stock": {"$gte": line.quantity}},
                {"$inc": {"stock": -line.quantity}, "$set": {"updatedAt": now}},
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            if product is None:
                await _explain_shortfall(res.db, line, session)
            assert product is not None
            taken.append((product, line.quantity))
            items.append(
                {
                    "productId": product["_id"],
                    "sku": product["sku"],
                    "name": product["name"],
                    "unitPriceCents": product["priceCents"],
                    "quantity": line.quantity,
                    "lineTotalCents": product["priceCents"] * line.quantity,
                }
            )
        subtotal = sum(item["lineTotalCents"] for item in items)
        order: Document = {
            "_id": order_id,
            "number": number,
            "userId": user_id,
            "items": items,
            "subtotalCents": subtotal,
            "totalCents": subtotal,  # no tax or shipping rules yet
            "currency": taken[0][0].get("currency", DEFAULT_CURRENCY),
            "status": OrderStatus.PENDING.value,
            "statusHistory": [
                {"status": OrderStatus.PENDING.value, "at": now, "byUserId": user_id, "note": note}
            ],
            "note": note,
            "idempotencyKey": key,
            "createdAt": now,
            "updatedAt": now,
        }
        keys = search.order_keys(number, customer.get("name"))
        await res.db.orders.insert_one({**order, **keys}, session=session)
        return Change((order, taken), order_id, before=None, after=order)

    def scopes(done: tuple[Document, list[tuple[Document, int]]]) -> list[str]:
        return ["orders", *product_scopes(*(p["_id"] for p, _ in done[1]))]

    try:
        async with stock_locks(res).hold([m.product_id for m in merged]):
            # Under this worker's locks nobody here changes these products' stock, so a
            # buyer who can't be served fails after one read, without an order number or a
            # transaction. The transaction's conditional update stays the authority (other
            # workers, managers adjusting stock).
            await _precheck(res.db, merged)
            number = await next_order_number(res.db)
            order, taken = await audited_write(
                res,
                Author(actor, request_id),
                action="placeOrder",
                entity="order",
                change=change,
                scopes=scopes,
            )
    except (DuplicateKeyError, InsufficientStock, NotFound):
        # A concurrent retry with the same key committed first (and maybe took the last
        # stock): return its order.
        found = await idempotency.find(res.db, rid, request_fingerprint=fp) if rid else None
        if found is None:
            raise
        return await _replay(res, found)

    await publish_order(res, order, "ORDER_PLACED")
    for product, _ in taken:
        await res.events.publish(
            STOCK_CHANNEL, {"productId": str(product["_id"]), "stock": product["stock"]}
        )
    await notify(
        res,
        [user_id],
        type=NotificationType.ORDER_PLACED,
        title=f"Order {number} placed",
        body=f"We received your order {number}.",
        data={"orderId": order_id},
    )
    await notify_low_stock(res, [p for p, q in taken if crossed_low_stock(p, -q)])
    return OrderRecord.from_doc(order)


_STOCK_FIELDS = {"stock": 1, "archived": 1, "sku": 1}


def _check_line(current: Document | None, line: MergedLine) -> None:
    """Raise the typed error for a line the product can't serve."""
    if current is None or current.get("archived"):
        raise NotFound("No such product.", field=f"items.{line.index}.productId")
    if current["stock"] < line.quantity:
        raise InsufficientStock(
            f"Only {current['stock']} of {current['sku']} in stock; {line.quantity} requested.",
            field=f"items.{line.index}.quantity",
            details={"available": current["stock"]},
        )


async def _precheck(db: Db, merged: Sequence[MergedLine]) -> None:
    cursor = db.products.find({"_id": {"$in": [m.product_id for m in merged]}}, _STOCK_FIELDS)
    current = {doc["_id"]: doc async for doc in cursor}
    for line in merged:
        _check_line(current.get(line.product_id), line)


async def _explain_shortfall(db: Db, line: MergedLine, session: AsyncClientSession) -> None:
    """The conditional update matched nothing: say why, as a typed error (which aborts the
    transaction)."""
    current = await db.products.find_one({"_id": line.product_id}, _STOCK_FIELDS, session=session)
    _check_line(current, line)
    # Unreachable in practice: the read sees the same snapshot as the failed update.
    raise InsufficientStock("Not enough stock.", field=f"items.{line.index}.quantity")


async def _replay(res: Resources, result: Document) -> OrderRecord:
    order = await res.db.orders.find_one({"_id": result["orderId"]})
    if order is None:  # pragma: no cover - the record commits with its order
        raise NotFound("The order for this idempotency key no longer exists.")
    return OrderRecord.from_doc(order)


async def publish_order(res: Resources, order: Document, event_type: str) -> None:
    await res.events.publish(
        ORDERS_CHANNEL,
        {
            "type": event_type,
            "orderId": str(order["_id"]),
            "userId": str(order["userId"]),
            "status": order["status"],
        },
    )

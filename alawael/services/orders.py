"""Orders: placing (stock + order + idempotency + audit in one transaction), reading with
ownership rules, and the status state machine.

Customers see only their own orders; someone else's order is NOT_FOUND (never FORBIDDEN),
so ids can't be probed for existence. Staff and above see all orders.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from alawael.auth.permissions import Actor, Permission, require
from alawael.infra.clock import utcnow
from alawael.infra.db import Db, Document
from alawael.infra.resources import Resources
from alawael.records.defaults import DEFAULT_CURRENCY
from alawael.records.notifications import NotificationType
from alawael.records.orders import OrderRecord, OrderStatus
from alawael.services import idempotency, search
from alawael.services.audited import Author, Change, audited_write
from alawael.services.notifications import crossed_low_stock, notify, notify_low_stock
from alawael.services.pagination import Page, PageArgs, empty_page
from alawael.services.products import STOCK_CHANNEL, product_scopes
from alawael.services.search_pages import paginate_matching
from alawael.shared.errors import (
    BadUserInput,
    Forbidden,
    InsufficientStock,
    InvalidTransition,
    NotFound,
    Unauthenticated,
)

ORDERS_CHANNEL = "orders"
MAX_LINES = 50
MAX_QUANTITY = 1000
MAX_NOTE = 1000

T = TypeVar("T")


# The state machine, declared once: every status change is checked against it.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}
# Customers may cancel their own order only before staff confirmed it.
CUSTOMER_CANCELLABLE = frozenset({OrderStatus.PENDING})


class OrderSortField(StrEnum):
    CREATED_AT = "createdAt"
    TOTAL = "totalCents"
    NUMBER = "number"


@dataclass(frozen=True)
class OrderLine:
    product_id: ObjectId
    quantity: int


@dataclass(frozen=True)
class OrderFilter:
    status: OrderStatus | None = None
    user_id: ObjectId | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    search: str | None = None  # order number or customer name (services/search.py)


@dataclass(frozen=True)
class _MergedLine:
    index: int  # of the first input line for this product: errors point at it
    product_id: ObjectId
    quantity: int


def _require(actor: Actor | None) -> Actor:
    if actor is None:
        raise Unauthenticated()
    return actor


def _note(note: str | None, field: str = "note") -> str | None:
    if note is None:
        return None
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise BadUserInput(f"`{field}` is longer than {MAX_NOTE} characters.", field=field)
    return note or None


def merge_lines(lines: Sequence[OrderLine]) -> list[_MergedLine]:
    """Validate the lines and merge duplicates of one product (quantities add up)."""
    if not lines:
        raise BadUserInput("An order needs at least one item.", field="items")
    if len(lines) > MAX_LINES:
        raise BadUserInput(f"An order holds at most {MAX_LINES} lines.", field="items")
    merged: dict[ObjectId, _MergedLine] = {}
    for i, line in enumerate(lines):
        q = line.quantity
        if isinstance(q, bool) or not isinstance(q, int) or not 1 <= q <= MAX_QUANTITY:
            raise BadUserInput(
                f"Quantity must be an integer from 1 to {MAX_QUANTITY}.",
                field=f"items.{i}.quantity",
            )
        seen = merged.get(line.product_id)
        total = q + (seen.quantity if seen else 0)
        if total > MAX_QUANTITY:
            raise BadUserInput(
                f"At most {MAX_QUANTITY} of one product per order.", field=f"items.{i}.quantity"
            )
        merged[line.product_id] = _MergedLine(seen.index if seen else i, line.product_id, total)
    # A fixed order of stock updates (by product id) keeps concurrent orders that share
    # products from taking their write locks in opposite orders.
    return sorted(merged.values(), key=lambda m: m.product_id)


class KeyedLocks:
    """asyncio locks by key, dropped once nobody holds or awaits them.

    Used to queue, inside one worker, the transactions that write the same product's
    stock. Correctness never depends on it (the transaction and its conditional update do
    that, across workers too); it is about throughput: without it, 200 concurrent buyers
    of one product make 199 transactions fail with write conflicts and retry with backoff
    over and over, and SecantusDB (a Python server) spends its time on doomed attempts."""

    def __init__(self) -> None:
        self._locks: dict[object, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, keys: Sequence[object]) -> AsyncIterator[None]:
        """Hold the locks of `keys`, taken in the given (sorted) order: two orders sharing
        products always lock them in the same order, so they can't deadlock."""
        async with contextlib.AsyncExitStack() as stack:
            for key in keys:
                await stack.enter_async_context(self._one(key))
            yield

    @contextlib.asynccontextmanager
    async def _one(self, key: object) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


def stock_locks(res: Resources) -> KeyedLocks:
    """The worker's stock locks (one table per Resources, i.e. per worker lifespan)."""
    locks = res.extras.get("stock_locks")
    if not isinstance(locks, KeyedLocks):
        locks = res.extras["stock_locks"] = KeyedLocks()
    return locks


async def next_order_number(db: Db) -> str:
    """Allocate "ORD-000123" from the `counters` document.

    Deliberately outside the order's transaction: inside it, every concurrent buyer would
    write the same counter document and all but one would abort with a write conflict.
    The price is gaps in the sequence when an order fails after taking its number (out of
    stock, bad input): numbers are unique and increasing, not dense."""
    for _ in range(5):
        try:
            doc = await db.counters.find_one_and_update(
                {"_id": "orders"},
                {"$inc": {"seq": 1}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            # Two first-ever upserts raced to create the document; the retry finds it.
            continue
        # SecantusDB 0.7 answers None (after incrementing) to the losers of concurrent
        # first-ever upserts; another increment is safe, it only leaves a gap.
        if doc is not None:
            break
    else:  # pragma: no cover - needs five lost races in a row
        raise RuntimeError("could not allocate an order number")
    return f"ORD-{int(doc['seq']):06d}"


# --- reads ------------------------------------------------------------------------------


def can_see_all(actor: Actor | None) -> bool:
    return actor is not None and actor.can(Permission.VIEW_ALL_ORDERS)


def visible(actor: Actor | None, order: OrderRecord | None) -> OrderRecord | None:
    """The order if the actor may see it, else None (callers say NOT_FOUND or null)."""
    if order is None or actor is None:
        return None
    if can_see_all(actor) or str(order.user_id) == actor.user_id:
        return order
    return None


def may_see_editor(actor: Actor | None, user_id: ObjectId | None) -> bool:
    """Who changed an order's status is shown to staff; a customer sees only their own
    changes (staff identities and contact details are internal)."""
    if actor is None or user_id is None:
        return False
    return can_see_all(actor) or actor.user_id == str(user_id)


async def get_order(res: Resources, actor: Actor | None, oid: ObjectId) -> OrderRecord:
    _require(actor)
    doc = await res.db.orders.find_one({"_id": oid})
    order = visible(actor, None if doc is None else OrderRecord.from_doc(doc))
    if order is None:
        raise NotFound("No such order.", field="id")
    return order


async def list_orders(
    res: Resources,
    actor: Actor | None,
    flt: OrderFilter,
    *,
    sort: OrderSortField = OrderSortField.CREATED_AT,
    descending: bool = True,
    args: PageArgs,
) -> Page[OrderRecord]:
    """Orders the actor may see. A customer's filter is forced to their own user id; asking
    for someone else's orders gives an empty page, not an error."""
    actor = _require(actor)
    query: Document = {}
    if can_see_all(actor):
        if flt.user_id is not None:
            query["userId"] = flt.user_id
    else:
        own = ObjectId(actor.user_id)
        if flt.user_id is not None and flt.user_id != own:
            return empty_page()
        query["userId"] = own
    if flt.status is not None:
        query["status"] = flt.status.value
    created: Document = {}
    if flt.created_from is not None:
        created["$gte"] = flt.created_from
    if flt.created_to is not None:
        created["$lt"] = flt.created_to
    if flt.created_from and flt.created_to and flt.created_from > flt.created_to:
        raise BadUserInput("`createdFrom` is after `createdTo`.", field="createdFrom")
    if created:
        query["createdAt"] = created
    page = await paginate_matching(
        res.db,
        "orders",
        query,
        search.search_terms(flt.search),
        sort_field=sort.value,
        direction=-1 if descending else 1,
        args=args,
        projection=search.WITHOUT_KEYS,
    )
    return page.map(OrderRecord.from_doc)


# --- placing an order -------------------------------------------------------------------


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
    actor = _require(actor)
    merged = merge_lines(lines)
    note = _note(note)
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

    await _publish_order(res, order, "ORDER_PLACED")
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


def _check_line(current: Document | None, line: _MergedLine) -> None:
    """Raise the typed error for a line the product can't serve."""
    if current is None or current.get("archived"):
        raise NotFound("No such product.", field=f"items.{line.index}.productId")
    if current["stock"] < line.quantity:
        raise InsufficientStock(
            f"Only {current['stock']} of {current['sku']} in stock; {line.quantity} requested.",
            field=f"items.{line.index}.quantity",
            details={"available": current["stock"]},
        )


async def _precheck(db: Db, merged: Sequence[_MergedLine]) -> None:
    cursor = db.products.find({"_id": {"$in": [m.product_id for m in merged]}}, _STOCK_FIELDS)
    current = {doc["_id"]: doc async for doc in cursor}
    for line in merged:
        _check_line(current.get(line.product_id), line)


async def _explain_shortfall(db: Db, line: _MergedLine, session: AsyncClientSession) -> None:
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


async def _publish_order(res: Resources, order: Document, event_type: str) -> None:
    await res.events.publish(
        ORDERS_CHANNEL,
        {
            "type": event_type,
            "orderId": str(order["_id"]),
            "userId": str(order["userId"]),
            "status": order["status"],
        },
    )


# --- status changes ---------------------------------------------------------------------


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
        res, actor, order, status, _note(note), action="updateOrderStatus", request_id=request_id
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
    actor = _require(actor)
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
        _note(reason, "reason"),
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
    await _publish_order(res, after, "ORDER_UPDATED")
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

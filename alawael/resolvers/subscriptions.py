"""Subscription resolvers: the per-event re-reads behind each subscription, written against
the services' rules (the delivery machinery they run on is alawael.realtime).

Each feed turns the ids an event carries into what *this* subscriber may see: the same
visibility functions the queries use (`orders.visible`, `products.visible`, ...), read
through the event's shared loaders, and shared per (event, scope) with `memo_by_scope`.
`to_node` converts a record into the GraphQL type once per scope, not per subscriber.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bson import ObjectId

from alawael.context import Context
from alawael.infra.db import Document
from alawael.infra.fanout import Delivery
from alawael.realtime.stream import follow, memo_by_scope, scope_of
from alawael.records.flags import FlagRecord
from alawael.records.notifications import NotificationRecord
from alawael.records.orders import OrderRecord
from alawael.records.products import ProductRecord
from alawael.services import analytics, flags, notifications, orders, products
from alawael.shared.errors import Unauthenticated

T = TypeVar("T")

ORDER_PLACED = "ORDER_PLACED"
ORDER_UPDATED = "ORDER_UPDATED"


def _actor(ctx: Context) -> Any:
    if ctx.user is None:
        raise Unauthenticated()
    return ctx.user


async def order_feed(
    ctx: Context,
    *,
    kinds: frozenset[str],
    order_id: ObjectId | None,
    to_node: Callable[[OrderRecord], T],
) -> AsyncGenerator[T, None]:
    """Orders of the given event types the subscriber may see (optionally one order)."""
    actor = _actor(ctx)
    if order_id is not None:
        # Subscribing to an order you cannot see is NOT_FOUND, as querying it would be.
        await orders.get_order(ctx.resources, actor, order_id)
    wanted = str(order_id) if order_id is not None else None

    async def render(ectx: Context, delivery: Delivery) -> T | None:
        event = delivery.event
        if event.get("type") not in kinds or (wanted and event.get("orderId") != wanted):
            return None
        if not orders.can_see_all(actor) and event.get("userId") != actor.user_id:
            return None  # someone else's order: not even a read
        oid = ObjectId(event["orderId"])

        async def load() -> T | None:
            order = orders.visible(actor, await ectx.loaders.order_by_id.load(oid))
            return to_node(order) if order is not None else None

        value: T | None = await memo_by_scope(delivery, "order", actor, load)
        return value

    share = scope_of(actor)
    async for value in follow(ctx, [orders.ORDERS_CHANNEL], render, name="orders", share=share):
        yield value


async def notification_feed(
    ctx: Context, *, to_node: Callable[[NotificationRecord], T]
) -> AsyncGenerator[T, None]:
    """The subscriber's own new notifications."""
    actor = _actor(ctx)

    async def render(ectx: Context, delivery: Delivery) -> T | None:
        if delivery.event.get("userId") != actor.user_id:
            return None
        oid = ObjectId(delivery.event["notificationId"])
        return to_node(await notifications.get_notification(ectx.resources, actor, oid))

    async for value in follow(ctx, [notifications.CHANNEL], render, name="notifications"):
        yield value


async def unread_count_feed(ctx: Context) -> AsyncGenerator[int, None]:
    """The subscriber's unread-notification count: now, then whenever it changes (a new
    notification, a read mark or mark-all-read, from any of their devices). Events carry
    only the user id; the count is re-read, so it is right whatever order events arrive in."""
    actor = _actor(ctx)
    last: list[int] = []

    async def count(ectx: Context) -> int | None:
        value = await notifications.unread_count(ectx.resources, actor)
        if last and last[-1] == value:
            return None  # e.g. a read mark of an already-read notification elsewhere
        last[:] = [value]
        return value

    async def render(ectx: Context, delivery: Delivery) -> int | None:
        if delivery.event.get("userId") != actor.user_id:
            return None
        return await count(ectx)

    channels = [notifications.CHANNEL, notifications.READ_CHANNEL]
    async for value in follow(ctx, channels, render, initial=count, name="unreadCount"):
        yield value


async def stock_feed(
    ctx: Context, *, product_id: ObjectId | None, to_node: Callable[[ProductRecord], T]
) -> AsyncGenerator[T, None]:
    """Products whose stock changed (archived ones only for managers, as in queries)."""
    actor = ctx.user
    wanted = str(product_id) if product_id is not None else None
    scope = "manager" if products.is_manager(actor) else "shopper"

    async def render(ectx: Context, delivery: Delivery) -> T | None:
        if wanted and delivery.event.get("productId") != wanted:
            return None
        oid = ObjectId(delivery.event["productId"])

        async def load() -> T | None:
            product = products.visible(actor, await ectx.loaders.product_by_id.load(oid))
            return to_node(product) if product is not None else None

        value: T | None = await delivery.memo(("product", scope), load)
        return value

    async for value in follow(ctx, [products.STOCK_CHANNEL], render, name="stock", share=scope):
        yield value


async def flag_feed(
    ctx: Context, *, to_node: Callable[[str, bool, bool, FlagRecord | None], T]
) -> AsyncGenerator[T, None]:
    """Flag changes: evaluated for the subscriber; the definition only for flag managers."""
    actor = _actor(ctx)
    sees_definition = flags.sees_definitions(actor)

    async def render(ectx: Context, delivery: Delivery) -> T | None:
        key = str(delivery.event["key"])
        deleted = bool(delivery.event.get("deleted"))
        # One read of the definition per event for everybody; evaluation is per user.
        flag = await delivery.memo(
            ("flag", key), lambda: flags.get_flag_by_key(ectx.resources, key)
        )
        enabled = flags.evaluate(flag, actor) if flag is not None else False
        return to_node(key, deleted, enabled, flag if sees_definition else None)

    async for value in follow(ctx, [flags.CHANNEL], render, name="flags"):
        yield value


def _today() -> tuple[datetime, datetime]:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


async def sales_today(ctx: Context) -> Document:
    start, end = _today()
    summary = await analytics.sales_summary(ctx.resources, start, end, analytics.Granularity.DAY)
    return {**summary, "at": datetime.now(UTC)}


async def sales_feed(ctx: Context, *, to_node: Callable[[Document], T]) -> AsyncGenerator[T, None]:
    """Today's (UTC) revenue and order count: now, then after order events, at most once per
    `sales_ticker_min_interval_seconds` (bursts fold into one update). An event whose
    figures were already sent (its order was counted by the previous computation) sends
    nothing."""
    last: list[tuple[int, int]] = []

    def changed(doc: Document) -> T | None:
        figures = (doc["revenueCents"], doc["orderCount"])
        if last and last[-1] == figures:
            return None
        last[:] = [figures]
        return to_node(doc)

    async def initial(ictx: Context) -> T | None:
        return changed(await sales_today(ictx))

    async def render(ectx: Context, delivery: Delivery) -> T | None:
        # Everyone with VIEW_ANALYTICS sees the same figures: one computation per event.
        return changed(await delivery.memo("salesTicker", lambda: sales_today(ectx)))

    async for value in follow(
        ctx,
        [orders.ORDERS_CHANNEL],
        render,
        initial=initial,
        coalesce_seconds=ctx.resources.settings.sales_ticker_min_interval_seconds,
        name="salesTicker",
    ):
        yield value

"""Order resolvers: GraphQL arguments in, service calls, documents out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strawberry.types import Info

from alawael.db import Document
from alawael.schema.node import from_global_id
from alawael.services import orders
from alawael.services.orders import OrderStatus
from alawael.services.pagination import Page, PageArgs

if TYPE_CHECKING:
    from alawael.schema.orders import OrderFilterInput, OrderSortInput, PlaceOrderInput


async def order(info: Info, gid: str) -> Document:
    oid = from_global_id(gid, "Order")
    return await orders.get_order(info.context.resources, info.context.user, oid)


async def orders_page(
    info: Info,
    flt: OrderFilterInput | None,
    sort: OrderSortInput | None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Page:
    parsed = orders.OrderFilter(
        status=flt.status if flt else None,
        user_id=from_global_id(flt.user_id, "User", "userId") if flt and flt.user_id else None,
        created_from=flt.created_from if flt else None,
        created_to=flt.created_to if flt else None,
    )
    return await orders.list_orders(
        info.context.resources,
        info.context.user,
        parsed,
        sort=sort.field if sort else orders.OrderSortField.CREATED_AT,
        descending=sort.direction.value == "DESC" if sort else True,
        args=PageArgs(first, after, last, before),
    )


async def place_order(info: Info, data: PlaceOrderInput, idempotency_key: str | None) -> Document:
    lines = [
        orders.OrderLine(
            from_global_id(line.product_id, "Product", f"items.{i}.productId"), line.quantity
        )
        for i, line in enumerate(data.items)
    ]
    ctx = info.context
    return await orders.place_order(
        ctx.resources,
        ctx.user,
        lines,
        note=data.note,
        idempotency_key=idempotency_key,
        request_id=ctx.request_id,
    )


async def update_order_status(
    info: Info, gid: str, status: OrderStatus, note: str | None
) -> Document:
    oid = from_global_id(gid, "Order")
    ctx = info.context
    return await orders.update_order_status(
        ctx.resources, ctx.user, oid, status, note, request_id=ctx.request_id
    )


async def cancel_order(info: Info, gid: str, reason: str | None) -> Document:
    oid = from_global_id(gid, "Order")
    ctx = info.context
    return await orders.cancel_order(
        ctx.resources, ctx.user, oid, reason, request_id=ctx.request_id
    )

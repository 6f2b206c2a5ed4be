"""Order resolvers: GraphQL arguments in, service calls, records out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Protocol

from bson import ObjectId
from strawberry.types import Info

from alawael.records.orders import OrderRecord, OrderStatus
from alawael.services import orders
from alawael.services.pagination import Page, PageArgs
from alawael.shared.ids import from_global_id

# The shapes these resolvers read from alawael.schema.orders' inputs, declared here so that
# resolvers never import the schema modules that import them (no cycle).


class OrderFilterInput(Protocol):
    @property
    def status(self) -> OrderStatus | None: ...
    @property
    def status_in(self) -> Sequence[OrderStatus] | None: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def created_from(self) -> datetime | None: ...
    @property
    def created_to(self) -> datetime | None: ...
    @property
    def search(self) -> str | None: ...


class OrderSortInput(Protocol):
    @property
    def field(self) -> orders.OrderSortField: ...
    @property
    def direction(self) -> Enum: ...


class OrderLineInput(Protocol):
    @property
    def product_id(self) -> str: ...
    @property
    def quantity(self) -> int: ...


class PlaceOrderInput(Protocol):
    @property
    def items(self) -> Sequence[OrderLineInput]: ...
    @property
    def note(self) -> str | None: ...


async def visible_order(info: Info, oid: ObjectId) -> OrderRecord | None:
    """An order through the request's DataLoader, if the caller may see it."""
    return orders.visible(info.context.user, await info.context.loaders.order_by_id.load(oid))


async def order(info: Info, gid: str) -> OrderRecord:
    oid = from_global_id(gid, "Order")
    return await orders.get_order(info.context.resources, info.context.user, oid)


async def order_by_number(info: Info, number: str) -> OrderRecord:
    return await orders.get_order_by_number(info.context.resources, info.context.user, number)


async def orders_page(
    info: Info,
    flt: OrderFilterInput | None,
    sort: OrderSortInput | None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Page[OrderRecord]:
    user_id = from_global_id(flt.user_id, "User", "userId") if flt and flt.user_id else None
    parsed = orders.OrderFilter.from_input(flt, user_id=user_id)
    return await orders.list_orders(
        info.context.resources,
        info.context.user,
        parsed,
        sort=sort.field if sort else orders.OrderSortField.CREATED_AT,
        descending=sort.direction.value == "DESC" if sort else True,
        args=PageArgs(first, after, last, before),
    )


async def place_order(
    info: Info, data: PlaceOrderInput, idempotency_key: str | None
) -> OrderRecord:
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
) -> OrderRecord:
    oid = from_global_id(gid, "Order")
    ctx = info.context
    return await orders.update_order_status(
        ctx.resources, ctx.user, oid, status, note, request_id=ctx.request_id
    )


async def cancel_order(info: Info, gid: str, reason: str | None) -> OrderRecord:
    oid = from_global_id(gid, "Order")
    ctx = info.context
    return await orders.cancel_order(
        ctx.resources, ctx.user, oid, reason, request_id=ctx.request_id
    )

"""Order types, order queries (own orders for customers, all for staff) and mutations.

Fields that only read a snapshot are plain attributes filled in `from_record`; the relations
(customer, product, who changed the status) go through DataLoaders, so a page of orders costs
a constant number of queries. An order page prefetches the customers and products its query
selects (alawael.resolvers.prefetch): those fields then return the record synchronously and
graphql-core stays on its sync path; otherwise they return the loader's awaitable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from bson import ObjectId
from strawberry.types import Info

import alawael.resolvers.orders as r
from alawael.auth.permissions import Permission
from alawael.records.orders import OrderLineRecord, OrderRecord, OrderStatus
from alawael.records.products import ProductRecord
from alawael.records.users import UserRecord
from alawael.resolvers import prefetch
from alawael.schema.connection import Connection, build_connection
from alawael.schema.errors import UserError, run_mutation
from alawael.schema.node import Node, register_node, to_global_id
from alawael.schema.permissions import HasPermission
from alawael.schema.products import Product, SortDirection
from alawael.schema.scalars import Money, cents_to_decimal
from alawael.services import orders
from alawael.services.orders import OrderSortField
from alawael.services.search import HELP as SEARCH_HELP

if TYPE_CHECKING:
    from alawael.schema.users import User

# Lazy: users.py imports this module for User.orders.
_LazyUser = Annotated["User", strawberry.lazy("alawael.schema.users")]

strawberry.enum(OrderStatus, name="OrderStatus", description="See the state machine in README.")
strawberry.enum(OrderSortField, name="OrderSortField")


async def _load_user(info: Info, oid: ObjectId | None) -> User | None:
    user = await info.context.loaders.user_by_id.load(oid) if oid is not None else None
    return _user(user)


def _user(user: UserRecord | None) -> User | None:
    from alawael.schema.users import User

    return User.from_record(user) if user else None


async def _load_product(info: Info, oid: ObjectId) -> Product | None:
    return Product.maybe(await info.context.loaders.product_by_id.load(oid))


# A relation not prefetched (a single order, a mutation payload, prefetch off): the field
# loads it itself. Distinct from None, which is a prefetched "missing".
NOT_LOADED: Any = object()


@strawberry.type(description="A line of an order: a snapshot of the product when ordered.")
class OrderItem:
    sku: str
    name: str
    unit_price: Money
    quantity: int
    line_total: Money
    _product_id: strawberry.Private[ObjectId]
    _product: strawberry.Private[ProductRecord | None] = NOT_LOADED

    # Sync on purpose (see the module docstring): the declared GraphQL type is Product; the
    # Python result is the product, or an awaitable of it when it was not prefetched.
    @strawberry.field(
        description="The product now (archived products still resolve).",
        graphql_type=Product | None,
    )
    def product(self, info: Info) -> Product | Awaitable[Product | None] | None:
        if self._product is NOT_LOADED:
            return _load_product(info, self._product_id)
        return Product.maybe(self._product)

    @classmethod
    def from_record(
        cls,
        line: OrderLineRecord,
        products: Mapping[ObjectId, ProductRecord | None] | None = None,
    ) -> OrderItem:
        return cls(
            sku=line.sku,
            name=line.name,
            unit_price=Money(cents_to_decimal(line.unit_price_cents)),
            quantity=line.quantity,
            line_total=Money(cents_to_decimal(line.line_total_cents)),
            _product_id=line.product_id,
            _product=NOT_LOADED if products is None else products.get(line.product_id),
        )


@strawberry.type
class StatusChange:
    status: OrderStatus
    at: datetime
    note: str | None
    _by: strawberry.Private[ObjectId | None]

    @strawberry.field(
        description="Who made the change: for staff; customers see only their own changes "
        "(null otherwise, or if the user is gone)."
    )
    async def by(self, info: Info) -> _LazyUser | None:
        if not orders.may_see_editor(info.context.user, self._by):
            return None
        return await _load_user(info, self._by)


@strawberry.type
class Order(Node):
    number: str = strawberry.field(description='Human-readable, e.g. "ORD-000123".')
    items: list[OrderItem]
    subtotal: Money
    total: Money
    currency: str
    status: OrderStatus
    status_history: list[StatusChange]
    note: str | None
    created_at: datetime
    updated_at: datetime
    _id: strawberry.Private[ObjectId]
    _user_id: strawberry.Private[ObjectId]
    _customer: strawberry.Private[UserRecord | None] = NOT_LOADED

    # Sync on purpose, like OrderItem.product.
    @strawberry.field(graphql_type=_LazyUser | None)
    def customer(self, info: Info) -> User | Awaitable[User | None] | None:
        if self._customer is NOT_LOADED:
            return _load_user(info, self._user_id)
        return _user(self._customer)

    @classmethod
    def from_record(cls, o: OrderRecord, related: prefetch.OrderRelations | None = None) -> Order:
        users = related.users if related is not None else None
        products = related.products if related is not None else None
        return cls(
            id=to_global_id("Order", o.id),
            number=o.number,
            items=[OrderItem.from_record(line, products) for line in o.items],
            subtotal=Money(cents_to_decimal(o.subtotal_cents)),
            total=Money(cents_to_decimal(o.total_cents)),
            currency=o.currency,
            status=o.status,
            status_history=[
                StatusChange(status=h.status, at=h.at, note=h.note, _by=h.by_user_id)
                for h in o.status_history
            ],
            note=o.note,
            created_at=o.created_at,
            updated_at=o.updated_at,
            _id=o.id,
            _user_id=o.user_id,
            _customer=NOT_LOADED if users is None else users.get(o.user_id),
        )

    @classmethod
    def maybe(cls, o: OrderRecord | None) -> Order | None:
        return None if o is None else cls.from_record(o)


@strawberry.input(name="OrderFilter")
class OrderFilterInput:
    # `status` stays a single value: a list type would refuse every existing query that
    # passes it through a variable declared `OrderStatus` (GraphQL validates variable
    # positions strictly; only literals and list-typed variables get the one-item list).
    status: OrderStatus | None = None
    status_in: list[OrderStatus] | None = strawberry.field(
        default=None,
        description="Any of these statuses, e.g. [PENDING, CONFIRMED] for open orders. With "
        "`status` too, an order must match both.",
    )
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff only; a customer always gets their own orders."
    )
    created_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    created_to: datetime | None = strawberry.field(default=None, description="Exclusive.")
    search: str | None = strawberry.field(
        default=None,
        description=SEARCH_HELP.format(fields="the order number or the customer's name"),
    )


@strawberry.input(name="OrderSort")
class OrderSortInput:
    field: OrderSortField = OrderSortField.CREATED_AT
    direction: SortDirection = SortDirection.DESC


@strawberry.input
class OrderLineInput:
    product_id: strawberry.ID
    quantity: int


@strawberry.input
class PlaceOrderInput:
    items: list[OrderLineInput] = strawberry.field(
        description=f"1-{orders.MAX_LINES} lines; repeated products are merged."
    )
    note: str | None = None


@strawberry.type
class PlaceOrderPayload:
    order: Order | None = None
    errors: list[UserError]


@strawberry.type
class UpdateOrderStatusPayload:
    order: Order | None = None
    errors: list[UserError]


@strawberry.type
class CancelOrderPayload:
    order: Order | None = None
    errors: list[UserError]


async def _order(result: Awaitable[OrderRecord]) -> dict[str, Any]:
    return {"order": Order.from_record(await result)}


async def _node(info: Info, oid: ObjectId) -> Order | None:
    return Order.maybe(await r.visible_order(info, oid))


register_node("Order", _node)


async def orders_connection(
    info: Info,
    flt: OrderFilterInput | None,
    sort: OrderSortInput | None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[Order]:
    page = await r.orders_page(info, flt, sort, first, after, last, before)
    related = await prefetch.order_relations(info, page.items)
    return build_connection(page, lambda o: Order.from_record(o, related))


@strawberry.type
class OrderQuery:
    @strawberry.field(
        permission_classes=[HasPermission(Permission.VIEW_OWN_ORDERS)],
        description="An order you may see; anyone else's is NOT_FOUND.",
    )
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        return Order.from_record(await r.order(info, id))

    @strawberry.field(
        permission_classes=[HasPermission(Permission.VIEW_OWN_ORDERS)],
        description="An order by its number (ORD-000123, case-insensitive); an order you "
        "may not see is NOT_FOUND.",
    )
    async def order_by_number(self, info: Info, number: str) -> Order | None:
        return Order.from_record(await r.order_by_number(info, number))

    @strawberry.field(
        permission_classes=[HasPermission(Permission.VIEW_OWN_ORDERS)],
        description="Your orders (customers) or all orders (staff and above).",
    )
    async def orders(
        self,
        info: Info,
        filter: OrderFilterInput | None = None,
        sort: OrderSortInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Order]:
        return await orders_connection(info, filter, sort, first, after, last, before)


@strawberry.type
class OrderMutation:
    @strawberry.mutation(
        permission_classes=[HasPermission(Permission.PLACE_ORDERS)],
        description="Place an order; a retry with the same idempotencyKey returns the first "
        "order instead of placing another.",
    )
    async def place_order(
        self, info: Info, input: PlaceOrderInput, idempotency_key: str | None = None
    ) -> PlaceOrderPayload:
        return await run_mutation(
            PlaceOrderPayload, lambda: _order(r.place_order(info, input, idempotency_key))
        )

    @strawberry.mutation(
        permission_classes=[HasPermission(Permission.MANAGE_ORDERS)],
        description="PENDING->CONFIRMED->SHIPPED->DELIVERED; PENDING|CONFIRMED->CANCELLED.",
    )
    async def update_order_status(
        self, info: Info, id: strawberry.ID, status: OrderStatus, note: str | None = None
    ) -> UpdateOrderStatusPayload:
        return await run_mutation(
            UpdateOrderStatusPayload,
            lambda: _order(r.update_order_status(info, id, status, note)),
        )

    @strawberry.mutation(
        permission_classes=[HasPermission(Permission.VIEW_OWN_ORDERS)],
        description="Cancel and restock: your own PENDING order, or (staff) a PENDING or "
        "CONFIRMED one.",
    )
    async def cancel_order(
        self, info: Info, id: strawberry.ID, reason: str | None = None
    ) -> CancelOrderPayload:
        return await run_mutation(
            CancelOrderPayload, lambda: _order(r.cancel_order(info, id, reason))
        )

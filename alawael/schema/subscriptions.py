"""The Subscription root: realtime order, notification, stock, flag and sales updates.

Each field is a thin caller of a feed in `alawael.resolvers.subscriptions`: events carry ids only,
and every subscriber re-reads, per event and with fresh loaders, what its user could query.
Served over WebSocket at /graphql (graphql-transport-ws and legacy graphql-ws).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.types import Info

from alawael.auth.permissions import Permission
from alawael.infra.db import Document
from alawael.records.flags import FlagRecord
from alawael.resolvers import subscriptions as r
from alawael.schema.flags import FeatureFlag
from alawael.schema.node import from_global_id
from alawael.schema.notifications import Notification
from alawael.schema.orders import Order
from alawael.schema.permissions import HasPermission, IsAuthenticated
from alawael.schema.products import Product
from alawael.schema.scalars import Money, cents_to_decimal

_PLACED = frozenset({r.ORDER_PLACED})
_UPDATED = frozenset({r.ORDER_UPDATED})


@strawberry.type(description="A feature flag changed (or was deleted).")
class FeatureFlagChange:
    key: str
    deleted: bool
    enabled: bool = strawberry.field(description="The flag evaluated for you, now.")
    definition: FeatureFlag | None = strawberry.field(
        description="The new definition; null unless you may manage flags (or when deleted)."
    )

    @classmethod
    def build(
        cls, key: str, deleted: bool, enabled: bool, flag: FlagRecord | None
    ) -> FeatureFlagChange:
        definition = FeatureFlag.from_record(flag) if flag is not None else None
        return cls(key=key, deleted=deleted, enabled=enabled, definition=definition)


@strawberry.type(description="Today's sales (UTC day), cancelled orders excluded.")
class SalesTicker:
    day: datetime = strawberry.field(description="Start of the UTC day the figures cover.")
    revenue: Money
    order_count: int
    average_order_value: Money
    at: datetime = strawberry.field(description="When these figures were computed.")

    @classmethod
    def from_doc(cls, doc: Document) -> SalesTicker:
        return cls(
            day=doc["from"],
            revenue=Money(cents_to_decimal(doc["revenueCents"])),
            order_count=doc["orderCount"],
            average_order_value=Money(cents_to_decimal(doc["averageOrderValueCents"])),
            at=doc["at"],
        )


@strawberry.type
class RealtimeSubscription:
    @strawberry.subscription(
        permission_classes=[HasPermission(Permission.VIEW_OWN_ORDERS)],
        description="Status changes of orders: customers get their own orders, staff all "
        "orders; with orderId only that order (NOT_FOUND if you cannot see it).",
    )
    async def order_updated(
        self, info: Info, order_id: strawberry.ID | None = None
    ) -> AsyncGenerator[Order, None]:
        oid = from_global_id(order_id, "Order", field="orderId") if order_id else None
        feed = r.order_feed(info.context, kinds=_UPDATED, order_id=oid, to_node=Order.from_record)
        async for order in feed:
            yield order

    @strawberry.subscription(
        permission_classes=[HasPermission(Permission.VIEW_ALL_ORDERS)],
        description="Every newly placed order (staff).",
    )
    async def order_placed(self, info: Info) -> AsyncGenerator[Order, None]:
        feed = r.order_feed(info.context, kinds=_PLACED, order_id=None, to_node=Order.from_record)
        async for order in feed:
            yield order

    @strawberry.subscription(
        permission_classes=[HasPermission(Permission.READ_OWN_NOTIFICATIONS)],
        description="Your new notifications.",
    )
    async def notification_received(self, info: Info) -> AsyncGenerator[Notification, None]:
        async for item in r.notification_feed(info.context, to_node=Notification.from_record):
            yield item

    @strawberry.subscription(
        permission_classes=[HasPermission(Permission.READ_OWN_NOTIFICATIONS)],
        description="Your unread-notification count: on subscribe, then whenever it changes "
        "(new notifications, read marks and mark-all-read from any device).",
    )
    async def unread_notification_count(self, info: Info) -> AsyncGenerator[int, None]:
        async for count in r.unread_count_feed(info.context):
            yield count

    @strawberry.subscription(
        description="Stock changes of products (of one product with productId). Archived "
        "products only for managers."
    )
    async def product_stock_changed(
        self, info: Info, product_id: strawberry.ID | None = None
    ) -> AsyncGenerator[Product, None]:
        oid = from_global_id(product_id, "Product", field="productId") if product_id else None
        async for item in r.stock_feed(info.context, product_id=oid, to_node=Product.from_record):
            yield item

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Feature flag changes, evaluated for you; flag managers get the definition.",
    )
    async def feature_flag_changed(self, info: Info) -> AsyncGenerator[FeatureFlagChange, None]:
        async for item in r.flag_feed(info.context, to_node=FeatureFlagChange.build):
            yield item

    @strawberry.subscription(
        permission_classes=[HasPermission(Permission.VIEW_ANALYTICS)],
        description="Today's revenue and order count: the current figures on subscribe, then "
        "after order events (bursts folded, at most about once per second).",
    )
    async def sales_ticker(self, info: Info) -> AsyncGenerator[SalesTicker, None]:
        async for item in r.sales_feed(info.context, to_node=SalesTicker.from_doc):
            yield item

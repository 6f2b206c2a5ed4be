"""`salesSummary` and `apiUsage`: dashboards for managers (Permission.VIEW_ANALYTICS)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from bson import ObjectId
from strawberry.types import Info

from alawael.auth.permissions import Permission
from alawael.infra.db import Document
from alawael.records.orders import OrderStatus  # GraphQL enum registered by schema.orders
from alawael.resolvers import analytics as r
from alawael.schema.node import to_global_id
from alawael.schema.permissions import HasPermission
from alawael.schema.products import Product
from alawael.schema.scalars import Money, cents_to_decimal
from alawael.services.analytics import Granularity

strawberry.enum(Granularity, name="Granularity", description="Time-series bucket (UTC).")

FromArg = Annotated[
    datetime, strawberry.argument(name="from", description="Inclusive start (UTC).")
]
ToArg = Annotated[
    datetime, strawberry.argument(name="to", description="Exclusive end; at most 2 years later.")
]


@strawberry.type
class StatusCount:
    status: OrderStatus
    count: int


@strawberry.type(description="A product's sales in the range (from the order line snapshots).")
class TopProduct:
    product_id: strawberry.ID
    sku: str = strawberry.field(description="As on the newest order line in the range.")
    name: str = strawberry.field(description="As on the newest order line in the range.")
    quantity: int
    revenue: Money
    _oid: strawberry.Private[ObjectId]

    @strawberry.field(description="The product as it is now (null if it was deleted).")
    async def product(self, info: Info) -> Product | None:
        return Product.maybe(await info.context.loaders.product_by_id.load(self._oid))


@strawberry.type(description="One period of the time series; empty periods are zeros.")
class SalesPoint:
    period_start: datetime
    revenue: Money
    order_count: int


@strawberry.type
class SalesSummary:
    from_: datetime = strawberry.field(name="from")
    to: datetime
    granularity: Granularity
    revenue: Money = strawberry.field(description="Sum of order totals, cancelled orders excluded.")
    order_count: int = strawberry.field(description="Orders that count as revenue.")
    average_order_value: Money
    orders_by_status: list[StatusCount] = strawberry.field(
        description="Every order in the range by status, cancelled included."
    )
    top_products: list[TopProduct] = strawberry.field(description="Top 10 by revenue.")
    series: list[SalesPoint]

    @classmethod
    def from_doc(cls, doc: Document) -> SalesSummary:
        return cls(
            from_=doc["from"],
            to=doc["to"],
            granularity=Granularity(doc["granularity"]),
            revenue=_money(doc["revenueCents"]),
            order_count=doc["orderCount"],
            average_order_value=_money(doc["averageOrderValueCents"]),
            orders_by_status=[
                StatusCount(status=OrderStatus(row["status"]), count=row["count"])
                for row in doc["ordersByStatus"]
            ],
            top_products=[
                TopProduct(
                    product_id=to_global_id("Product", row["productId"]),
                    sku=row["sku"],
                    name=row["name"],
                    quantity=row["quantity"],
                    revenue=_money(row["revenueCents"]),
                    _oid=row["productId"],
                )
                for row in doc["topProducts"]
            ],
            series=[
                SalesPoint(
                    period_start=row["periodStart"],
                    revenue=_money(row["revenueCents"]),
                    order_count=row["orderCount"],
                )
                for row in doc["series"]
            ],
        )


@strawberry.type
class EndpointUsage:
    endpoint: str
    calls: int
    errors: int = strawberry.field(description="Calls answered with status >= 400.")
    error_rate: float = strawberry.field(description="errors / calls, 0-1.")
    avg_duration_ms: float
    p95_duration_ms: float = strawberry.field(
        description="Nearest-rank 95th percentile of the durations."
    )

    @classmethod
    def from_doc(cls, doc: Document) -> EndpointUsage:
        return cls(
            endpoint=doc["endpoint"],
            calls=doc["calls"],
            errors=doc["errors"],
            error_rate=doc["errorRate"],
            avg_duration_ms=doc["avgDurationMs"],
            p95_duration_ms=doc["p95DurationMs"],
        )


@strawberry.type
class ApiUsage:
    from_: datetime = strawberry.field(name="from")
    to: datetime
    totals: EndpointUsage = strawberry.field(description='All endpoints together ("*").')
    endpoints: list[EndpointUsage] = strawberry.field(description="Busiest first.")


def _money(cents: int) -> Money:
    return Money(cents_to_decimal(cents))


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(permission_classes=[HasPermission(Permission.VIEW_ANALYTICS)])
    async def sales_summary(
        self, info: Info, from_: FromArg, to: ToArg, granularity: Granularity = Granularity.DAY
    ) -> SalesSummary:
        return SalesSummary.from_doc(await r.sales_summary(info, from_, to, granularity))

    @strawberry.field(permission_classes=[HasPermission(Permission.VIEW_ANALYTICS)])
    async def api_usage(self, info: Info, from_: FromArg, to: ToArg) -> ApiUsage:
        doc = await r.api_usage(info, from_, to)
        totals = EndpointUsage.from_doc(doc["totals"])
        endpoints = [EndpointUsage.from_doc(row) for row in doc["endpoints"]]
        return ApiUsage(from_=doc["from"], to=doc["to"], totals=totals, endpoints=endpoints)

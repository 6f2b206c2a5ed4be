"""REST models of the sales summary."""

from __future__ import annotations

from pydantic import (
    Field,
)

from alawael.infra.db import Document
from alawael.rest.models.common import (
    MoneyOut,
    Out,
    Query,
    Timestamp,
    TimestampIn,
    money,
)
from alawael.services.analytics import Granularity
from alawael.shared.ids import to_global_id

# --- analytics -------------------------------------------------------------------------


class SummaryQuery(Query):
    from_: TimestampIn | None = Field(
        default=None, alias="from", description="Inclusive; default: 30 days before `to`."
    )
    to: TimestampIn | None = Field(default=None, description="Exclusive; default: now.")
    granularity: Granularity = Granularity.DAY


class StatusCountOut(Out):
    status: str
    count: int


class TopProductOut(Out):
    product_id: str
    sku: str
    name: str
    quantity: int
    revenue: MoneyOut


class SalesPointOut(Out):
    period_start: Timestamp
    revenue: MoneyOut
    order_count: int


class SalesSummaryOut(Out):
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    granularity: Granularity
    revenue: MoneyOut = Field(description="Sum of order totals, cancelled orders excluded.")
    order_count: int
    average_order_value: MoneyOut
    orders_by_status: list[StatusCountOut]
    top_products: list[TopProductOut] = Field(description="Top 10 by revenue.")
    series: list[SalesPointOut] = Field(description="One point per period; empty ones are 0.")

    @classmethod
    def from_doc(cls, doc: Document) -> SalesSummaryOut:
        return cls(
            from_=doc["from"],
            to=doc["to"],
            granularity=Granularity(doc["granularity"]),
            revenue=money(doc["revenueCents"]),
            order_count=doc["orderCount"],
            average_order_value=money(doc["averageOrderValueCents"]),
            orders_by_status=[StatusCountOut(**row) for row in doc["ordersByStatus"]],
            top_products=[
                TopProductOut(
                    product_id=to_global_id("Product", row["productId"]),
                    sku=row["sku"],
                    name=row["name"],
                    quantity=row["quantity"],
                    revenue=money(row["revenueCents"]),
                )
                for row in doc["topProducts"]
            ],
            series=[
                SalesPointOut(
                    period_start=row["periodStart"],
                    revenue=money(row["revenueCents"]),
                    order_count=row["orderCount"],
                )
                for row in doc["series"]
            ],
        )

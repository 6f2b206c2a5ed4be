"""REST models of orders."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BeforeValidator,
    Field,
    WithJsonSchema,
)

from alawael.auth.permissions import Actor
from alawael.records.orders import OrderRecord, OrderStatus
from alawael.rest.models.common import (
    Body,
    GlobalId,
    MoneyOut,
    Out,
    PageQuery,
    Timestamp,
    TimestampIn,
    money,
)
from alawael.services.orders import MAX_LINES, MAX_QUANTITY, may_see_editor
from alawael.services.search import HELP as SEARCH_HELP
from alawael.shared.ids import to_global_id

# --- orders ----------------------------------------------------------------------------


def _split_statuses(value: object) -> object:
    # One query parameter, comma-separated (the pipeline refuses repeated parameters).
    return [part.strip() for part in value.split(",")] if isinstance(value, str) else value


_STATUS = "|".join(status.value for status in OrderStatus)
StatusList = Annotated[
    tuple[OrderStatus, ...],
    BeforeValidator(_split_statuses),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^({_STATUS})(,({_STATUS}))*$",
            "examples": ["PENDING,CONFIRMED"],
            "description": "One status, or several comma-separated (any of them).",
        }
    ),
]


class OrderListQuery(PageQuery):
    # Named as in the GraphQL filter, so one OrderFilter.from_input reads both doors; the
    # query-string names (status, from, to) stay those integrators know.
    status_in: StatusList | None = Field(default=None, alias="status")
    created_from: TimestampIn | None = Field(default=None, alias="from", description="Inclusive.")
    created_to: TimestampIn | None = Field(default=None, alias="to", description="Exclusive.")
    user_id: GlobalId | None = Field(
        default=None, description="Staff only; customers always get their own orders."
    )
    search: str | None = Field(
        default=None,
        max_length=100,
        description=SEARCH_HELP.format(fields="the order number or the customer's name"),
    )


class OrderLineBody(Body):
    product_id: GlobalId
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class PlaceOrderBody(Body):
    items: list[OrderLineBody] = Field(
        min_length=1, max_length=MAX_LINES, description="Repeated products are merged."
    )
    note: str | None = Field(default=None, max_length=1000)


class OrderStatusBody(Body):
    status: OrderStatus
    note: str | None = Field(default=None, max_length=1000)


class CancelOrderBody(Body):
    reason: str | None = Field(default=None, max_length=1000)


class OrderItemOut(Out):
    product_id: str
    sku: str
    name: str
    unit_price: MoneyOut
    quantity: int
    line_total: MoneyOut


class StatusChangeOut(Out):
    status: OrderStatus
    at: Timestamp
    note: str | None
    by_user_id: str | None


class OrderOut(Out):
    id: str
    number: str
    customer_id: str
    items: list[OrderItemOut]
    subtotal: MoneyOut
    total: MoneyOut
    currency: str
    status: OrderStatus
    status_history: list[StatusChangeOut]
    note: str | None
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def from_record(cls, o: OrderRecord, viewer: Actor | None) -> OrderOut:
        """`viewer`: who asks. Whether they may see who changed the status is the orders
        service's rule (`may_see_editor`), the same one the GraphQL field applies."""
        return cls(
            id=to_global_id("Order", o.id),
            number=o.number,
            customer_id=to_global_id("User", o.user_id),
            items=[
                OrderItemOut(
                    product_id=to_global_id("Product", item.product_id),
                    sku=item.sku,
                    name=item.name,
                    unit_price=money(item.unit_price_cents),
                    quantity=item.quantity,
                    line_total=money(item.line_total_cents),
                )
                for item in o.items
            ],
            subtotal=money(o.subtotal_cents),
            total=money(o.total_cents),
            currency=o.currency,
            status=o.status,
            status_history=[
                StatusChangeOut(
                    status=h.status,
                    at=h.at,
                    note=h.note,
                    by_user_id=to_global_id("User", h.by_user_id)
                    if h.by_user_id is not None and may_see_editor(viewer, h.by_user_id)
                    else None,
                )
                for h in o.status_history
            ],
            note=o.note,
            created_at=o.created_at,
            updated_at=o.updated_at,
        )

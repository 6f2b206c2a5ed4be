"""Orders through alawael.services.orders (the same ownership rules, transaction,
idempotency and state machine as GraphQL)."""

from __future__ import annotations

from alawael.auth.permissions import Permission
from alawael.rest.ids import parse_id
from alawael.rest.models import (
    CancelOrderBody,
    OrderListQuery,
    OrderOut,
    OrderStatusBody,
    PlaceOrderBody,
)
from alawael.rest.routing import Call, Header, Paged, endpoint, page_args
from alawael.services import orders

TAG = "Orders"
_PATH = {"id": "An Order id (the global id the API returns, or a raw 24-hex ObjectId)."}
IDEMPOTENCY_HEADER = Header(
    "Idempotency-Key",
    "Optional, 1-128 printable characters. A retry with the same key (and the same items) returns "
    "the first order, with the same 201 response, instead of placing another; the same key "
    "with different items is a 409. Keys are per user and kept for 24 hours.",
    max_length=128,
)


@endpoint(
    "GET",
    "/api/orders",
    summary="Orders: your own (customers) or all (staff and above)",
    tag=TAG,
    access=Permission.VIEW_OWN_ORDERS,
    query=OrderListQuery,
    response=OrderOut,
    many=True,
)
async def list_orders(call: Call) -> Paged:
    """Newest first. `from` is inclusive, `to` exclusive (ISO 8601; naive times are UTC)."""
    q = call.query_as(OrderListQuery)
    user_id = parse_id(q.user_id, "User", "userId") if q.user_id else None
    flt = orders.OrderFilter.from_input(q, user_id=user_id)
    page = await orders.list_orders(call.res, call.actor, flt, args=page_args(q))
    return Paged([OrderOut.from_record(item, call.actor) for item in page.items], page, q.limit)


@endpoint(
    "GET",
    "/api/orders/by-number/{number}",
    summary="One order you may see, by its number",
    tag=TAG,
    access=Permission.VIEW_OWN_ORDERS,
    response=OrderOut,
    errors=(404,),
    path_params={"number": "The order number, e.g. ORD-000123 (case-insensitive)."},
)
async def get_order_by_number(call: Call) -> OrderOut:
    """Someone else's order is a 404 to customers, as for `GET /api/orders/{id}`."""
    doc = await orders.get_order_by_number(call.res, call.actor, call.path["number"])
    return OrderOut.from_record(doc, call.actor)


@endpoint(
    "GET",
    "/api/orders/{id}",
    summary="One order you may see",
    tag=TAG,
    access=Permission.VIEW_OWN_ORDERS,
    response=OrderOut,
    errors=(404,),
    path_params=_PATH,
)
async def get_order(call: Call) -> OrderOut:
    """Someone else's order is a 404 to customers (ids can't be probed)."""
    return OrderOut.from_record(
        await orders.get_order(call.res, call.actor, call.oid("Order")), call.actor
    )


@endpoint(
    "POST",
    "/api/orders",
    summary="Place an order",
    tag=TAG,
    access=Permission.PLACE_ORDERS,
    body=PlaceOrderBody,
    response=OrderOut,
    status=201,
    errors=(404, 409),
    headers=(IDEMPOTENCY_HEADER,),
)
async def place_order(call: Call) -> OrderOut:
    """Takes the stock and writes the order in one transaction. Not enough stock is a 409
    (`INSUFFICIENT_STOCK`, `details.available`); an unknown or archived product a 404."""
    body = call.body_as(PlaceOrderBody)
    lines = [
        orders.OrderLine(
            parse_id(line.product_id, "Product", f"items.{i}.productId"), line.quantity
        )
        for i, line in enumerate(body.items)
    ]
    doc = await orders.place_order(
        call.res,
        call.actor,
        lines,
        note=body.note,
        idempotency_key=call.request.headers.get("idempotency-key"),
        request_id=call.request_id,
    )
    return OrderOut.from_record(doc, call.actor)


@endpoint(
    "PATCH",
    "/api/orders/{id}/status",
    summary="Move an order along the state machine (staff)",
    tag=TAG,
    access=Permission.MANAGE_ORDERS,
    body=OrderStatusBody,
    response=OrderOut,
    errors=(404, 409),
    path_params=_PATH,
)
async def update_order_status(call: Call) -> OrderOut:
    """PENDING -> CONFIRMED -> SHIPPED -> DELIVERED; PENDING or CONFIRMED -> CANCELLED
    (restocks). Any other move is a 409 `INVALID_TRANSITION`."""
    body = call.body_as(OrderStatusBody)
    doc = await orders.update_order_status(
        call.res,
        call.actor,
        call.oid("Order"),
        body.status,
        body.note,
        request_id=call.request_id,
    )
    return OrderOut.from_record(doc, call.actor)


@endpoint(
    "POST",
    "/api/orders/{id}/cancel",
    summary="Cancel an order and restock it",
    tag=TAG,
    access=Permission.VIEW_OWN_ORDERS,
    body=CancelOrderBody,
    body_required=False,
    response=OrderOut,
    errors=(403, 404, 409),
    path_params=_PATH,
)
async def cancel_order(call: Call) -> OrderOut:
    """Customers: their own PENDING order (a CONFIRMED one is a 403). Staff: any PENDING
    or CONFIRMED order. The body (`reason`) is optional."""
    body = call.body_as(CancelOrderBody)
    doc = await orders.cancel_order(
        call.res, call.actor, call.oid("Order"), body.reason, request_id=call.request_id
    )
    return OrderOut.from_record(doc, call.actor)

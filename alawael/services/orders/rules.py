"""Orders' rules: the state machine, line limits, who may see an order and its editors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bson import ObjectId

from alawael.auth.permissions import Actor, Permission
from alawael.records.orders import OrderRecord, OrderStatus
from alawael.shared.errors import (
    BadUserInput,
    Unauthenticated,
)

ORDERS_CHANNEL = "orders"
MAX_LINES = 50
MAX_QUANTITY = 1000
MAX_NOTE = 1000


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
    # Any of these statuses (an "open orders" view is PENDING + CONFIRMED); None: any status;
    # empty: none (see wanted_statuses).
    status: Sequence[OrderStatus] | None = None
    user_id: ObjectId | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    search: str | None = None  # order number or customer name (services/search.py)

    @classmethod
    def from_input(cls, source: object | None, *, user_id: ObjectId | None) -> OrderFilter:
        """From a GraphQL filter input or a REST query string: both doors name the fields
        alike (`status`, `status_in`, `created_from`, `created_to`, `search`). The user id
        comes parsed, since each door has its own id formats."""
        return cls(
            status=wanted_statuses(
                getattr(source, "status", None), getattr(source, "status_in", None)
            ),
            user_id=user_id,
            created_from=getattr(source, "created_from", None),
            created_to=getattr(source, "created_to", None),
            search=getattr(source, "search", None),
        )


@dataclass(frozen=True)
class MergedLine:
    index: int  # of the first input line for this product: errors point at it
    product_id: ObjectId
    quantity: int


def wanted_statuses(
    status: OrderStatus | None, any_of: Sequence[OrderStatus] | None
) -> tuple[OrderStatus, ...] | None:
    """The statuses a filter asks for: None for any. `status` and `any_of` together must both
    hold (like every other filter field), so the answer is their intersection; an empty
    intersection matches nothing (an empty tuple, not None). An empty `any_of` alone names
    no status: any."""
    if status is None:
        return tuple(dict.fromkeys(any_of)) if any_of else None
    if any_of and status not in any_of:
        return ()
    return (status,)


def require_signed_in(actor: Actor | None) -> Actor:
    if actor is None:
        raise Unauthenticated()
    return actor


def clean_note(note: str | None, field: str = "note") -> str | None:
    if note is None:
        return None
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise BadUserInput(f"`{field}` is longer than {MAX_NOTE} characters.", field=field)
    return note or None


def merge_lines(lines: Sequence[OrderLine]) -> list[MergedLine]:
    """Validate the lines and merge duplicates of one product (quantities add up)."""
    if not lines:
        raise BadUserInput("An order needs at least one item.", field="items")
    if len(lines) > MAX_LINES:
        raise BadUserInput(f"An order holds at most {MAX_LINES} lines.", field="items")
    merged: dict[ObjectId, MergedLine] = {}
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
        merged[line.product_id] = MergedLine(seen.index if seen else i, line.product_id, total)
    # A fixed order of stock updates (by product id) keeps concurrent orders that share
    # products from taking their write locks in opposite orders.
    return sorted(merged.values(), key=lambda m: m.product_id)


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

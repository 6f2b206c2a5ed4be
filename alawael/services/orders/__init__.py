"""Orders: placing (stock + order + idempotency + audit in one transaction), reading with
ownership rules, and the status state machine.

Customers see only their own orders; someone else's order is NOT_FOUND (never FORBIDDEN),
so ids can't be probed for existence. Staff and above see all orders. One module per
concern; this package re-exports the public names so callers say `orders.place_order(...)`.
"""

from alawael.records.orders import OrderStatus
from alawael.services.orders.locks import KeyedLocks, next_order_number, stock_locks
from alawael.services.orders.placing import place_order
from alawael.services.orders.queries import get_order, get_order_by_number, list_orders
from alawael.services.orders.rules import (
    CUSTOMER_CANCELLABLE,
    MAX_LINES,
    MAX_NOTE,
    MAX_QUANTITY,
    ORDERS_CHANNEL,
    TRANSITIONS,
    OrderFilter,
    OrderLine,
    OrderSortField,
    can_see_all,
    may_see_editor,
    merge_lines,
    visible,
    wanted_statuses,
)
from alawael.services.orders.status import cancel_order, update_order_status

__all__ = [
    "CUSTOMER_CANCELLABLE",
    "MAX_LINES",
    "MAX_NOTE",
    "MAX_QUANTITY",
    "ORDERS_CHANNEL",
    "TRANSITIONS",
    "KeyedLocks",
    "OrderFilter",
    "OrderLine",
    "OrderSortField",
    "OrderStatus",
    "can_see_all",
    "cancel_order",
    "get_order",
    "get_order_by_number",
    "list_orders",
    "may_see_editor",
    "merge_lines",
    "next_order_number",
    "place_order",
    "stock_locks",
    "update_order_status",
    "visible",
    "wanted_statuses",
]

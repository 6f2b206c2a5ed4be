"""Reading orders: one order, filtered and sorted pages of them (ownership applied)."""

from __future__ import annotations

from bson import ObjectId

from alawael.auth.permissions import Actor
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.records.orders import OrderRecord
from alawael.services import search
from alawael.services.orders.rules import (
    OrderFilter,
    OrderSortField,
    can_see_all,
    require_signed_in,
    visible,
)
from alawael.services.pagination import Page, PageArgs, empty_page
from alawael.services.search_pages import paginate_matching
from alawael.shared.errors import (
    BadUserInput,
    NotFound,
)


async def get_order(res: Resources, actor: Actor | None, oid: ObjectId) -> OrderRecord:
    require_signed_in(actor)
    doc = await res.db.orders.find_one({"_id": oid})
    order = visible(actor, None if doc is None else OrderRecord.from_doc(doc))
    if order is None:
        raise NotFound("No such order.", field="id")
    return order


async def get_order_by_number(res: Resources, actor: Actor | None, number: str) -> OrderRecord:
    """An order by its number ("ORD-000123"; case and surrounding spaces ignored), with the
    same visibility as `get_order`: someone else's order is NOT_FOUND to customers."""
    require_signed_in(actor)
    key = number.strip().upper()
    doc = await res.db.orders.find_one({"number": key}, search.WITHOUT_KEYS) if key else None
    order = visible(actor, None if doc is None else OrderRecord.from_doc(doc))
    if order is None:
        raise NotFound("No such order.", field="number")
    return order


async def list_orders(
    res: Resources,
    actor: Actor | None,
    flt: OrderFilter,
    *,
    sort: OrderSortField = OrderSortField.CREATED_AT,
    descending: bool = True,
    args: PageArgs,
) -> Page[OrderRecord]:
    """Orders the actor may see. A customer's filter is forced to their own user id; asking
    for someone else's orders gives an empty page, not an error."""
    actor = require_signed_in(actor)
    query: Document = {}
    if can_see_all(actor):
        if flt.user_id is not None:
            query["userId"] = flt.user_id
    else:
        own = ObjectId(actor.user_id)
        if flt.user_id is not None and flt.user_id != own:
            return empty_page()
        query["userId"] = own
    if flt.status is not None:
        # An empty tuple (contradictory filters) matches nothing, as `$in: []` does.
        query["status"] = {"$in": sorted({status.value for status in flt.status})}
    created: Document = {}
    if flt.created_from is not None:
        created["$gte"] = flt.created_from
    if flt.created_to is not None:
        created["$lt"] = flt.created_to
    if flt.created_from and flt.created_to and flt.created_from > flt.created_to:
        raise BadUserInput("`createdFrom` is after `createdTo`.", field="createdFrom")
    if created:
        query["createdAt"] = created
    page = await paginate_matching(
        res.db,
        "orders",
        query,
        search.search_terms(flt.search),
        sort_field=sort.value,
        direction=-1 if descending else 1,
        args=args,
        projection=search.WITHOUT_KEYS,
        windowed=res.scan_windows,
    )
    return page.map(OrderRecord.from_doc)

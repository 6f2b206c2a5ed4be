"""Selection-aware prefetch for order pages.

A page of orders whose query selects `customer` or `items.product` used to resolve each of
those relations in its own async resolver: the DataLoader still batched them into one `$in`
per relation, but graphql-core then ran the page on its async path (a task or a gather per
order and per line, ~240 per dashboard request), which cost about a third of the request's
CPU. Here the connection resolver looks at the selected fields first and loads the related
records for the whole page up front, through the same DataLoaders (so still one `$in` per
relation, and the records land in the loaders' caches for any other field of the operation).
The relation fields then return the prefetched record synchronously.

Visibility is unchanged: the fields apply the same rules to a prefetched record as to a
loaded one (alawael.schema.orders); only *when* the records are loaded moves.

`GRAPHQL_FAST_PATH=false` (Settings.graphql_fast_path, read when the schema is built, see
alawael.schema.build) turns it off: every relation resolves
through its async resolver as before. The correctness guard (tests/test_fast_path_guard.py)
runs the same queries both ways and compares the JSON.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)
from strawberry.types import Info

from alawael.records.orders import OrderRecord
from alawael.records.products import ProductRecord
from alawael.records.users import UserRecord


@dataclass(frozen=True, slots=True)
class OrderRelations:
    """Related records of a page, by id; None for a relation the query does not select."""

    users: Mapping[ObjectId, UserRecord | None] | None = None
    products: Mapping[ObjectId, ProductRecord | None] | None = None


NOTHING = OrderRelations()


def _children(
    selection_sets: Iterable[SelectionSetNode | None],
    fragments: Mapping[str, FragmentDefinitionNode],
    name: str,
) -> list[SelectionSetNode | None]:
    """The selection sets of every field called `name` (aliased or not) directly in these
    selection sets, looking through fragments. Type conditions and @skip/@include are not
    evaluated: at worst a relation is loaded that the response does not show (one query),
    never one missed (the field would then load it itself)."""
    found: list[SelectionSetNode | None] = []
    for field in _fields(selection_sets, fragments, set()):
        if field.name.value == name:
            found.append(field.selection_set)
    return found


def _fields(
    selection_sets: Iterable[SelectionSetNode | None],
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: set[str],
) -> Iterator[FieldNode]:
    for selection_set in selection_sets:
        if selection_set is None:
            continue
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                yield sel
            elif isinstance(sel, InlineFragmentNode):
                yield from _fields([sel.selection_set], fragments, seen)
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in seen:  # validation rejects cycles
                    seen.add(name)
                    yield from _fields([fragment.selection_set], fragments, seen)


@dataclass(frozen=True, slots=True)
class OrderSelection:
    customer: bool
    product: bool


def order_selection(info: Info) -> OrderSelection:
    """Which relations the order nodes of this connection field select (edges.node or nodes)."""
    raw = info._raw_info
    fragments = raw.fragments
    connection = [node.selection_set for node in raw.field_nodes]
    nodes = _children(_children(connection, fragments, "edges"), fragments, "node")
    nodes += _children(connection, fragments, "nodes")
    items = _children(nodes, fragments, "items")
    return OrderSelection(
        customer=bool(_children(nodes, fragments, "customer")),
        product=bool(_children(items, fragments, "product")),
    )


def enabled(info: Info) -> bool:
    """The schema's switch (ErrorSchema.fast_path), so both paths can run in one process."""
    return bool(getattr(info.schema, "fast_path", True))


async def order_relations(info: Info, records: Sequence[OrderRecord]) -> OrderRelations:
    """Load the selected relations of a page of orders through the request's DataLoaders."""
    if not records or not enabled(info):
        return NOTHING
    wanted = order_selection(info)
    if not (wanted.customer or wanted.product):
        return NOTHING
    loaders = info.context.loaders
    user_ids = list(dict.fromkeys(o.user_id for o in records)) if wanted.customer else []
    product_ids = (
        list(dict.fromkeys(line.product_id for o in records for line in o.items))
        if wanted.product
        else []
    )
    # Both batches go out in the same loop tick: the two `$in` run concurrently.
    try:
        users, products = await asyncio.gather(
            _load(loaders.user_by_id, user_ids), _load(loaders.product_by_id, product_ids)
        )
    except Exception:
        # E.g. MongoDB unreachable: nothing is prefetched and each relation field loads (and
        # fails, or succeeds on a retry) by itself, so the page and its errors look exactly as
        # without the prefetch (a failed batch is not cached by the loader).
        return NOTHING
    return OrderRelations(
        users=dict(zip(user_ids, users, strict=True)) if wanted.customer else None,
        products=dict(zip(product_ids, products, strict=True)) if wanted.product else None,
    )


async def _load(loader: Any, keys: list[ObjectId]) -> list[Any]:
    if not keys:
        return []
    return list(await loader.load_many(keys))

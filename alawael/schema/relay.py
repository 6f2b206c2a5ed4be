"""Relay `node(id)` / `nodes(ids)`: dispatch a global id to its type's registered resolver.

Each domain registers its node types with `register_node` (Product, Order, Notification
here; User in accounts, FeatureFlag in flags), applying the same visibility rules as its
own queries: what the caller may not see resolves to null, exactly like a missing id.
"""

from __future__ import annotations

import asyncio

import strawberry
from strawberry.types import Info

from alawael.schema.node import NODE_RESOLVERS, Node, from_global_id, type_of_global_id
from alawael.shared.errors import BadUserInput

# Imported for their register_node side effects (and so their types are in the schema).
from alawael.schema import notifications, orders, products  # noqa: F401  # isort: skip

MAX_NODES = 100


async def resolve_node(info: Info, gid: str) -> Node | None:
    oid = from_global_id(gid)  # malformed: BAD_USER_INPUT
    resolver = NODE_RESOLVERS.get(type_of_global_id(gid))
    if resolver is None:
        return None  # a well-formed id of a type without nodes: nothing to find
    node: Node | None = await resolver(info, oid)
    return node


@strawberry.type
class RelayQuery:
    @strawberry.field(description="Any object by its global id; null if missing or not yours.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(description=f"Several objects by global id (at most {MAX_NODES}).")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise BadUserInput(f"At most {MAX_NODES} ids.", field="ids")
        # Concurrently, so the ids of one type share one DataLoader batch.
        return list(await asyncio.gather(*(resolve_node(info, gid) for gid in ids)))

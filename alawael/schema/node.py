"""Relay `Node`: opaque global ids ("Type:objectid", base64url) and `node(id)` dispatch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from bson import ObjectId

from alawael.shared import ids


@strawberry.interface(description="An object with a globally unique id.")
class Node:
    id: strawberry.ID


def to_global_id(type_name: str, oid: ObjectId | str) -> strawberry.ID:
    """The core's global id (alawael.shared.ids), typed as GraphQL's ID."""
    return strawberry.ID(ids.to_global_id(type_name, oid))


from_global_id = ids.from_global_id
type_of_global_id = ids.type_of_global_id


# type name -> async (info, ObjectId) -> object | None. Each domain registers its types.
NodeResolver = Callable[[Any, ObjectId], Awaitable[Any]]
NODE_RESOLVERS: dict[str, NodeResolver] = {}


def register_node(type_name: str, resolver: NodeResolver) -> None:
    NODE_RESOLVERS[type_name] = resolver

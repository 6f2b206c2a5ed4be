"""Relay cursor connections built from a keyset `Page`. `totalCount` is counted only when
a query selects it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from alawael.services.pagination import Page

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    _page: strawberry.Private[Page[Any]]

    @strawberry.field(
        description="Total matching items; costs a count query, so ask only when needed."
    )
    async def total_count(self) -> int:
        return await self._page.count()

    @strawberry.field(description="The nodes without edges, for clients that need no cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


def build_connection(page: Page[R], to_node: Callable[[R], T]) -> Connection[T]:
    """Wrap a keyset page of records as a Connection of GraphQL nodes."""
    return Connection(
        edges=[
            Edge(cursor=cursor, node=to_node(item))
            for cursor, item in zip(page.cursors, page.items, strict=True)
        ],
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.start_cursor,
            end_cursor=page.end_cursor,
        ),
        _page=page,
    )

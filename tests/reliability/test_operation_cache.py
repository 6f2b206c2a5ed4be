"""The whole-operation cache (OPERATION_CACHE=true) never serves stale or foreign data:
every write is visible on the next request, each caller has their own entries, and only
error-free, read-only order/catalogue queries are stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from alawael.auth.permissions import Role
from alawael.config import Settings
from alawael.context import Resources
from alawael.schema.node import to_global_id
from alawael.schema.operation_cache import CACHE_NAME, cacheable
from alawael.server import create_app
from tests.conftest import make_settings
from tests.reliability.support import (
    PLACE_ORDER,
    gql,
    make_product,
    make_token_user,
    order_input,
)

DASHBOARD = """
query Dashboard {
  orders(first: 50) {
    edges { node { number total customer { name } items { quantity product { stock } } } }
  }
}
"""
ADJUST = """
mutation($id: ID!) { adjustStock(id: $id, delta: 5, reason: "count") { errors { code } } }
"""


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    cached = make_settings(settings.mongodb_uri or "", mongodb_db=settings.mongodb_db)
    application = create_app(cached.model_copy(update={"operation_cache": True}))
    async with application.router.lifespan_context(application):
        yield application


def _hits(resources: Resources) -> int:
    return resources.cache.stats.snapshot().get(CACHE_NAME, {}).get("hit", 0)


async def test_writes_are_visible_on_the_next_request(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    pid = await make_product(resources, "OPC-1", 20)
    admin = await make_token_user(resources, Role.ADMIN)
    buyer = await make_token_user(resources)
    await gql(client, PLACE_ORDER, order_input([(pid, 2)]), user=buyer)

    first = (await gql(client, DASHBOARD, user=admin)).json()
    again = (await gql(client, DASHBOARD, user=admin)).json()
    assert again == first
    assert _hits(resources) == 1
    assert len(first["data"]["orders"]["edges"]) == 1

    await gql(client, PLACE_ORDER, order_input([(pid, 3)]), user=buyer)  # bumps "orders"
    after_order = (await gql(client, DASHBOARD, user=admin)).json()
    assert len(after_order["data"]["orders"]["edges"]) == 2
    await gql(client, ADJUST, {"id": to_global_id("Product", pid)}, user=admin)  # "products"
    after_adjust = (await gql(client, DASHBOARD, user=admin)).json()
    stocks = {
        e["node"]["items"][0]["product"]["stock"] for e in after_adjust["data"]["orders"]["edges"]
    }
    assert stocks == {20 - 5 + 5}

    # Another caller never gets the admin's entry: a customer sees only their own orders.
    other = await make_token_user(resources)
    mine = (await gql(client, DASHBOARD, user=other)).json()
    assert mine["data"]["orders"]["edges"] == []
    # Errors are never stored: anonymous `orders` is refused every time.
    for _ in range(2):
        refused = (await gql(client, DASHBOARD)).json()
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (DASHBOARD, True),
        ("{ products(first: 5) { edges { node { sku } } } }", True),
        ("query A { products { totalCount } } query B { me { id } }", False),  # which one?
        ("mutation { logout { errors { code } } }", False),
        ("{ me { id } }", False),
        ("{ orders { edges { node { customer { notifications { totalCount } } } } } }", False),
        ("{ ...F } fragment F on Query { orders { totalCount } }", False),
        ("{ not valid", False),
    ],
)
def test_only_read_only_scoped_queries_are_cacheable(query: str, expected: bool) -> None:
    assert cacheable(query, None) is expected

"""DataLoaders batch (one `$in` query, keys in order) and the dashboard query costs a
constant number of MongoDB commands whatever the page size."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from alawael.auth.permissions import Actor, Role
from alawael.config import Settings
from alawael.context import Resources
from alawael.infra.cache import MemoryCache
from alawael.infra.db import Document, make_client
from alawael.infra.events import MemoryEventHub
from alawael.loaders.notifications import NotificationByIdLoader
from alawael.loaders.orders import OrderByIdLoader
from alawael.loaders.products import ProductByIdLoader
from tests.support.graphql import execute

DASHBOARD = """
query($first: Int!) {
  orders(first: $first) {
    edges {
      node {
        number status total
        customer { name email }
        items { quantity product { sku name price } }
      }
    }
  }
}
"""


class SpyMixin:
    batches: list[list[Any]]

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[Any]:
        self.batches.append(list(keys))
        result: list[Any] = await super().batch_load_fn(keys)  # type: ignore[misc]
        return result


class SpyProducts(SpyMixin, ProductByIdLoader):
    pass


class SpyOrders(SpyMixin, OrderByIdLoader):
    pass


class SpyNotifications(SpyMixin, NotificationByIdLoader):
    pass


def product_doc(i: int) -> Document:
    now = datetime.now(UTC)
    return {
        "_id": ObjectId(),
        "sku": f"SKU-{i}",
        "name": f"Product {i}",
        "description": "",
        "category": "c",
        "priceCents": 100 + i,
        "currency": "SAR",
        "stock": 10,
        "archived": False,
        "lowStockThreshold": 10,
        "createdAt": now,
        "updatedAt": now,
    }


def order_doc(i: int, user_id: ObjectId, products: Sequence[Document]) -> Document:
    at = datetime.now(UTC) - timedelta(minutes=i)
    items = [
        {
            "productId": p["_id"],
            "sku": p["sku"],
            "name": p["name"],
            "unitPriceCents": p["priceCents"],
            "quantity": 1,
            "lineTotalCents": p["priceCents"],
        }
        for p in products
    ]
    total = sum(item["lineTotalCents"] for item in items)
    return {
        "_id": ObjectId(),
        "number": f"ORD-{i:06d}",
        "userId": user_id,
        "items": items,
        "subtotalCents": total,
        "totalCents": total,
        "currency": "SAR",
        "status": "PENDING",
        "statusHistory": [{"status": "PENDING", "at": at, "byUserId": user_id, "note": None}],
        "createdAt": at,
        "updatedAt": at,
    }


async def test_product_loader_batches_keys_in_order(resources: Resources) -> None:
    docs = [product_doc(i) for i in range(3)]
    await resources.db.products.insert_many(docs)
    loader = SpyProducts(resources.db)
    loader.batches = []
    missing = ObjectId()
    keys = [docs[2]["_id"], missing, docs[0]["_id"], docs[1]["_id"]]
    results = await asyncio.gather(*(loader.load(k) for k in keys))
    assert loader.batches == [keys]
    assert [r.sku if r else None for r in results] == ["SKU-2", None, "SKU-0", "SKU-1"]


async def test_order_loaders_batch(resources: Resources) -> None:
    users = [ObjectId() for _ in range(3)]
    products = [product_doc(0)]
    orders = [order_doc(i, users[i % 2], products) for i in range(4)]
    await resources.db.orders.insert_many(orders)

    by_id = SpyOrders(resources.db)
    by_id.batches = []
    loaded = await by_id.load_many([o["_id"] for o in reversed(orders)])
    assert by_id.batches == [[o["_id"] for o in reversed(orders)]]
    # Typed records, in key order, their lines and history converted too.
    assert [o.number for o in loaded] == [o["number"] for o in reversed(orders)]
    assert [o.user_id for o in loaded] == [o["userId"] for o in reversed(orders)]
    assert loaded[0].items[0].sku == "SKU-0"
    assert loaded[0].status_history[0].by_user_id == orders[-1]["userId"]


async def test_notifications_loader_batches(resources: Resources) -> None:
    users = [ObjectId() for _ in range(2)]
    now = datetime.now(UTC)
    ids = [ObjectId() for _ in range(4)]
    await resources.db.notifications.insert_many(
        [
            {
                "_id": ids[i],
                "userId": users[i % 2],
                "type": "ORDER_PLACED",
                "title": f"n{i}",
                "body": "",
                "data": {},
                "read": False,
                "createdAt": now + timedelta(seconds=i),
            }
            for i in range(4)
        ]
    )
    loader = SpyNotifications(resources.db)
    loader.batches = []
    missing = ObjectId()
    keys = [ids[3], missing, ids[0]]
    loaded = await asyncio.gather(*(loader.load(k) for k in keys))
    assert loader.batches == [keys]
    assert [n.title if n else None for n in loaded] == ["n3", None, "n0"]
    assert loaded[0] is not None
    assert loaded[0].user_id == users[1]


class CommandCounter(CommandListener):
    def __init__(self) -> None:
        self.commands: list[str] = []

    def started(self, event: CommandStartedEvent) -> None:
        self.commands.append(event.command_name)

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def counted(
    settings: Settings, resources: Resources
) -> AsyncIterator[tuple[Resources, CommandCounter]]:
    """A second client on the same database whose commands are counted."""
    counter = CommandCounter()
    assert settings.mongodb_uri is not None
    client = make_client(settings.mongodb_uri, listeners=[counter])
    res = Resources(
        settings=settings,
        client=client,
        db=client[settings.mongodb_db],
        cache=MemoryCache(),
        events=MemoryEventHub(),
    )
    await res.db.command("ping")  # connect (and handshake) before counting
    yield res, counter
    await client.close()


async def test_dashboard_costs_the_same_for_5_and_50_orders(
    resources: Resources, counted: tuple[Resources, CommandCounter]
) -> None:
    res, counter = counted
    products = [product_doc(i) for i in range(20)]
    await resources.db.products.insert_many(products)
    now = datetime.now(UTC)
    users: list[Document] = [
        {
            "_id": ObjectId(),
            "email": f"u{i}@example.com",
            "name": f"User {i}",
            "role": "CUSTOMER",
            "active": True,
            "createdAt": now,
            "updatedAt": now,
        }
        for i in range(25)
    ]
    await resources.db.users.insert_many(users)
    orders = [order_doc(i, users[i % 25]["_id"], products[i % 17 : i % 17 + 3]) for i in range(60)]
    await resources.db.orders.insert_many(orders)
    staff = Actor(user_id=str(ObjectId()), role=Role.STAFF)

    costs = {}
    for first in (5, 50):
        counter.commands.clear()
        result = await execute(res, DASHBOARD, {"first": first}, user=staff)
        assert result.errors is None, result.errors
        edges = result.data["orders"]["edges"]
        assert len(edges) == first
        assert all(e["node"]["customer"]["email"] for e in edges)
        assert all(i["product"]["sku"] for e in edges for i in e["node"]["items"])
        costs[first] = list(counter.commands)
    # One find for the page, one `$in` for the customers, one `$in` for the products.
    assert costs[5] == costs[50] == ["find", "find", "find"]

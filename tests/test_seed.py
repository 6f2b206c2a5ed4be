"""`alawael seed`: every domain filled, consistent, deterministic, never seeded twice."""

from __future__ import annotations

import io
import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher

from alawael.auth.permissions import Role
from alawael.config import Settings
from alawael.context import Resources
from alawael.devtools.seed import (
    ADMIN_EMAIL,
    DEMO_CUSTOMER_EMAIL,
    DEMO_PASSWORD,
    SeedRefused,
    seed_database,
)
from alawael.infra.indexes import INDEXES
from alawael.services.orders import TRANSITIONS
from tests.conftest import make_settings
from tests.support.graphql import execute, make_user

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
# The orders service's own state machine: seeded histories must be ones it could produce.
ALLOWED = {(a.value, b.value) for a, targets in TRANSITIONS.items() for b in targets}
ARABIC = re.compile(r"[\u0600-\u06FF]")

SALES = """
query Sales($from: DateTime!, $to: DateTime!) {
  salesSummary(from: $from, to: $to, granularity: WEEK) { revenue orderCount series { orderCount } }
}
"""


@pytest.fixture
def settings(mongo_uri: str) -> Settings:
    # A cheap argon2 cost: the seed hashes once, but at the default cost that once is the
    # slowest part of a small seed. The verify below reads the cost from the hash itself.
    return make_settings(
        mongo_uri,
        password_hash_time_cost=1,
        password_hash_memory_cost=1024,
        password_hash_parallelism=1,
    )


async def small_seed(res: Resources, seed: int = 42, **kw: Any) -> Any:
    return await seed_database(
        res,
        seed=seed,
        products=20,
        orders=50,
        progress=False,
        now=kw.pop("now", NOW),
        echo=False,
        **kw,
    )


async def snapshot(res: Resources) -> dict[str, Any]:
    orders = await res.db.orders.find({}).sort("number", 1).to_list(None)
    products = await res.db.products.find({}).sort("sku", 1).to_list(None)
    users = await res.db.users.find({}).sort("email", 1).to_list(None)
    return {
        "skus": [(p["sku"], p["name"], p["priceCents"], p["stock"]) for p in products],
        "orders": [
            (o["number"], o["totalCents"], o["status"], [i["sku"] for i in o["items"]])
            for o in orders
        ],
        "emails": [(u["email"], u["name"], u["role"]) for u in users],
    }


async def test_small_seed_fills_every_domain(resources: Resources) -> None:
    summary = await small_seed(resources)
    db = resources.db

    users = await db.users.find({}).to_list(None)
    roles = {role: [u for u in users if u["role"] == role.value] for role in Role}
    assert {role: len(found) for role, found in roles.items()} == {
        Role.ADMIN: 1,
        Role.MANAGER: 2,
        Role.STAFF: 4,
        Role.CUSTOMER: 60,
    }
    assert roles[Role.ADMIN][0]["email"] == ADMIN_EMAIL
    assert any(u["email"] == DEMO_CUSTOMER_EMAIL for u in roles[Role.CUSTOMER])
    assert len({u["email"] for u in users}) == len(users)
    assert sum(bool(ARABIC.search(u["name"])) for u in roles[Role.CUSTOMER]) >= 10
    # One hash for everybody, and it is the documented demo password.
    assert len({u["passwordHash"] for u in users}) == 1
    assert PasswordHasher().verify(users[0]["passwordHash"], DEMO_PASSWORD)

    products = {p["_id"]: p for p in await db.products.find({}).to_list(None)}
    assert len(products) == 20
    assert len({p["category"] for p in products.values()}) == 10
    assert all(re.fullmatch(r"[A-Z]{3}-\d{4}", p["sku"]) for p in products.values())
    assert all(p["currency"] == "SAR" and p["priceCents"] > 0 for p in products.values())
    assert any(p["archived"] for p in products.values())
    low = [
        p for p in products.values() if not p["archived"] and p["stock"] < p["lowStockThreshold"]
    ]
    assert low
    assert any(ARABIC.search(p["name"]) for p in products.values())
    assert any(not ARABIC.search(p["name"]) for p in products.values())

    orders = await db.orders.find({}).sort("number", 1).to_list(None)
    assert [o["number"] for o in orders] == [f"ORD-{n:06d}" for n in range(1, 51)]
    assert await db.counters.find_one({"_id": "orders"}) == {"_id": "orders", "seq": 50}
    customer_ids = {u["_id"] for u in roles[Role.CUSTOMER]}
    handler_ids = customer_ids | {u["_id"] for r in (Role.STAFF, Role.MANAGER) for u in roles[r]}
    statuses = set()
    for previous, order in itertools.pairwise(orders):
        assert previous["createdAt"] <= order["createdAt"]  # numbers follow time
    for order in orders:
        assert order["userId"] in customer_ids
        assert NOW - timedelta(days=90) <= order["createdAt"] <= NOW
        assert 1 <= len(order["items"]) <= 5
        for item in order["items"]:
            product = products[item["productId"]]
            assert not product["archived"]
            assert (item["sku"], item["unitPriceCents"]) == (product["sku"], product["priceCents"])
            assert item["lineTotalCents"] == item["unitPriceCents"] * item["quantity"]
        assert order["subtotalCents"] == sum(i["lineTotalCents"] for i in order["items"])
        assert order["totalCents"] == order["subtotalCents"]
        history = order["statusHistory"]
        assert history[0]["status"] == "PENDING"
        assert history[0]["at"] == order["createdAt"]
        assert history[0]["byUserId"] == order["userId"]
        for before, after in itertools.pairwise(history):
            assert (before["status"], after["status"]) in ALLOWED
            assert before["at"] <= after["at"] <= NOW
            assert after["byUserId"] in handler_ids
        assert order["status"] == history[-1]["status"]
        assert order["updatedAt"] == history[-1]["at"]
        statuses.add(order["status"])
    assert {"DELIVERED", "CANCELLED"} <= statuses

    kinds = {
        kind: await db.notifications.count_documents({"type": kind})
        for kind in ("ORDER_PLACED", "ORDER_STATUS", "LOW_STOCK", "DAILY_SUMMARY")
    }
    assert kinds["ORDER_PLACED"] == 50
    assert kinds["ORDER_STATUS"] > 0
    assert kinds["LOW_STOCK"] == len(low) * 3  # two managers and the admin
    assert kinds["DAILY_SUMMARY"] == 7 * 3
    assert await db.feature_flags.count_documents({}) == 8
    analytics = await db.analytics.find({}).to_list(None)
    assert len(analytics) == 200
    assert all(NOW - timedelta(days=7) <= a["timestamp"] <= NOW for a in analytics)
    assert await db.audit_trail.count_documents({"action": "createProduct"}) == 20
    assert await db.audit_trail.count_documents({"action": "setFeatureFlag"}) == 8
    assert summary.counts["orders"] == 50

    # The indexes dropped for the bulk load are back, TTL options included.
    for name, models in INDEXES.items():
        found = {i["name"]: i async for i in await db[name].list_indexes()}
        for model in models:
            spec = model.document
            assert spec["name"] in found, (name, spec["name"])
            expire = spec.get("expireAfterSeconds")
            assert found[spec["name"]].get("expireAfterSeconds") == expire

    # The analytics queries agree with the seeded documents.
    manager = await make_user(resources, Role.MANAGER)
    result = await execute(
        resources,
        SALES,
        {"from": (NOW - timedelta(days=91)).isoformat(), "to": NOW.isoformat()},
        user=manager,
    )
    assert result.errors is None, result.errors
    paid = [o for o in orders if o["status"] != "CANCELLED"]
    sales = result.data["salesSummary"]
    assert sales["orderCount"] == len(paid)
    assert sales["revenue"] == f"{sum(o['totalCents'] for o in paid) / 100:.2f}"
    assert sum(p["orderCount"] for p in sales["series"]) == len(paid)


async def test_seed_is_deterministic_and_refuses_to_double_seed(resources: Resources) -> None:
    await small_seed(resources, seed=7)
    first = await snapshot(resources)
    ids = sorted([str(doc["_id"]) async for doc in resources.db.orders.find({}, {"_id": 1})])

    with pytest.raises(SeedRefused) as refused:
        await small_seed(resources, seed=7)
    assert "--reset" in refused.value.message
    assert refused.value.code == "CONFLICT"
    assert await resources.db.orders.count_documents({}) == 50

    await small_seed(resources, seed=7, reset=True)
    assert await snapshot(resources) == first
    assert (
        sorted([str(doc["_id"]) async for doc in resources.db.orders.find({}, {"_id": 1})]) == ids
    )  # same seed and same clock: the very same documents

    # Another day: the same catalogue, customers, numbers and totals.
    await small_seed(resources, seed=7, reset=True, now=NOW + timedelta(days=3))
    later = await snapshot(resources)
    assert later["skus"] == first["skus"]
    assert later["emails"] == first["emails"]
    assert [o[:2] for o in later["orders"]] == [o[:2] for o in first["orders"]]

    await small_seed(resources, seed=8, reset=True)
    other = await snapshot(resources)
    assert [o[1] for o in other["orders"]] != [o[1] for o in first["orders"]]


async def test_summary_lists_counts_and_logins(resources: Resources) -> None:
    out = io.StringIO()
    await seed_database(resources, seed=1, products=10, orders=0, progress=False, now=NOW, out=out)
    text = out.getvalue()
    assert "Seeded the demo data set (seed 1)" in text
    assert re.search(r"products\s+10\b", text)
    assert re.search(r"orders\s+0\b", text)
    assert ADMIN_EMAIL in text
    assert DEMO_PASSWORD in text
    assert await resources.db.counters.find_one({"_id": "orders"}) == {"_id": "orders", "seq": 0}

"""salesSummary and apiUsage, checked against hand-computed values on small fixtures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

from alawael.auth.permissions import Actor, Role
from alawael.context import Resources
from alawael.schema.node import to_global_id
from alawael.server import create_app
from tests.conftest import make_settings
from tests.support.graphql import execute, make_user

SALES = """
query Sales($from: DateTime!, $to: DateTime!, $granularity: Granularity!) {
  salesSummary(from: $from, to: $to, granularity: $granularity) {
    from to granularity revenue orderCount averageOrderValue
    ordersByStatus { status count }
    topProducts { productId sku name quantity revenue product { sku price } }
    series { periodStart revenue orderCount }
  }
}
"""

USAGE = """
query Usage($from: DateTime!, $to: DateTime!) {
  apiUsage(from: $from, to: $to) {
    totals { endpoint calls errors errorRate avgDurationMs p95DurationMs }
    endpoints { endpoint calls errors errorRate avgDurationMs p95DurationMs }
  }
}
"""

A, B, C = ObjectId(), ObjectId(), ObjectId()
PRICES = {
    A: ("SKU-A", "Arabic coffee", 1000),
    B: ("SKU-B", "تمر خلاص", 550),
    C: ("SKU-C", "Oud", 333),
}


def at(day: int, hour: int = 12, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def order(
    created: datetime,
    status: str,
    lines: list[tuple[ObjectId, int]],
    prices: dict[ObjectId, tuple[str, str, int]] = PRICES,
) -> dict[str, Any]:
    items = []
    for pid, qty in lines:
        sku, name, price = prices[pid]
        items.append(
            {
                "productId": pid,
                "sku": sku,
                "name": name,
                "unitPriceCents": price,
                "quantity": qty,
                "lineTotalCents": price * qty,
            }
        )
    total = sum(item["lineTotalCents"] for item in items)
    return {
        "number": f"ORD-{ObjectId()}",
        "userId": ObjectId(),
        "items": items,
        "subtotalCents": total,
        "totalCents": total,
        "currency": "SAR",
        "status": status,
        "statusHistory": [{"status": status, "at": created, "byUserId": None}],
        "createdAt": created,
        "updatedAt": created,
    }


FIXTURE = [
    order(at(1, 10), "DELIVERED", [(A, 2), (B, 1)]),  # 2550
    order(at(1, 23, 59), "PENDING", [(A, 1)]),  # 1000
    order(at(3), "CANCELLED", [(B, 10)]),  # 5500, never revenue
    order(at(5, 8), "SHIPPED", [(C, 3)]),  # 999
    # Before `from`; its total differs from its line sum on purpose: revenue is order totals.
    order(datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC), "DELIVERED", [(C, 1)])
    | {"totalCents": 7777},
    order(at(8, 0), "CONFIRMED", [(A, 8), (B, 2)]),  # exactly `to`: excluded (9100)
]


async def sales(
    res: Resources, user: Actor | None, start: datetime, end: datetime, granularity: str
) -> Any:
    variables = {"from": start.isoformat(), "to": end.isoformat(), "granularity": granularity}
    return await execute(res, SALES, variables, user=user)


def series(data: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [
        (datetime.fromisoformat(p["periodStart"]).date().isoformat(), p["revenue"], p["orderCount"])
        for p in data["series"]
    ]


async def test_sales_summary_by_day(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    await resources.db.orders.insert_many([dict(doc) for doc in FIXTURE])
    # Product A still exists (renamed, repriced); B and C were deleted since.
    now = datetime.now(UTC)
    await resources.db.products.insert_one(
        {
            "_id": A,
            "sku": "SKU-A",
            "name": "Arabic coffee 2",
            "description": "",
            "category": "Coffee",
            "priceCents": 1250,
            "currency": "SAR",
            "stock": 5,
            "archived": False,
            "lowStockThreshold": 10,
            "createdAt": now,
            "updatedAt": now,
        }
    )
    result = await sales(resources, manager, at(1, 0), at(8, 0), "DAY")
    assert result.errors is None, result.errors
    data = result.data["salesSummary"]
    assert data["granularity"] == "DAY"
    assert datetime.fromisoformat(data["from"]) == at(1, 0)
    assert data["revenue"] == "45.49"  # 2550 + 1000 + 999; the cancelled 5500 is left out
    assert data["orderCount"] == 3
    assert data["averageOrderValue"] == "15.16"  # 4549 / 3 = 1516.33 cents
    assert data["ordersByStatus"] == [
        {"status": "CANCELLED", "count": 1},
        {"status": "DELIVERED", "count": 1},
        {"status": "PENDING", "count": 1},
        {"status": "SHIPPED", "count": 1},
    ]
    assert data["topProducts"] == [
        {
            "productId": to_global_id("Product", A),
            "sku": "SKU-A",
            "name": "Arabic coffee",
            "quantity": 3,
            "revenue": "30.00",
            "product": {"sku": "SKU-A", "price": "12.50"},
        },
        {
            "productId": to_global_id("Product", C),
            "sku": "SKU-C",
            "name": "Oud",
            "quantity": 3,
            "revenue": "9.99",
            "product": None,
        },
        {
            "productId": to_global_id("Product", B),
            "sku": "SKU-B",
            "name": "تمر خلاص",
            "quantity": 1,
            "revenue": "5.50",
            "product": None,
        },
    ]
    assert series(data) == [
        ("2026-03-01", "35.50", 2),
        ("2026-03-02", "0.00", 0),
        ("2026-03-03", "0.00", 0),  # only a cancelled order that day
        ("2026-03-04", "0.00", 0),
        ("2026-03-05", "9.99", 1),
        ("2026-03-06", "0.00", 0),
        ("2026-03-07", "0.00", 0),
    ]


async def test_sales_summary_by_week_starts_on_monday(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    await resources.db.orders.insert_many([dict(doc) for doc in FIXTURE])
    # 2026-03-01 is a Sunday: it belongs to the ISO week starting Monday 2026-02-23.
    result = await sales(resources, manager, at(1, 0), at(8, 0), "WEEK")
    data = result.data["salesSummary"]
    assert series(data) == [("2026-02-23", "35.50", 2), ("2026-03-02", "9.99", 1)]
    assert data["revenue"] == "45.49"


async def test_sales_summary_by_month_fills_empty_months(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    await resources.db.orders.insert_many([dict(doc) for doc in FIXTURE])
    start = datetime(2026, 1, 15, tzinfo=UTC)
    end = datetime(2026, 4, 10, tzinfo=UTC)
    data = (await sales(resources, manager, start, end, "MONTH")).data["salesSummary"]
    assert series(data) == [
        ("2026-01-01", "0.00", 0),
        ("2026-02-01", "77.77", 1),
        ("2026-03-01", "136.49", 4),  # 2550 + 1000 + 999 + 9100
        ("2026-04-01", "0.00", 0),
    ]
    assert data["orderCount"] == 5
    assert data["revenue"] == "214.26"
    assert {row["status"]: row["count"] for row in data["ordersByStatus"]}["CANCELLED"] == 1


async def test_sales_summary_of_an_empty_range(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    data = (await sales(resources, manager, at(1, 0), at(3, 0), "DAY")).data["salesSummary"]
    assert data["revenue"] == "0.00"
    assert data["averageOrderValue"] == "0.00"
    assert data["orderCount"] == 0
    assert data["ordersByStatus"] == []
    assert data["topProducts"] == []
    assert series(data) == [("2026-03-01", "0.00", 0), ("2026-03-02", "0.00", 0)]


async def test_top_products_keeps_ten_by_revenue(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    prices = {
        ObjectId(): (f"P{rank:02d}", f"Product {rank}", 100 * (rank + 1)) for rank in range(12)
    }
    docs = [order(at(2), "DELIVERED", [(pid, 1)], prices) for pid in prices]
    await resources.db.orders.insert_many(docs)
    data = (await sales(resources, manager, at(1, 0), at(3, 0), "DAY")).data["salesSummary"]
    assert [p["sku"] for p in data["topProducts"]] == [f"P{r:02d}" for r in range(11, 1, -1)]


async def test_sales_summary_validation_and_permissions(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    for start, end, field in (
        (at(5), at(5), "from"),
        (at(5), at(1), "from"),
        (at(1), at(1) + timedelta(days=732), "to"),
    ):
        result = await sales(resources, manager, start, end, "DAY")
        assert result.errors[0].extensions == {"code": "BAD_USER_INPUT", "field": field}
    for role in (Role.CUSTOMER, Role.STAFF):
        user = await make_user(resources, role)
        result = await sales(resources, user, at(1), at(2), "DAY")
        assert result.errors[0].extensions["code"] == "FORBIDDEN"
        usage = await execute(
            resources,
            USAGE,
            {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"},
            user=user,
        )
        assert usage.errors[0].extensions["code"] == "FORBIDDEN"
    result = await sales(resources, None, at(1), at(2), "DAY")
    assert result.errors[0].extensions["code"] == "UNAUTHENTICATED"


async def test_sales_summary_is_cached_until_orders_change(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    await resources.db.orders.insert_many([dict(doc) for doc in FIXTURE])
    first = (await sales(resources, manager, at(1, 0), at(8, 0), "DAY")).data["salesSummary"]
    await resources.db.orders.insert_one(order(at(2), "PENDING", [(A, 1)]))
    cached = (await sales(resources, manager, at(1, 0), at(8, 0), "DAY")).data["salesSummary"]
    assert cached == first
    await resources.cache.bump("orders")  # what the orders service does on every write
    fresh = (await sales(resources, manager, at(1, 0), at(8, 0), "DAY")).data["salesSummary"]
    assert fresh["revenue"] == "55.49"
    assert fresh["orderCount"] == 4


def usage_record(
    endpoint: str, duration: float, status: int = 200, minute: int = 0
) -> dict[str, Any]:
    return {
        "apiEndpoint": endpoint,
        "method": "POST",
        "userId": None,
        "status": status,
        "durationMs": duration,
        "timestamp": at(1, 12, minute),
    }


async def test_api_usage(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    records = [
        usage_record("graphql:products", float(ms), status, minute=ms)
        for ms, status in zip(
            range(1, 21), [200] * 5 + [500] + [200] * 8 + [404] + [200] * 4 + [500], strict=True
        )
    ]
    records += [usage_record("GET /api/health", float(ms)) for ms in (5, 1, 3)]
    outside = usage_record("graphql:products", 9999.0, 500)
    outside["timestamp"] = at(2, 0)  # exactly `to`: excluded
    await resources.db.analytics.insert_many([*records, outside])

    result = await execute(
        resources, USAGE, {"from": at(1, 0).isoformat(), "to": at(2, 0).isoformat()}, user=manager
    )
    assert result.errors is None, result.errors
    usage = result.data["apiUsage"]
    assert usage["endpoints"] == [
        {
            "endpoint": "graphql:products",
            "calls": 20,
            "errors": 3,
            "errorRate": 0.15,
            "avgDurationMs": 10.5,
            "p95DurationMs": 19.0,
        },  # rank ceil(0.95 * 20) = 19
        {
            "endpoint": "GET /api/health",
            "calls": 3,
            "errors": 0,
            "errorRate": 0.0,
            "avgDurationMs": 3.0,
            "p95DurationMs": 5.0,
        },  # rank ceil(2.85) = 3 of [1, 3, 5]
    ]
    totals = usage["totals"]
    assert (totals["endpoint"], totals["calls"], totals["errors"]) == ("*", 23, 3)
    assert abs(totals["errorRate"] - 3 / 23) < 1e-9
    assert abs(totals["avgDurationMs"] - 219 / 23) < 1e-9
    assert totals["p95DurationMs"] == 19.0  # rank 22 of the 23 sorted durations

    empty = await execute(
        resources, USAGE, {"from": at(5, 0).isoformat(), "to": at(6, 0).isoformat()}, user=manager
    )
    assert empty.data["apiUsage"] == {
        "totals": {
            "endpoint": "*",
            "calls": 0,
            "errors": 0,
            "errorRate": 0.0,
            "avgDurationMs": 0.0,
            "p95DurationMs": 0.0,
        },
        "endpoints": [],
    }


async def test_reports_round_trip_through_the_redis_cache(mongo_uri: str, redis_url: str) -> None:
    """With Redis, cached reports come back from BSON: datetimes, ObjectIds and money
    must survive the trip unchanged."""
    settings = make_settings(mongo_uri, redis_url=redis_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        res: Resources = app.state.resources
        try:
            manager = await make_user(res, Role.MANAGER)
            await res.db.orders.insert_many([dict(doc) for doc in FIXTURE])
            await res.db.analytics.insert_many(
                [usage_record("graphql:me", float(ms)) for ms in range(1, 11)]
            )
            for _ in range(2):  # a miss that fills Redis, then a hit read back from it
                data = (await sales(res, manager, at(1, 0), at(8, 0), "WEEK")).data
                assert data["salesSummary"]["revenue"] == "45.49"
                assert series(data["salesSummary"]) == [
                    ("2026-02-23", "35.50", 2),
                    ("2026-03-02", "9.99", 1),
                ]
                assert data["salesSummary"]["topProducts"][0]["productId"] == to_global_id(
                    "Product", A
                )
                usage = await execute(
                    res,
                    USAGE,
                    {"from": at(1, 0).isoformat(), "to": at(2, 0).isoformat()},
                    user=manager,
                )
                assert usage.data["apiUsage"]["totals"]["p95DurationMs"] == 10.0
            assert await res.redis.keys("cache:v:analytics:sales*")  # type: ignore[union-attr]
        finally:
            await res.client.drop_database(settings.mongodb_db)


async def test_top_products_show_the_newest_snapshot(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    older, newer = order(at(2, 9), "DELIVERED", [(A, 1)]), order(at(2, 18), "DELIVERED", [(A, 1)])
    newer["items"][0] |= {"sku": "SKU-A2", "name": "Arabic coffee (new pack)"}
    await resources.db.orders.insert_many([newer, older])  # insertion order must not matter
    data = (await sales(resources, manager, at(1, 0), at(3, 0), "DAY")).data["salesSummary"]
    top = data["topProducts"]
    assert [(p["sku"], p["name"], p["quantity"]) for p in top] == [
        ("SKU-A2", "Arabic coffee (new pack)", 2)
    ]

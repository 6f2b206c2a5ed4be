"""Issue 21: users and orders search through both doors, the one-off backfill of the search
keys, and a search over 10,000 products answered from the index."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from bson import ObjectId

from alawael.auth.permissions import Actor, Role
from alawael.context import Resources
from alawael.devtools.seed import seed_database
from alawael.infra.indexes import ensure_indexes
from alawael.services import orders, products, search
from alawael.services.pagination import PageArgs
from alawael.services.search_backfill import backfill_search_keys
from alawael.services.search_pages import rank_pipeline
from tests.support.graphql import execute, make_user
from tests.support.rest import bearer

USERS = """
query($filter: UserFilter) { users(filter: $filter, sort: NAME) { edges { node { email } } } }
"""
ORDERS = """
query($filter: OrderFilter) {
  orders(filter: $filter, sort: {field: NUMBER, direction: ASC}) {
    totalCount
    edges { node { number } }
  }
}
"""
MANAGER = Actor(user_id="0" * 24, role=Role.MANAGER)


async def user_emails(
    res: Resources, client: httpx.AsyncClient, actor: Actor, term: str
) -> list[str]:
    result = await execute(res, USERS, {"filter": {"search": term}}, user=actor)
    assert result.errors is None, result.errors
    via_graphql = [edge["node"]["email"] for edge in result.data["users"]["edges"]]
    response = await client.get(
        "/api/users", params={"search": term}, headers=await bearer(res, actor)
    )
    assert response.status_code == 200, response.text
    assert sorted(u["email"] for u in response.json()["data"]) == sorted(via_graphql), term
    return via_graphql


async def test_users_by_name_and_email_as_typed(
    resources: Resources, client: httpx.AsyncClient
) -> None:
    admin = await make_user(resources, Role.ADMIN, name="Admin", email="root@corp.example")
    await make_user(resources, email="layla@mail.example", name="ليلى العتيبي")
    await make_user(resources, email="ahmad@mail.example", name="أحمد الغامدي")
    await make_user(resources, email="fatima@mail.example", name="فاطمة القحطاني")
    await make_user(resources, email="rene@mail.example", name="René Müller")
    assert await user_emails(resources, client, admin, "ليلي") == ["layla@mail.example"]
    assert await user_emails(resources, client, admin, "احمد") == ["ahmad@mail.example"]
    assert await user_emails(resources, client, admin, "فاطمه") == ["fatima@mail.example"]
    assert await user_emails(resources, client, admin, "rene muller") == ["rene@mail.example"]
    assert await user_emails(resources, client, admin, "FATIMA@") == ["fatima@mail.example"]
    # Without the article ال, and inside a word.
    assert await user_emails(resources, client, admin, "غامدي") == ["ahmad@mail.example"]
    assert await user_emails(resources, client, admin, "عتيب") == ["layla@mail.example"]
    assert await user_emails(resources, client, admin, "حطاني") == ["fatima@mail.example"]


async def order_numbers(
    res: Resources, client: httpx.AsyncClient, actor: Actor, term: str
) -> list[str]:
    result = await execute(res, ORDERS, {"filter": {"search": term}}, user=actor)
    assert result.errors is None, result.errors
    via_graphql = [edge["node"]["number"] for edge in result.data["orders"]["edges"]]
    response = await client.get(
        "/api/orders", params={"search": term}, headers=await bearer(res, actor)
    )
    assert response.status_code == 200, response.text
    assert sorted(o["number"] for o in response.json()["data"]) == via_graphql, term
    return via_graphql


async def test_orders_by_number_and_customer_name(
    resources: Resources, client: httpx.AsyncClient
) -> None:
    data = products.ProductData(sku="P-1", name="قهوة", price_cents=100, stock=50)
    product = await products.create_product(resources, MANAGER, data)
    line = [orders.OrderLine(product.id, 1)]
    noura = await make_user(resources, name="نورة الشمري")
    omar = await make_user(resources, name="عمر الحربي")
    placed = {
        "noura": [(await orders.place_order(resources, noura, line)).number for _ in range(2)],
        "omar": [(await orders.place_order(resources, omar, line)).number],
    }
    staff = await make_user(resources, Role.STAFF)
    assert await order_numbers(resources, client, staff, "نوره") == placed["noura"]
    assert await order_numbers(resources, client, staff, "الحربى") == placed["omar"]
    number = placed["omar"][0]
    assert await order_numbers(resources, client, staff, number) == [number]
    # The order number's digits typed in Arabic-Indic digits.
    arabic_digits = number.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert await order_numbers(resources, client, staff, arabic_digits) == [number]
    # A customer searches only their own orders.
    assert await order_numbers(resources, client, omar, "نوره") == []


async def test_a_rename_keeps_the_user_and_their_orders_findable(
    resources: Resources, client: httpx.AsyncClient
) -> None:
    """updateMe changes a name: the user's keys and those of their orders follow, in the
    rename's transaction (orders are searched by their customer's name)."""
    data = products.ProductData(sku="R-1", name="شاي", price_cents=100, stock=50)
    product = await products.create_product(resources, MANAGER, data)
    hind = await make_user(resources, name="هند السبيعي", email="hind@mail.example")
    number = (await orders.place_order(resources, hind, [orders.OrderLine(product.id, 1)])).number
    admin = await make_user(resources, Role.ADMIN)
    renamed = await client.patch(
        "/api/users/me", json={"name": "هند الدوسري"}, headers=await bearer(resources, hind)
    )
    assert renamed.status_code == 200, renamed.text
    assert await user_emails(resources, client, admin, "الدوسرى") == ["hind@mail.example"]
    assert await user_emails(resources, client, admin, "سبيعي") == []
    assert await order_numbers(resources, client, admin, "دوسري") == [number]
    assert await order_numbers(resources, client, admin, "سبيعي") == []


async def test_backfill_fills_keys_of_documents_written_without_them(
    resources: Resources, client: httpx.AsyncClient
) -> None:
    db = resources.db
    now = datetime.now(UTC)
    user_id = ObjectId()
    await db.users.insert_one(
        {"_id": user_id, "email": "old@mail.example", "name": "سلمى", "role": "CUSTOMER"}
        | {"active": True, "createdAt": now, "updatedAt": now}
    )
    await db.products.insert_one(
        {"_id": ObjectId(), "sku": "OLD-1", "name": "مبخرة أنيقة", "description": ""}
        | {"category": "", "priceCents": 100, "currency": "SAR", "stock": 1, "archived": False}
        | {"lowStockThreshold": 1, "createdAt": now, "updatedAt": now}
    )
    await db.orders.insert_one(
        {
            "_id": ObjectId(),
            "number": "AW-OLD-1",
            "userId": user_id,
            "items": [],
            "status": "PENDING",
        }
        | {"totalCents": 0, "subtotalCents": 0, "currency": "SAR", "createdAt": now}
        | {"updatedAt": now, "statusHistory": [], "note": None}
    )
    found = await client.get("/api/products", params={"q": "مبخره"})
    assert found.json()["data"] == []  # no keys yet
    # A start whose index set changed (the marker is stale) runs the backfill once.
    await db.meta.delete_one({"_id": "indexes"})
    await ensure_indexes(db, then=backfill_search_keys)
    # Only what lacked keys was written; a second run (another worker) writes nothing.
    assert await backfill_search_keys(db) == {"products": 0, "users": 0, "orders": 0}
    product = await db.products.find_one({"sku": "OLD-1"})
    assert product is not None
    assert "انيقه" in product[search.WORDS]
    await resources.cache.bump("products", "users", "orders")
    found = await client.get("/api/products", params={"q": "مبخره"})
    assert [p["sku"] for p in found.json()["data"]] == ["OLD-1"]
    admin = await make_user(resources, Role.ADMIN)
    assert await order_numbers(resources, client, admin, "سلمي") == ["AW-OLD-1"]
    assert await user_emails(resources, client, admin, "سلمي") == ["old@mail.example"]


async def test_search_over_10000_products_answers_from_the_index(resources: Resources) -> None:
    now = datetime.now(UTC)
    docs: list[dict[str, Any]] = [
        {"_id": ObjectId(), "sku": f"BULK-{i}", "name": f"منتج رقم {i}", "description": ""}
        | {"category": "عام", "priceCents": 100, "stock": 1, "archived": False}
        | {"createdAt": now, "updatedAt": now}
        for i in range(10_000)
    ]
    for i in range(0, 10_000, 1000):
        docs[i]["name"] = f"ساعة ذكية {i}"  # 10 word-start matches
        docs[i + 1]["name"] = f"منبه بساعة {i}"  # 10 more: "بساعة" holds "ساعة" inside
    await resources.db.products.insert_many(search.with_keys("products", docs, []))
    terms = search.search_terms("ساعه")
    assert terms is not None
    for rank in search.RANKS:
        pipeline = rank_pipeline(
            rank,
            terms,
            {"archived": False},
            sort_field="createdAt",
            direction=-1,
            walk=-1,
            limit=21,
        )
        explained = await resources.db.command(
            "explain", {"aggregate": "products", "pipeline": pipeline, "cursor": {}}
        )
        plan = explained["queryPlanner"]["winningPlan"]
        assert plan["inputStage"]["stage"] == "IXSCAN", plan
        stats = explained["executionStats"]
        # Only the documents holding a key in the term's range are read, not 10,000.
        assert stats["totalDocsExamined"] <= 20, stats
    page = await products.list_products(
        resources, None, products.ProductFilter(search="ساعه"), args=PageArgs(first=50)
    )
    assert len(page.items) == 20
    # Word starts first: the ten "ساعة ذكية" products, then the ten "منبه بساعة".
    assert all("ذكية" in p.name for p in page.items[:10])
    assert all("بساعة" in p.name for p in page.items[10:])
    assert await page.count() == 20


async def test_the_demo_seed_shows_the_variants(resources: Resources) -> None:
    await seed_database(resources, products=216, orders=0, progress=False, echo=False)
    catalogue = await resources.db.products.find({"archived": False}).to_list(None)
    for typed, stored in (("ابيض", "أبيض"), ("اقلام", "أقلام"), ("ساعه", "ساعة"), ("حلوي", "حلوى")):
        expected = {p["sku"] for p in catalogue if stored in p["description"]}
        page = await products.list_products(
            resources, None, products.ProductFilter(search=typed), args=PageArgs(first=100)
        )
        assert expected, typed
        assert {p.sku for p in page.items} == expected, typed

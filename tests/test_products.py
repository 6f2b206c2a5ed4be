from __future__ import annotations

from typing import Any

import pytest

from alawael.auth.permissions import Actor, Role
from alawael.context import Resources
from alawael.records.products import ProductRecord
from alawael.schema.node import to_global_id
from alawael.services import audit as audit_service
from alawael.services import products
from tests.support.graphql import execute, make_user

CREATE = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    product { id sku name price currency stock archived category lowStockThreshold }
    errors { code field message }
  }
}
"""
UPDATE = """
mutation($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) {
    product { id sku name price }
    errors { code field }
  }
}
"""
ARCHIVE = """
mutation($id: ID!) { archiveProduct(id: $id) { product { archived } errors { code field } } }
"""
ADJUST = """
mutation($id: ID!, $delta: Int!, $reason: String!) {
  adjustStock(id: $id, delta: $delta, reason: $reason) {
    product { stock }
    errors { code field message }
  }
}
"""
PRODUCT = "query($id: ID!) { product(id: $id) { id sku name price stock archived } }"
BY_SKU = "query($sku: String!) { productBySku(sku: $sku) { id name } }"
PRODUCTS = """
query($filter: ProductFilter, $sort: ProductSort, $first: Int, $after: String) {
  products(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount
    edges { cursor node { sku name price stock } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
CATEGORIES = "{ categories { name productCount } }"
NOTIFICATIONS = "{ notifications { edges { node { type title } } } }"


async def add(
    res: Resources, manager: Actor, sku: str, price: int = 1000, **kw: Any
) -> dict[str, Any]:
    kw.setdefault("name", f"Product {sku}")
    data = products.ProductData(sku=sku, price_cents=price, **kw)
    return await products.create_product(res, manager, data)


def gid(product: ProductRecord) -> str:
    return to_global_id("Product", product.id)


async def test_create_product_and_read_it_back(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    variables = {
        "input": {
            "sku": "tea-01",
            "name": "شاي أخضر",  # Arabic names are fine
            "price": "12.50",
            "stock": 7,
            "category": "Drinks",
        }
    }
    result = await execute(resources, CREATE, variables, user=manager)
    assert result.errors is None
    payload = result.data["createProduct"]
    assert payload["errors"] == []
    product = payload["product"]
    assert product["sku"] == "TEA-01"
    assert product["price"] == "12.50"
    assert product["currency"] == "SAR"
    assert product["lowStockThreshold"] == 10
    doc = await resources.db.products.find_one({"sku": "TEA-01"})
    assert doc is not None
    assert doc["priceCents"] == 1250

    read = await execute(resources, PRODUCT, {"id": product["id"]})  # anonymous
    assert read.data["product"]["name"] == "شاي أخضر"
    by_sku = await execute(resources, BY_SKU, {"sku": "tea-01"})
    assert by_sku.data["productBySku"]["id"] == product["id"]
    audit = await resources.db.audit_trail.find_one({"action": "createProduct"})
    assert audit is not None
    assert audit["entityId"] == doc["_id"]


async def test_create_product_validation_and_duplicate_sku(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    base = {"sku": "A1", "name": "A", "price": "1.00"}
    cases = [
        ({**base, "sku": "  "}, "sku"),
        ({**base, "name": ""}, "name"),
        ({**base, "price": "-1"}, "price"),
        ({**base, "price": "100000000.00"}, "price"),
        ({**base, "stock": -1}, "stock"),
        ({**base, "currency": "riyal"}, "currency"),
    ]
    for data, field in cases:
        result = await execute(resources, CREATE, {"input": data}, user=manager)
        assert result.data["createProduct"]["errors"][0]["field"] == field, data
        assert result.data["createProduct"]["errors"][0]["code"] == "BAD_USER_INPUT"
    ok = await execute(resources, CREATE, {"input": base}, user=manager)
    assert ok.data["createProduct"]["errors"] == []
    dup = await execute(resources, CREATE, {"input": {**base, "sku": "a1"}}, user=manager)
    assert dup.data["createProduct"]["errors"][0] == {
        "code": "CONFLICT",
        "field": "sku",
        "message": "A product with sku A1 exists.",
    }


async def test_product_mutations_need_manage_products(resources: Resources) -> None:
    staff = await make_user(resources, Role.STAFF)
    data = {"input": {"sku": "X", "name": "X", "price": "1"}}
    result = await execute(resources, CREATE, data, user=staff)
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
    anonymous = await execute(resources, CREATE, data)
    assert anonymous.errors[0].extensions["code"] == "UNAUTHENTICATED"


async def test_update_product_and_sku_conflict(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    a = await add(resources, manager, "A")
    await add(resources, manager, "B")
    result = await execute(
        resources, UPDATE, {"id": gid(a), "input": {"name": "New", "price": "3.30"}}, user=manager
    )
    assert result.data["updateProduct"]["product"] == {
        "id": gid(a),
        "sku": "A",
        "name": "New",
        "price": "3.30",
    }
    conflict = await execute(resources, UPDATE, {"id": gid(a), "input": {"sku": "b"}}, user=manager)
    assert conflict.data["updateProduct"]["errors"] == [{"code": "CONFLICT", "field": "sku"}]
    missing = to_global_id("Product", "0" * 24)
    gone = await execute(resources, UPDATE, {"id": missing, "input": {"name": "x"}}, user=manager)
    assert gone.data["updateProduct"]["errors"] == [{"code": "NOT_FOUND", "field": "id"}]
    wrong_type = to_global_id("Order", a.id)
    bad = await execute(resources, UPDATE, {"id": wrong_type, "input": {}}, user=manager)
    assert bad.data["updateProduct"]["errors"] == [{"code": "BAD_USER_INPUT", "field": "id"}]


async def test_cached_reads_see_writes_immediately(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    a = await add(resources, manager, "A", price=500)
    first = await execute(resources, PRODUCT, {"id": gid(a)})
    assert first.data["product"]["price"] == "5.00"
    listed = await execute(resources, PRODUCTS, {})
    assert listed.data["products"]["edges"][0]["node"]["price"] == "5.00"
    await execute(resources, UPDATE, {"id": gid(a), "input": {"price": "6"}}, user=manager)
    again = await execute(resources, PRODUCT, {"id": gid(a)})
    assert again.data["product"]["price"] == "6.00"
    relisted = await execute(resources, PRODUCTS, {})
    assert relisted.data["products"]["edges"][0]["node"]["price"] == "6.00"


async def test_archived_products_are_hidden_from_shoppers(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    customer = await make_user(resources, Role.CUSTOMER)
    a = await add(resources, manager, "A", category="Tea")
    await add(resources, manager, "B", category="Tea")
    archived = await execute(resources, ARCHIVE, {"id": gid(a)}, user=manager)
    assert archived.data["archiveProduct"]["product"] == {"archived": True}

    for user in (None, customer):
        assert (await execute(resources, PRODUCT, {"id": gid(a)}, user=user)).data == {
            "product": None
        }
        listed = await execute(resources, PRODUCTS, {"filter": {"archived": True}}, user=user)
        assert [e["node"]["sku"] for e in listed.data["products"]["edges"]] == ["B"]
        cats = await execute(resources, CATEGORIES, user=user)
        assert cats.data["categories"] == [{"name": "Tea", "productCount": 1}]
    seen = await execute(resources, PRODUCT, {"id": gid(a)}, user=manager)
    assert seen.data["product"]["archived"] is True
    only_archived = await execute(resources, PRODUCTS, {"filter": {"archived": True}}, user=manager)
    assert [e["node"]["sku"] for e in only_archived.data["products"]["edges"]] == ["A"]


async def test_filters_sort_and_pagination(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    await add(resources, manager, "TEA-1", price=300, name="Green Tea", category="Tea", stock=5)
    await add(resources, manager, "TEA-2", price=100, name="Black Tea", category="Tea")
    await add(resources, manager, "CUP-1", price=200, name="Cup (large)", category="Ware", stock=1)

    async def skus(variables: dict[str, Any]) -> list[str]:
        result = await execute(resources, PRODUCTS, variables)
        assert result.errors is None, result.errors
        return [e["node"]["sku"] for e in result.data["products"]["edges"]]

    price_asc = {"field": "PRICE", "direction": "ASC"}
    assert await skus({"sort": price_asc}) == ["TEA-2", "CUP-1", "TEA-1"]
    assert await skus({"sort": {"field": "NAME", "direction": "DESC"}}) == [
        "TEA-1",
        "CUP-1",
        "TEA-2",
    ]
    assert await skus({"filter": {"category": "Tea"}, "sort": price_asc}) == ["TEA-2", "TEA-1"]
    assert await skus({"filter": {"search": "TEA"}, "sort": price_asc}) == ["TEA-2", "TEA-1"]
    # Regex metacharacters are literals, not patterns.
    assert await skus({"filter": {"search": "(large)"}}) == ["CUP-1"]
    assert await skus({"filter": {"search": ".*"}}) == []
    assert await skus({"filter": {"priceMin": "1.50", "priceMax": "3"}, "sort": price_asc}) == [
        "CUP-1",
        "TEA-1",
    ]
    assert await skus({"filter": {"inStock": False}}) == ["TEA-2"]
    assert await skus({"filter": {"inStock": True}, "sort": price_asc}) == ["CUP-1", "TEA-1"]

    page1 = await execute(resources, PRODUCTS, {"sort": price_asc, "first": 2})
    data = page1.data["products"]
    assert data["totalCount"] == 3
    assert data["pageInfo"]["hasNextPage"] is True
    after = data["pageInfo"]["endCursor"]
    assert await skus({"sort": price_asc, "first": 2, "after": after}) == ["TEA-1"]
    too_many = await execute(resources, PRODUCTS, {"first": 101})
    assert too_many.errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_adjust_stock_bounds_and_low_stock_notification(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    admin = await make_user(resources, Role.ADMIN)
    customer = await make_user(resources, Role.CUSTOMER)
    a = await add(resources, manager, "A", stock=12)
    ok = await execute(
        resources, ADJUST, {"id": gid(a), "delta": -3, "reason": "damaged"}, user=manager
    )
    assert ok.data["adjustStock"] == {"product": {"stock": 9}, "errors": []}
    too_much = await execute(
        resources, ADJUST, {"id": gid(a), "delta": -10, "reason": "x"}, user=manager
    )
    error = too_much.data["adjustStock"]["errors"][0]
    assert (error["code"], error["field"]) == ("INSUFFICIENT_STOCK", "delta")
    for delta, reason, field in [(0, "x", "delta"), (5, " ", "reason"), (2_000_000, "x", "delta")]:
        bad = await execute(
            resources, ADJUST, {"id": gid(a), "delta": delta, "reason": reason}, user=manager
        )
        assert bad.data["adjustStock"]["errors"][0]["field"] == field
    doc = await resources.db.products.find_one({"_id": a.id})
    assert doc is not None
    assert doc["stock"] == 9
    # 12 -> 9 crossed the threshold of 10: managers and admins are told once.
    for user in (manager, admin):
        notes = await execute(resources, NOTIFICATIONS, user=user)
        assert [e["node"]["type"] for e in notes.data["notifications"]["edges"]] == ["LOW_STOCK"]
    none = await execute(resources, NOTIFICATIONS, user=customer)
    assert none.data["notifications"]["edges"] == []
    audit = await resources.db.audit_trail.find_one({"action": "adjustStock"})
    assert audit is not None
    assert audit["after"] == {"stock": 9, "delta": -3, "reason": "damaged"}


async def test_a_product_write_and_its_audit_entry_commit_together(
    resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = await make_user(resources, Role.MANAGER)
    doc = await products.create_product(
        resources, manager, products.ProductData(sku="KEEP", name="Kept", price_cents=100)
    )

    async def audit_fails(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit_service, "record", audit_fails)
    with pytest.raises(RuntimeError):
        await products.create_product(
            resources, manager, products.ProductData(sku="LOST", name="Lost", price_cents=100)
        )
    with pytest.raises(RuntimeError):
        await products.adjust_stock(resources, manager, doc.id, 5, "restock")
    with pytest.raises(RuntimeError):
        await products.update_product(
            resources, manager, doc.id, products.ProductData(name="Renamed")
        )
    # Nothing half-written: no unaudited product, stock or rename.
    assert await resources.db.products.count_documents({"sku": "LOST"}) == 0
    kept = await resources.db.products.find_one({"_id": doc.id})
    assert kept is not None
    assert (kept["stock"], kept["name"]) == (0, "Kept")

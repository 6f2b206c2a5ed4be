"""REST endpoints 8-12: the catalogue and product writes."""

from __future__ import annotations

import httpx
from bson import ObjectId

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.schema.node import to_global_id
from tests.support.rest import add_product, signed_in

PRODUCTS = "/api/products"
NEW = {"sku": "tea-1", "name": "شاي أخضر", "price": "12.50", "stock": 5, "category": "drinks"}


async def test_list_filters_sorts_and_pages(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    await add_product(resources, sku="A", price_cents=500, stock=0, category="tools")
    await add_product(resources, sku="B", price_cents=1500, stock=3, category="tools")
    await add_product(resources, sku="C", price_cents=2500, stock=3, category="food")

    everything = await client.get(PRODUCTS, params={"sort": "price"})
    assert everything.status_code == 200
    assert [p["sku"] for p in everything.json()["data"]] == ["A", "B", "C"]
    assert everything.json()["data"][0]["price"] == "5.00"

    filtered = await client.get(
        PRODUCTS,
        params={"category": "tools", "inStock": "true", "minPrice": "10", "maxPrice": "20.00"},
    )
    assert [p["sku"] for p in filtered.json()["data"]] == ["B"]
    found = await client.get(PRODUCTS, params={"q": "product c"})
    assert [p["sku"] for p in found.json()["data"]] == ["C"]

    page1 = (await client.get(PRODUCTS, params={"sort": "-price", "limit": 2})).json()
    assert [p["sku"] for p in page1["data"]] == ["C", "B"]
    assert page1["meta"]["hasMore"] is True
    page2 = await client.get(
        PRODUCTS, params={"sort": "-price", "limit": 2, "cursor": page1["meta"]["nextCursor"]}
    )
    assert [p["sku"] for p in page2.json()["data"]] == ["A"]
    assert page2.json()["meta"]["nextCursor"] is None


async def test_list_validation(client: httpx.AsyncClient) -> None:
    for params in (
        {"minPrice": "abc"},
        {"minPrice": "1.234"},
        {"sort": "password"},
        {"limit": "0"},
        {"inStock": "maybe"},
        {"category[$ne]": "x"},
    ):
        response = await client.get(PRODUCTS, params=params)
        assert response.status_code == 422, params
        assert response.json()["error"]["details"]["fields"], params


async def test_get_product(client: httpx.AsyncClient, resources: Resources) -> None:
    doc, gid = await add_product(resources)
    response = await client.get(f"{PRODUCTS}/{gid}")
    assert response.status_code == 200
    assert response.json()["data"]["id"] == gid
    for bad in (to_global_id("Product", ObjectId()), "garbage", to_global_id("Order", doc.id)):
        missing = await client.get(f"{PRODUCTS}/{bad}")
        assert missing.status_code == 404, bad
        assert missing.json()["error"]["code"] == "NOT_FOUND"


async def test_create_product(client: httpx.AsyncClient, resources: Resources) -> None:
    _, manager = await signed_in(resources, Role.MANAGER)
    _, customer = await signed_in(resources, Role.CUSTOMER)
    created = await client.post(PRODUCTS, json=NEW, headers=manager)
    assert created.status_code == 201
    data = created.json()["data"]
    assert (data["sku"], data["price"], data["stock"]) == ("TEA-1", "12.50", 5)
    assert data["name"] == "شاي أخضر"

    assert (await client.post(PRODUCTS, json=NEW)).status_code == 401
    assert (await client.post(PRODUCTS, json=NEW, headers=customer)).status_code == 403
    duplicate = await client.post(PRODUCTS, json=NEW, headers=manager)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["details"]["field"] == "sku"
    # Money is a string: a number is refused, not coerced.
    as_number = await client.post(
        PRODUCTS, json={**NEW, "sku": "X", "price": 12.5}, headers=manager
    )
    assert as_number.status_code == 422
    assert as_number.json()["error"]["details"]["fields"][0]["field"] == "price"
    as_text = await client.post(PRODUCTS, json={**NEW, "sku": "X", "stock": "5"}, headers=manager)
    assert as_text.status_code == 422
    bad_sku = await client.post(PRODUCTS, json={**NEW, "sku": "no spaces"}, headers=manager)
    assert bad_sku.status_code == 422
    injected = await client.post(
        PRODUCTS, json={**NEW, "sku": "Y", "name": {"$gt": ""}}, headers=manager
    )
    assert injected.status_code == 422


async def test_update_and_archive(client: httpx.AsyncClient, resources: Resources) -> None:
    _, manager = await signed_in(resources, Role.MANAGER)
    _, customer = await signed_in(resources, Role.CUSTOMER)
    _, gid = await add_product(resources)
    url = f"{PRODUCTS}/{gid}"

    updated = await client.put(url, json={"price": "99.90", "name": "New"}, headers=manager)
    assert updated.status_code == 200
    assert (updated.json()["data"]["price"], updated.json()["data"]["name"]) == ("99.90", "New")
    assert (await client.put(url, json={"name": "x"}, headers=customer)).status_code == 403
    assert (await client.put(url, json={"stock": 1}, headers=manager)).status_code == 422
    missing = f"{PRODUCTS}/{to_global_id('Product', ObjectId())}"
    assert (await client.put(missing, json={"name": "x"}, headers=manager)).status_code == 404

    assert (await client.delete(url, headers=customer)).status_code == 403
    archived = await client.delete(url, headers=manager)
    assert archived.status_code == 200
    assert archived.json()["data"]["archived"] is True
    # Hidden from the public catalogue, still visible to managers.
    assert (await client.get(url)).status_code == 404
    assert (await client.get(url, headers=manager)).status_code == 200
    listed = await client.get(PRODUCTS, params={"archived": "true"}, headers=manager)
    assert [p["id"] for p in listed.json()["data"]] == [gid]
    assert (await client.delete(missing, headers=manager)).status_code == 404

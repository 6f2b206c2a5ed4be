"""REST parity for integrators: stock adjustments (with Idempotency-Key, on both doors),
product by sku, categories, the unread count and read-all, and raw ObjectIds as ids."""

from __future__ import annotations

import asyncio

import httpx
from bson import ObjectId

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.records.notifications import NotificationType
from alawael.schema.node import to_global_id
from alawael.services import products
from alawael.services.notifications import notify
from alawael.shared.ids import from_global_id
from tests.support.graphql import execute
from tests.support.rest import add_product, signed_in

ADJUST = """
mutation Adjust($id: ID!, $delta: Int!, $reason: String!, $key: String) {
  adjustStock(id: $id, delta: $delta, reason: $reason, idempotencyKey: $key) {
    product { stock }
    errors { code field }
  }
}
"""


async def _audit_count(resources: Resources, action: str) -> int:
    return await resources.db.audit_trail.count_documents({"action": action})


async def test_stock_adjustment_over_rest(client: httpx.AsyncClient, resources: Resources) -> None:
    _, manager = await signed_in(resources, Role.MANAGER)
    _, customer = await signed_in(resources, Role.CUSTOMER)
    product, gid = await add_product(resources, stock=5)
    url = f"/api/products/{gid}/stock"

    added = await client.post(url, json={"delta": 3, "reason": "delivery"}, headers=manager)
    assert added.status_code == 200, added.text
    assert added.json()["data"]["stock"] == 8

    short = await client.post(url, json={"delta": -9, "reason": "broken"}, headers=manager)
    assert short.status_code == 409
    assert short.json()["error"]["code"] == "INSUFFICIENT_STOCK"

    for body in ({"delta": 0, "reason": "x"}, {"delta": 1}, {"delta": "1", "reason": "x"}):
        assert (await client.post(url, json=body, headers=manager)).status_code == 422, body
    refused = await client.post(url, json={"delta": 1, "reason": "x"}, headers=customer)
    assert refused.status_code == 403
    assert (await client.post(url, json={"delta": 1, "reason": "x"})).status_code == 401
    missing = f"/api/products/{to_global_id('Product', ObjectId())}/stock"
    assert (
        await client.post(missing, json={"delta": 1, "reason": "x"}, headers=manager)
    ).status_code == 404
    stored = await resources.db.products.find_one({"_id": product.id})
    assert stored is not None
    assert stored["stock"] == 8


async def test_stock_idempotency_key_over_rest(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    _, manager = await signed_in(resources, Role.MANAGER)
    product, gid = await add_product(resources, stock=5)
    url = f"/api/products/{gid}/stock"
    keyed = {**manager, "Idempotency-Key": "delivery-42"}
    body = {"delta": 4, "reason": "delivery 42"}

    first = await client.post(url, json=body, headers=keyed)
    retry = await client.post(url, json=body, headers=keyed)
    assert first.status_code == retry.status_code == 200
    assert first.json() == retry.json()
    assert retry.json()["data"]["stock"] == 9
    stored = await resources.db.products.find_one({"_id": product.id})
    assert stored is not None
    assert stored["stock"] == 9
    assert await _audit_count(resources, "adjustStock") == 1

    other = await client.post(url, json={**body, "delta": 5}, headers=keyed)
    assert other.status_code == 409
    assert other.json()["error"]["details"]["field"] == "idempotencyKey"
    bad = await client.post(url, json=body, headers={**manager, "Idempotency-Key": " "})
    assert bad.status_code == 422


async def test_stock_idempotency_key_over_graphql(resources: Resources) -> None:
    manager, _ = await signed_in(resources, Role.MANAGER)
    customer, _ = await signed_in(resources, Role.CUSTOMER)
    product, gid = await add_product(resources, stock=5)
    variables = {"id": gid, "delta": -2, "reason": "damaged", "key": "k-1"}

    first = await execute(resources, ADJUST, variables, user=manager)
    retry = await execute(resources, ADJUST, variables, user=manager)
    assert first.errors is None
    assert retry.errors is None
    assert first.data == retry.data == {"adjustStock": {"product": {"stock": 3}, "errors": []}}
    assert await _audit_count(resources, "adjustStock") == 1
    reused = await execute(resources, ADJUST, {**variables, "delta": -1}, user=manager)
    assert reused.data["adjustStock"]["errors"] == [{"code": "CONFLICT", "field": "idempotencyKey"}]

    # Keys are per user: another manager's same key is a new adjustment.
    other, _ = await signed_in(resources, Role.MANAGER)
    again = await execute(resources, ADJUST, variables, user=other)
    assert again.data["adjustStock"]["product"] == {"stock": 1}
    denied = await execute(resources, ADJUST, variables, user=customer)
    assert denied.errors
    assert denied.errors[0].extensions["code"] == "FORBIDDEN"
    stored = await resources.db.products.find_one({"_id": product.id})
    assert stored is not None
    assert stored["stock"] == 1


async def test_product_by_sku_and_categories(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    _, manager = await signed_in(resources, Role.MANAGER)
    _, gid = await add_product(resources, sku="TEA-1", category="drinks")
    await add_product(resources, sku="TEA-2", category="drinks")
    _, hidden = await add_product(resources, sku="OLD-1", category="tools")

    found = await client.get("/api/products/by-sku/ tea-1 ")
    assert found.status_code == 200
    assert found.json()["data"]["id"] == gid
    missing = await client.get("/api/products/by-sku/NOPE")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"

    listed = await client.get("/api/categories")
    assert listed.json()["data"] == [
        {"name": "drinks", "productCount": 2},
        {"name": "tools", "productCount": 1},
    ]
    assert (await client.delete(f"/api/products/{hidden}", headers=manager)).status_code == 200
    # Archived: gone for shoppers (by sku and in the counts), still there for managers.
    assert (await client.get("/api/products/by-sku/OLD-1")).status_code == 404
    assert (await client.get("/api/products/by-sku/OLD-1", headers=manager)).status_code == 200
    shopper = (await client.get("/api/categories")).json()["data"]
    assert shopper == [{"name": "drinks", "productCount": 2}]
    staff = (await client.get("/api/categories", headers=manager)).json()["data"]
    assert {"name": "tools", "productCount": 1} in staff


async def test_unread_count_and_read_all(client: httpx.AsyncClient, resources: Resources) -> None:
    me, headers = await signed_in(resources, Role.CUSTOMER)
    _, other = await signed_in(resources, Role.CUSTOMER)
    for i in range(3):
        await notify(
            resources,
            [ObjectId(me.user_id)],
            type=NotificationType.ORDER_STATUS,
            title=f"Update {i}",
            body="",
            data={},
        )

    count = await client.get("/api/notifications/unread-count", headers=headers)
    assert count.status_code == 200
    assert count.json() == {"data": {"count": 3}}
    other_count = await client.get("/api/notifications/unread-count", headers=other)
    assert other_count.json() == {"data": {"count": 0}}
    # Another user's read-all touches only their own (none).
    assert (await client.post("/api/notifications/read-all", headers=other)).json() == {
        "data": {"count": 0}
    }
    marked = await client.post("/api/notifications/read-all", headers=headers)
    assert marked.status_code == 200
    assert marked.json() == {"data": {"count": 3}}
    assert (await client.post("/api/notifications/read-all", headers=headers)).json() == {
        "data": {"count": 0}
    }
    after = await client.get("/api/notifications/unread-count", headers=headers)
    assert after.json() == {"data": {"count": 0}}
    assert (await client.get("/api/notifications/unread-count")).status_code == 401
    assert (await client.post("/api/notifications/read-all")).status_code == 401


async def test_raw_object_ids_are_accepted_in_paths_and_bodies(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    """The old Node API handed out raw ObjectIds: paths and bodies take them as well."""
    customer, headers = await signed_in(resources, Role.CUSTOMER)
    _, manager = await signed_in(resources, Role.MANAGER)
    product, gid = await add_product(resources, stock=5)
    raw = str(product.id)

    by_raw = await client.get(f"/api/products/{raw}")
    assert by_raw.status_code == 200
    assert by_raw.json()["data"]["id"] == gid  # responses still carry global ids
    upper = await client.get(f"/api/products/{raw.upper()}")
    assert upper.status_code == 200

    placed = await client.post(
        "/api/orders", json={"items": [{"productId": raw, "quantity": 2}]}, headers=headers
    )
    assert placed.status_code == 201, placed.text
    order_gid = placed.json()["data"]["id"]
    order_raw = str(from_global_id(order_gid, "Order"))
    assert (await client.get(f"/api/orders/{order_raw}", headers=headers)).status_code == 200
    me = await client.get(f"/api/users/{customer.user_id}", headers=headers)
    assert me.status_code == 200

    stock = await client.post(
        f"/api/products/{raw}/stock", json={"delta": 1, "reason": "recount"}, headers=manager
    )
    assert stock.status_code == 200
    assert stock.json()["data"]["stock"] == 4


async def test_raw_object_id_of_the_wrong_collection_is_a_clean_404(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    customer, headers = await signed_in(resources, Role.CUSTOMER)
    _, manager = await signed_in(resources, Role.MANAGER)
    await add_product(resources)
    user_raw = customer.user_id  # a real id, of a user

    for url in (f"/api/products/{user_raw}", f"/api/orders/{user_raw}"):
        response = await client.get(url, headers=headers)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "NOT_FOUND"
    stock = await client.post(
        f"/api/products/{user_raw}/stock", json={"delta": 1, "reason": "x"}, headers=manager
    )
    assert stock.status_code == 404
    placed = await client.post(
        "/api/orders", json={"items": [{"productId": user_raw, "quantity": 1}]}, headers=headers
    )
    assert placed.status_code == 404
    assert placed.json()["error"]["details"]["field"] == "items.0.productId"
    # A global id of another type is still refused for its type.
    user_gid = to_global_id("User", ObjectId(user_raw))
    wrong = await client.post(
        "/api/orders", json={"items": [{"productId": user_gid, "quantity": 1}]}, headers=headers
    )
    assert wrong.status_code == 422
    assert (await client.get(f"/api/products/{user_gid}")).status_code == 404
    # Not quite an ObjectId: malformed, a 404 in a path.
    assert (await client.get(f"/api/products/{user_raw[:-1]}z")).status_code == 404


async def test_concurrent_retries_with_one_key_adjust_once(resources: Resources) -> None:
    """Racing retries (a client that timed out and resent): the idempotency record commits
    with the adjustment, so exactly one adjusts and the others get its result."""
    manager, _ = await signed_in(resources, Role.MANAGER)
    product, _ = await add_product(resources, stock=10)

    async def adjust() -> int:
        record = await products.adjust_stock(
            resources, manager, product.id, -3, "picked", idempotency_key="race-1"
        )
        return record.stock

    results = await asyncio.gather(*(adjust() for _ in range(5)))
    assert results == [7] * 5
    stored = await resources.db.products.find_one({"_id": product.id})
    assert stored is not None
    assert stored["stock"] == 7
    assert await _audit_count(resources, "adjustStock") == 1

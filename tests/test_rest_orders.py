"""REST endpoints 13-17: orders, idempotent placement, status changes, cancellation."""

from __future__ import annotations

from typing import Any

import httpx
from bson import ObjectId

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.records.products import ProductRecord
from alawael.schema.node import to_global_id
from tests.support.rest import add_product, signed_in

ORDERS = "/api/orders"


async def _stock(resources: Resources, product: ProductRecord) -> int:
    doc = await resources.db.products.find_one({"_id": product.id})
    assert doc is not None
    return int(doc["stock"])


async def test_place_order(client: httpx.AsyncClient, resources: Resources) -> None:
    customer, headers = await signed_in(resources, Role.CUSTOMER)
    product, pid = await add_product(resources, price_cents=1250, stock=10)
    body = {"items": [{"productId": pid, "quantity": 2}], "note": "ring twice"}
    placed = await client.post(ORDERS, json=body, headers=headers)
    assert placed.status_code == 201
    order = placed.json()["data"]
    assert order["status"] == "PENDING"
    assert order["total"] == "25.00"
    assert order["items"][0]["unitPrice"] == "12.50"
    assert order["customerId"] == to_global_id("User", customer.user_id)
    assert await _stock(resources, product) == 8

    assert (await client.post(ORDERS, json=body)).status_code == 401
    too_many = {"items": [{"productId": pid, "quantity": 9}]}
    short = await client.post(ORDERS, json=too_many, headers=headers)
    assert short.status_code == 409
    assert short.json()["error"]["code"] == "INSUFFICIENT_STOCK"
    assert short.json()["error"]["details"]["available"] == 8
    unknown = {"items": [{"productId": to_global_id("Product", ObjectId()), "quantity": 1}]}
    assert (await client.post(ORDERS, json=unknown, headers=headers)).status_code == 404
    invalid: list[dict[str, Any]] = [
        {"items": []},
        {"items": [{"productId": pid, "quantity": "2"}]},
        {"items": [{"productId": pid, "quantity": 0}]},
        {"items": [{"productId": "nope", "quantity": 1}]},
    ]
    for bad in invalid:
        response = await client.post(ORDERS, json=bad, headers=headers)
        assert response.status_code == 422, bad
    assert await _stock(resources, product) == 8


async def test_idempotency_key_returns_the_first_order(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    _, headers = await signed_in(resources, Role.CUSTOMER)
    product, pid = await add_product(resources, stock=10)
    body = {"items": [{"productId": pid, "quantity": 3}]}
    keyed = {**headers, "Idempotency-Key": "order-42"}
    first = await client.post(ORDERS, json=body, headers=keyed)
    second = await client.post(ORDERS, json=body, headers=keyed)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert await _stock(resources, product) == 7  # taken once
    assert await resources.db.orders.count_documents({}) == 1

    other = {"items": [{"productId": pid, "quantity": 1}]}
    reused = await client.post(ORDERS, json=other, headers=keyed)
    assert reused.status_code == 409
    too_long = await client.post(
        ORDERS, json=body, headers={**headers, "Idempotency-Key": "k" * 200}
    )
    assert too_long.status_code == 422


async def test_list_and_get_respect_ownership(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    _, alice = await signed_in(resources, Role.CUSTOMER)
    _, bob = await signed_in(resources, Role.CUSTOMER)
    _, staff = await signed_in(resources, Role.STAFF)
    _, pid = await add_product(resources, stock=10)
    body = {"items": [{"productId": pid, "quantity": 1}]}
    alice_order = (await client.post(ORDERS, json=body, headers=alice)).json()["data"]
    await client.post(ORDERS, json=body, headers=bob)

    own = await client.get(ORDERS, headers=alice)
    assert [o["id"] for o in own.json()["data"]] == [alice_order["id"]]
    assert len((await client.get(ORDERS, headers=staff)).json()["data"]) == 2
    pending = await client.get(ORDERS, params={"status": "PENDING", "limit": 1}, headers=staff)
    assert len(pending.json()["data"]) == 1
    assert pending.json()["meta"]["hasMore"] is True
    window = {"from": "2000-01-01T00:00:00Z", "to": "2001-01-01T00:00:00Z"}
    assert (await client.get(ORDERS, params=window, headers=staff)).json()["data"] == []
    assert (await client.get(ORDERS, params={"status": "LOST"}, headers=staff)).status_code == 422
    assert (
        await client.get(ORDERS, params={"from": "yesterday"}, headers=staff)
    ).status_code == 422
    assert (await client.get(ORDERS)).status_code == 401

    url = f"{ORDERS}/{alice_order['id']}"
    assert (await client.get(url, headers=alice)).json()["data"] == alice_order
    assert (await client.get(url, headers=staff)).status_code == 200
    # Someone else's order does not exist, as far as Bob can tell.
    assert (await client.get(url, headers=bob)).status_code == 404
    assert (await client.get(f"{ORDERS}/xyz", headers=alice)).status_code == 404


async def test_status_changes_follow_the_state_machine(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    _, customer = await signed_in(resources, Role.CUSTOMER)
    _, staff = await signed_in(resources, Role.STAFF)
    _, pid = await add_product(resources, stock=10)
    order = (
        await client.post(
            ORDERS, json={"items": [{"productId": pid, "quantity": 1}]}, headers=customer
        )
    ).json()["data"]
    url = f"{ORDERS}/{order['id']}/status"

    assert (
        await client.patch(url, json={"status": "CONFIRMED"}, headers=customer)
    ).status_code == 403
    confirmed = await client.patch(url, json={"status": "CONFIRMED", "note": "ok"}, headers=staff)
    assert confirmed.status_code == 200
    assert [h["status"] for h in confirmed.json()["data"]["statusHistory"]] == [
        "PENDING",
        "CONFIRMED",
    ]
    jump = await client.patch(url, json={"status": "DELIVERED"}, headers=staff)
    assert jump.status_code == 409
    assert jump.json()["error"]["code"] == "INVALID_TRANSITION"
    assert (await client.patch(url, json={"status": "LOST"}, headers=staff)).status_code == 422
    missing = f"{ORDERS}/{to_global_id('Order', ObjectId())}/status"
    assert (
        await client.patch(missing, json={"status": "SHIPPED"}, headers=staff)
    ).status_code == 404


async def test_cancel_restocks(client: httpx.AsyncClient, resources: Resources) -> None:
    _, customer = await signed_in(resources, Role.CUSTOMER)
    _, other = await signed_in(resources, Role.CUSTOMER)
    _, staff = await signed_in(resources, Role.STAFF)
    product, pid = await add_product(resources, stock=10)
    body = {"items": [{"productId": pid, "quantity": 4}]}
    first = (await client.post(ORDERS, json=body, headers=customer)).json()["data"]
    assert await _stock(resources, product) == 6

    url = f"{ORDERS}/{first['id']}/cancel"
    assert (await client.post(url, headers=other)).status_code == 404
    assert (await client.post(url, json={"reason": 5}, headers=customer)).status_code == 422
    cancelled = await client.post(url, json={"reason": "changed my mind"}, headers=customer)
    assert cancelled.status_code == 200
    assert cancelled.json()["data"]["status"] == "CANCELLED"
    assert await _stock(resources, product) == 10
    assert (await client.post(url, headers=customer)).status_code == 409

    second = (await client.post(ORDERS, json=body, headers=customer)).json()["data"]
    await client.patch(
        f"{ORDERS}/{second['id']}/status", json={"status": "CONFIRMED"}, headers=staff
    )
    # Once confirmed, only staff may cancel; no body is fine.
    second_url = f"{ORDERS}/{second['id']}/cancel"
    assert (await client.post(second_url, headers=customer)).status_code == 403
    assert (await client.post(second_url, headers=staff)).status_code == 200
    assert (await client.post(second_url)).status_code == 401


async def test_a_customer_does_not_see_which_staff_member_changed_the_status(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    """One visibility rule on both doors: GraphQL's `statusHistory.by` is null for a
    customer unless the change was their own, and REST's `byUserId` follows it."""
    customer, as_customer = await signed_in(resources, Role.CUSTOMER)
    staff, as_staff = await signed_in(resources, Role.STAFF)
    _, pid = await add_product(resources, stock=10)
    order = (
        await client.post(
            ORDERS, json={"items": [{"productId": pid, "quantity": 1}]}, headers=as_customer
        )
    ).json()["data"]
    changed = await client.patch(
        f"{ORDERS}/{order['id']}/status", json={"status": "CONFIRMED"}, headers=as_staff
    )
    assert changed.status_code == 200
    staff_id = to_global_id("User", staff.user_id)
    own_id = to_global_id("User", customer.user_id)
    assert [h["byUserId"] for h in changed.json()["data"]["statusHistory"]] == [own_id, staff_id]

    for url in (f"{ORDERS}/{order['id']}", ORDERS):
        seen = (await client.get(url, headers=as_customer)).json()["data"]
        history = (seen[0] if isinstance(seen, list) else seen)["statusHistory"]
        assert [h["byUserId"] for h in history] == [own_id, None], url

    query = (
        f'{{ node(id: "{order["id"]}") {{ ... on Order {{ statusHistory {{ by {{ id }} }} }} }} }}'
    )
    graphql = (await client.post("/graphql", json={"query": query}, headers=as_customer)).json()
    by = [h["by"] for h in graphql["data"]["node"]["statusHistory"]]
    assert by == [{"id": own_id}, None]

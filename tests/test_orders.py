from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from alawael.auth.permissions import Actor, Role
from alawael.context import Resources
from alawael.schema.node import to_global_id
from alawael.services import products
from tests.support.graphql import execute, make_user

PLACE = """
mutation($input: PlaceOrderInput!, $key: String) {
  placeOrder(input: $input, idempotencyKey: $key) {
    order {
      id number status subtotal total currency note
      items { sku name unitPrice quantity lineTotal product { id stock } }
      customer { id }
      statusHistory { status note by { id } }
    }
    errors { code field message }
  }
}
"""
UPDATE_STATUS = """
mutation($id: ID!, $status: OrderStatus!, $note: String) {
  updateOrderStatus(id: $id, status: $status, note: $note) {
    order { status statusHistory { status note by { id role } } }
    errors { code field }
  }
}
"""
CANCEL = """
mutation($id: ID!, $reason: String) {
  cancelOrder(id: $id, reason: $reason) { order { status } errors { code field } }
}
"""
ORDER = "query($id: ID!) { order(id: $id) { id number customer { id } } }"
ORDERS = """
query($filter: OrderFilter, $sort: OrderSort, $first: Int) {
  orders(filter: $filter, sort: $sort, first: $first) {
    totalCount
    edges { node { id number status total } }
  }
}
"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Order { number } } }"
ME_ORDERS = """
query($id: ID!) { node(id: $id) { ... on User { orders { edges { node { number } } } } } }
"""


async def add(res: Resources, sku: str, *, price: int = 1000, stock: int = 10) -> str:
    manager = Actor(user_id="0" * 24, role=Role.MANAGER)
    data = products.ProductData(sku=sku, name=f"Product {sku}", price_cents=price, stock=stock)
    doc = await products.create_product(res, manager, data)
    return str(to_global_id("Product", doc.id))


async def stock_of(res: Resources, gid: str) -> int:
    from alawael.schema.node import from_global_id

    doc = await res.db.products.find_one({"_id": from_global_id(gid)})
    assert doc is not None
    return int(doc["stock"])


async def place(
    res: Resources, user: Actor, items: list[tuple[str, int]], key: str | None = None
) -> dict[str, Any]:
    variables = {
        "input": {"items": [{"productId": p, "quantity": q} for p, q in items]},
        "key": key,
    }
    result = await execute(res, PLACE, variables, user=user)
    assert result.errors is None, result.errors
    payload: dict[str, Any] = result.data["placeOrder"]
    return payload


async def test_place_order_snapshots_items_and_takes_stock(resources: Resources) -> None:
    customer = await make_user(resources, Role.CUSTOMER)
    tea = await add(resources, "TEA", price=1250, stock=10)
    cup = await add(resources, "CUP", price=300, stock=5)
    async with (
        resources.events.subscribe("orders") as order_events,
        resources.events.subscribe("stock") as stock_events,
    ):
        payload = await place(resources, customer, [(tea, 2), (cup, 1), (tea, 1)])
        placed = await asyncio.wait_for(anext(order_events), 1)
        stock_changes = [await asyncio.wait_for(anext(stock_events), 1) for _ in range(2)]
    assert payload["errors"] == []
    order = payload["order"]
    assert order["number"].startswith("ORD-")
    assert len(order["number"]) == 10
    assert order["status"] == "PENDING"
    # Duplicate lines are merged.
    lines = {item["sku"]: item for item in order["items"]}
    assert lines["TEA"]["quantity"] == 3
    assert lines["TEA"]["lineTotal"] == "37.50"
    assert lines["CUP"]["unitPrice"] == "3.00"
    assert order["subtotal"] == order["total"] == "40.50"
    assert order["customer"]["id"] == to_global_id("User", customer.user_id)
    assert order["statusHistory"][0]["by"]["id"] == order["customer"]["id"]
    assert await stock_of(resources, tea) == 7
    assert await stock_of(resources, cup) == 4
    assert placed["type"] == "ORDER_PLACED"
    assert placed["userId"] == customer.user_id
    assert {e["stock"] for e in stock_changes} == {7, 4}
    assert await resources.db.audit_trail.count_documents({"action": "placeOrder"}) == 1
    note = await resources.db.notifications.find_one({"type": "ORDER_PLACED"})
    assert note is not None
    assert str(note["userId"]) == customer.user_id

    # The snapshot survives price changes and archiving; the product still resolves.
    manager = Actor(user_id="0" * 24, role=Role.MANAGER)
    from alawael.schema.node import from_global_id

    await products.update_product(
        resources, manager, from_global_id(tea), products.ProductData(price_cents=9999)
    )
    await products.archive_product(resources, manager, from_global_id(tea))
    again = await execute(
        resources,
        "query($id: ID!) { order(id: $id) { items { unitPrice product { archived } } } }",
        {"id": order["id"]},
        user=customer,
    )
    items = again.data["order"]["items"]
    assert items[0]["unitPrice"] in ("12.50", "3.00")
    assert {i["unitPrice"] for i in items} == {"12.50", "3.00"}
    assert all(i["product"] is not None for i in items)


async def test_place_order_rejects_bad_input(resources: Resources) -> None:
    customer = await make_user(resources, Role.CUSTOMER)
    tea = await add(resources, "TEA", stock=3)
    archived = await add(resources, "OLD")
    from alawael.schema.node import from_global_id

    await resources.db.products.update_one(
        {"_id": from_global_id(archived)}, {"$set": {"archived": True}}
    )
    missing = to_global_id("Product", "0" * 24)
    cases: list[tuple[list[tuple[str, int]], str, str]] = [
        ([], "BAD_USER_INPUT", "items"),
        ([(tea, 0)], "BAD_USER_INPUT", "items.0.quantity"),
        ([(tea, 1001)], "BAD_USER_INPUT", "items.0.quantity"),
        ([(tea, 600), (tea, 600)], "BAD_USER_INPUT", "items.1.quantity"),
        ([(tea, 1)] * 51, "BAD_USER_INPUT", "items"),
        ([(tea, 1), (missing, 1)], "NOT_FOUND", "items.1.productId"),
        ([(archived, 1)], "NOT_FOUND", "items.0.productId"),
        ([(tea, 1), ("not-an-id", 1)], "BAD_USER_INPUT", "items.1.productId"),
        ([(tea, 4)], "INSUFFICIENT_STOCK", "items.0.quantity"),
    ]
    for items, code, field in cases:
        payload = await place(resources, customer, items)
        assert payload["order"] is None
        assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == (code, field)
    # Nothing was taken by the failed attempts (the transaction rolled back).
    assert await stock_of(resources, tea) == 3
    assert await resources.db.orders.count_documents({}) == 0
    assert await resources.db.audit_trail.count_documents({"action": "placeOrder"}) == 0
    anonymous = await execute(
        resources, PLACE, {"input": {"items": [{"productId": tea, "quantity": 1}]}}
    )
    assert anonymous.errors[0].extensions["code"] == "UNAUTHENTICATED"


async def test_idempotent_retry_returns_the_first_order(resources: Resources) -> None:
    customer = await make_user(resources, Role.CUSTOMER)
    other = await make_user(resources, Role.CUSTOMER)
    tea = await add(resources, "TEA", stock=10)
    first = await place(resources, customer, [(tea, 2)], key="k-1")
    retry = await place(resources, customer, [(tea, 2)], key="k-1")
    assert retry["order"]["id"] == first["order"]["id"]
    assert await stock_of(resources, tea) == 8
    # Keys are scoped per user.
    theirs = await place(resources, other, [(tea, 2)], key="k-1")
    assert theirs["order"]["id"] != first["order"]["id"]
    # The same key for a different request is a client bug, not a replay.
    reused = await place(resources, customer, [(tea, 3)], key="k-1")
    assert reused["errors"][0]["code"] == "CONFLICT"
    record = await resources.db.idempotency.find_one({"_id": f"placeOrder:{customer.user_id}:k-1"})
    assert record is not None
    assert record["expireAt"] - record["createdAt"] == timedelta(hours=24)


async def test_racing_retries_with_one_key_place_one_order(resources: Resources) -> None:
    customer = await make_user(resources, Role.CUSTOMER)
    tea = await add(resources, "TEA", stock=10)
    results = await asyncio.gather(
        *(place(resources, customer, [(tea, 1)], key="race") for _ in range(5))
    )
    assert all(r["errors"] == [] for r in results), results
    assert len({r["order"]["id"] for r in results}) == 1
    assert await resources.db.orders.count_documents({}) == 1
    assert await stock_of(resources, tea) == 9


async def test_customers_see_only_their_own_orders(resources: Resources) -> None:
    alice = await make_user(resources, Role.CUSTOMER)
    bob = await make_user(resources, Role.CUSTOMER)
    staff = await make_user(resources, Role.STAFF)
    tea = await add(resources, "TEA", stock=10)
    a = (await place(resources, alice, [(tea, 1)]))["order"]
    b = (await place(resources, bob, [(tea, 2)]))["order"]

    hidden = await execute(resources, ORDER, {"id": a["id"]}, user=bob)
    assert hidden.data["order"] is None
    assert hidden.errors[0].extensions["code"] == "NOT_FOUND"
    mine = await execute(resources, ORDER, {"id": b["id"]}, user=bob)
    assert mine.data["order"]["number"] == b["number"]
    assert (await execute(resources, NODE, {"id": a["id"]}, user=bob)).data["node"] is None
    assert (await execute(resources, NODE, {"id": a["id"]}, user=staff)).data["node"] == {
        "id": a["id"],
        "number": a["number"],
    }

    listed = await execute(resources, ORDERS, {}, user=bob)
    assert [e["node"]["id"] for e in listed.data["orders"]["edges"]] == [b["id"]]
    alice_gid = to_global_id("User", alice.user_id)
    forced = await execute(resources, ORDERS, {"filter": {"userId": alice_gid}}, user=bob)
    assert forced.data["orders"] == {"totalCount": 0, "edges": []}
    # User.orders: a manager (who may read users) sees Alice's; Alice sees her own.
    manager = await make_user(resources, Role.MANAGER)
    for viewer in (manager, alice):
        via_user = await execute(resources, ME_ORDERS, {"id": alice_gid}, user=viewer)
        assert via_user.data["node"]["orders"]["edges"] == [{"node": {"number": a["number"]}}]
    everything = await execute(resources, ORDERS, {}, user=staff)
    assert everything.data["orders"]["totalCount"] == 2
    staff_filter = await execute(resources, ORDERS, {"filter": {"userId": alice_gid}}, user=staff)
    assert [e["node"]["id"] for e in staff_filter.data["orders"]["edges"]] == [a["id"]]
    anonymous = await execute(resources, ORDERS, {})
    assert anonymous.errors[0].extensions["code"] == "UNAUTHENTICATED"


async def test_order_filters_and_sort(resources: Resources) -> None:
    customer = await make_user(resources, Role.CUSTOMER)
    staff = await make_user(resources, Role.STAFF)
    tea = await add(resources, "TEA", price=100, stock=100)
    small = (await place(resources, customer, [(tea, 1)]))["order"]
    big = (await place(resources, customer, [(tea, 5)]))["order"]
    await execute(resources, UPDATE_STATUS, {"id": big["id"], "status": "CONFIRMED"}, user=staff)

    async def ids(variables: dict[str, Any]) -> list[str]:
        result = await execute(resources, ORDERS, variables, user=staff)
        assert result.errors is None, result.errors
        return [e["node"]["id"] for e in result.data["orders"]["edges"]]

    assert await ids({}) == [big["id"], small["id"]]  # newest first
    assert await ids({"sort": {"field": "TOTAL", "direction": "ASC"}}) == [small["id"], big["id"]]
    assert await ids({"filter": {"status": "CONFIRMED"}}) == [big["id"]]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert await ids({"filter": {"createdFrom": future}}) == []
    assert len(await ids({"filter": {"createdFrom": past, "createdTo": future}})) == 2
    bad = await execute(
        resources, ORDERS, {"filter": {"createdFrom": future, "createdTo": past}}, user=staff
    )
    assert bad.errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_status_machine(resources: Resources) -> None:
    customer = await make_user(resources, Role.CUSTOMER)
    staff = await make_user(resources, Role.STAFF)
    tea = await add(resources, "TEA", stock=10)
    order = (await place(resources, customer, [(tea, 4)]))["order"]

    async def move(status: str, note: str | None = None) -> dict[str, Any]:
        variables = {"id": order["id"], "status": status, "note": note}
        result = await execute(resources, UPDATE_STATUS, variables, user=staff)
        assert result.errors is None, result.errors
        payload: dict[str, Any] = result.data["updateOrderStatus"]
        return payload

    illegal = await move("DELIVERED")
    assert illegal["errors"] == [{"code": "INVALID_TRANSITION", "field": "status"}]
    confirmed = await move("CONFIRMED", "paid")
    assert confirmed["order"]["status"] == "CONFIRMED"
    last = confirmed["order"]["statusHistory"][-1]
    assert last["note"] == "paid"
    assert last["by"] == {
        "id": to_global_id("User", staff.user_id),
        "role": "STAFF",
    }
    assert (await move("SHIPPED"))["order"]["status"] == "SHIPPED"
    assert (await move("CANCELLED"))["errors"][0]["code"] == "INVALID_TRANSITION"
    assert (await move("DELIVERED"))["order"]["status"] == "DELIVERED"
    assert (await move("CANCELLED"))["errors"][0]["code"] == "INVALID_TRANSITION"
    assert await stock_of(resources, tea) == 6  # never cancelled, never restocked
    as_customer = await execute(
        resources, UPDATE_STATUS, {"id": order["id"], "status": "CONFIRMED"}, user=customer
    )
    assert as_customer.errors[0].extensions["code"] == "FORBIDDEN"
    kinds = await resources.db.notifications.distinct("type", {"userId": order_user(customer)})
    assert sorted(kinds) == ["ORDER_PLACED", "ORDER_STATUS"]
    audits = await resources.db.audit_trail.count_documents({"action": "updateOrderStatus"})
    assert audits == 3


def order_user(actor: Actor) -> Any:
    from bson import ObjectId

    return ObjectId(actor.user_id)


async def test_cancel_rules_and_restock(resources: Resources) -> None:
    alice = await make_user(resources, Role.CUSTOMER)
    bob = await make_user(resources, Role.CUSTOMER)
    staff = await make_user(resources, Role.STAFF)
    tea = await add(resources, "TEA", stock=10)
    first = (await place(resources, alice, [(tea, 3)]))["order"]
    second = (await place(resources, alice, [(tea, 2)]))["order"]
    assert await stock_of(resources, tea) == 5

    not_yours = await execute(resources, CANCEL, {"id": first["id"]}, user=bob)
    assert not_yours.data["cancelOrder"]["errors"] == [{"code": "NOT_FOUND", "field": "id"}]
    own = await execute(resources, CANCEL, {"id": first["id"], "reason": "oops"}, user=alice)
    assert own.data["cancelOrder"] == {"order": {"status": "CANCELLED"}, "errors": []}
    assert await stock_of(resources, tea) == 8
    twice = await execute(resources, CANCEL, {"id": first["id"]}, user=alice)
    assert twice.data["cancelOrder"]["errors"][0]["code"] == "INVALID_TRANSITION"
    assert await stock_of(resources, tea) == 8

    await execute(resources, UPDATE_STATUS, {"id": second["id"], "status": "CONFIRMED"}, user=staff)
    late = await execute(resources, CANCEL, {"id": second["id"]}, user=alice)
    assert late.errors[0].extensions["code"] == "FORBIDDEN"
    by_staff = await execute(resources, CANCEL, {"id": second["id"]}, user=staff)
    assert by_staff.data["cancelOrder"]["order"]["status"] == "CANCELLED"
    assert await stock_of(resources, tea) == 10


async def test_concurrent_transitions_cannot_both_win(resources: Resources) -> None:
    customer = await make_user(resources, Role.CUSTOMER)
    staff = await make_user(resources, Role.STAFF)
    tea = await add(resources, "TEA", stock=10)
    order = (await place(resources, customer, [(tea, 4)]))["order"]
    results = await asyncio.gather(
        *(execute(resources, CANCEL, {"id": order["id"]}, user=staff) for _ in range(4))
    )
    outcomes = sorted(
        "ok"
        if r.data["cancelOrder"]["errors"] == []
        else r.data["cancelOrder"]["errors"][0]["code"]
        for r in results
    )
    assert outcomes == ["INVALID_TRANSITION"] * 3 + ["ok"]
    assert await stock_of(resources, tea) == 10  # restocked exactly once


HISTORY = "query($id: ID!) { order(id: $id) { statusHistory { status by { id email } } } }"


async def test_customers_do_not_see_which_staff_member_changed_their_order(
    resources: Resources,
) -> None:
    customer = await make_user(resources, Role.CUSTOMER)
    staff = await make_user(resources, Role.STAFF)
    tea = await add(resources, "TEA", stock=10)
    order = (await place(resources, customer, [(tea, 1)]))["order"]
    variables = {"id": order["id"], "status": "CONFIRMED", "note": None}
    assert (await execute(resources, UPDATE_STATUS, variables, user=staff)).errors is None

    seen_by_customer = await execute(resources, HISTORY, {"id": order["id"]}, user=customer)
    history = seen_by_customer.data["order"]["statusHistory"]
    assert history[0]["by"]["id"] == to_global_id("User", customer.user_id)  # their own
    assert history[1] == {"status": "CONFIRMED", "by": None}  # staff identity stays internal
    seen_by_staff = await execute(resources, HISTORY, {"id": order["id"]}, user=staff)
    assert seen_by_staff.data["order"]["statusHistory"][1]["by"]["id"] == to_global_id(
        "User", staff.user_id
    )

"""Orders by several statuses (an "open orders" view) and by number, through both doors."""

from __future__ import annotations

import httpx

from alawael.auth.permissions import Actor, Role
from alawael.context import Resources
from alawael.records.orders import OrderRecord, OrderStatus
from alawael.services import orders
from tests.support.graphql import execute
from tests.support.rest import SETUP_MANAGER, add_product, signed_in

BY_STATUSES = """
query ($any: [OrderStatus!], $status: OrderStatus) {
  orders(filter: {statusIn: $any, status: $status}) { edges { node { number status } } }
}
"""
# What clients wrote against `status: OrderStatus` before statusIn existed: still valid.
# (Making `status` itself a list would have refused this query: a variable declared
# `OrderStatus` may not be used where `[OrderStatus!]` is expected.)
OLD_CLIENT = """
query ($status: OrderStatus) {
  orders(filter: {status: $status}) { edges { node { number status } } }
}
"""
SINGLE_LITERAL = "{ orders(filter: {statusIn: SHIPPED}) { edges { node { number status } } } }"
BY_NUMBER = """
query ($number: String!) { orderByNumber(number: $number) { id number status } }
"""


async def _order(resources: Resources, buyer: Actor, pid_sku: str, status: OrderStatus) -> str:
    product, _ = await add_product(resources, sku=pid_sku, stock=10)
    placed: OrderRecord = await orders.place_order(
        resources, buyer, [orders.OrderLine(product.id, 1)]
    )
    path = {
        OrderStatus.PENDING: [],
        OrderStatus.CONFIRMED: [OrderStatus.CONFIRMED],
        OrderStatus.SHIPPED: [OrderStatus.CONFIRMED, OrderStatus.SHIPPED],
    }[status]
    for step in path:
        await orders.update_order_status(resources, SETUP_MANAGER, placed.id, step, None)
    return placed.number


async def _three_orders(resources: Resources, buyer: Actor) -> dict[OrderStatus, str]:
    return {
        status: await _order(resources, buyer, f"S-{status.value}", status)
        for status in (OrderStatus.PENDING, OrderStatus.CONFIRMED, OrderStatus.SHIPPED)
    }


async def test_status_filter_takes_a_list_and_still_a_single_value(resources: Resources) -> None:
    buyer, _ = await signed_in(resources, Role.CUSTOMER)
    numbers = await _three_orders(resources, buyer)
    pending, confirmed, shipped = (
        numbers[OrderStatus.PENDING],
        numbers[OrderStatus.CONFIRMED],
        numbers[OrderStatus.SHIPPED],
    )

    async def run(query: str, **variables: object) -> set[str]:
        result = await execute(resources, query, variables, user=buyer)
        assert result.errors is None, result.errors
        return {edge["node"]["number"] for edge in result.data["orders"]["edges"]}

    assert await run(BY_STATUSES, any=["PENDING", "CONFIRMED"]) == {pending, confirmed}
    # A single value for the list: GraphQL input coercion makes it a one-item list.
    assert await run(BY_STATUSES, any="PENDING") == {pending}
    assert await run(SINGLE_LITERAL) == {shipped}
    assert await run(OLD_CLIENT, status="CONFIRMED") == {confirmed}
    assert await run(OLD_CLIENT, status=None) == {pending, confirmed, shipped}
    assert await run(BY_STATUSES, any=[]) == {pending, confirmed, shipped}
    # Both: an order must match both filters.
    assert await run(BY_STATUSES, any=["PENDING", "SHIPPED"], status="SHIPPED") == {shipped}
    assert await run(BY_STATUSES, any=["PENDING"], status="SHIPPED") == set()
    wrong = await execute(resources, BY_STATUSES, {"any": ["LOST"]}, user=buyer)
    assert wrong.errors


async def test_rest_status_filter_is_comma_separated(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    buyer, headers = await signed_in(resources, Role.CUSTOMER)
    numbers = await _three_orders(resources, buyer)

    def got(response: httpx.Response) -> set[str]:
        assert response.status_code == 200, response.text
        return {order["number"] for order in response.json()["data"]}

    both = await client.get("/api/orders", params={"status": "PENDING,CONFIRMED"}, headers=headers)
    assert got(both) == {numbers[OrderStatus.PENDING], numbers[OrderStatus.CONFIRMED]}
    one = await client.get("/api/orders", params={"status": "SHIPPED"}, headers=headers)
    assert got(one) == {numbers[OrderStatus.SHIPPED]}
    for bad in ("PENDING,LOST", "PENDING,", ""):
        refused = await client.get("/api/orders", params={"status": bad}, headers=headers)
        assert refused.status_code == 422, bad
    repeated = await client.get("/api/orders?status=PENDING&status=SHIPPED", headers=headers)
    assert repeated.status_code == 422


async def test_order_by_number_through_both_doors(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    buyer, headers = await signed_in(resources, Role.CUSTOMER)
    stranger, stranger_headers = await signed_in(resources, Role.CUSTOMER)
    staff, staff_headers = await signed_in(resources, Role.STAFF)
    number = await _order(resources, buyer, "N-1", OrderStatus.PENDING)

    mine = await execute(resources, BY_NUMBER, {"number": f" {number.lower()} "}, user=buyer)
    assert mine.errors is None
    assert mine.data["orderByNumber"]["number"] == number
    seen_by_staff = await execute(resources, BY_NUMBER, {"number": number}, user=staff)
    assert seen_by_staff.data["orderByNumber"]["number"] == number
    for who, asked in ((stranger, number), (buyer, "ORD-999999"), (buyer, "  ")):
        hidden = await execute(resources, BY_NUMBER, {"number": asked}, user=who)
        assert hidden.errors, asked
        assert hidden.errors[0].extensions["code"] == "NOT_FOUND"
    anonymous = await execute(resources, BY_NUMBER, {"number": number})
    assert anonymous.errors
    assert anonymous.errors[0].extensions["code"] == "UNAUTHENTICATED"

    url = f"/api/orders/by-number/{number}"
    rest = await client.get(url, headers=headers)
    assert rest.status_code == 200
    assert rest.json()["data"]["id"] == mine.data["orderByNumber"]["id"]
    assert (await client.get(url.lower(), headers=staff_headers)).status_code == 200
    other = await client.get(url, headers=stranger_headers)
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "NOT_FOUND"
    missing = await client.get("/api/orders/by-number/ORD-999999", headers=headers)
    assert missing.status_code == 404
    assert (await client.get(url)).status_code == 401

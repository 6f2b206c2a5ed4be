"""Unexpected errors never reach clients, in queries and in every subscription event."""

from __future__ import annotations

import pytest

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.schema import orders as order_schema
from tests.support.graphql import make_user
from tests.support.schema_subscriptions import Sub, listening, place, product

ORDER_PLACED = "subscription { orderPlaced { id number status total customer { email } } }"


async def test_an_error_inside_a_subscription_event_is_masked(
    resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff = await make_user(resources, Role.STAFF)
    customer = await make_user(resources, Role.CUSTOMER)
    pid = await product(resources)
    sub = Sub(resources, ORDER_PLACED, staff)
    await listening(resources, "orders", 1)

    async def broken(*args: object) -> None:
        raise RuntimeError("secret internal detail")

    # A nested field (order.customer) fails while the event is executed.
    monkeypatch.setattr(order_schema, "_load_user", broken)
    await place(resources, customer, pid)

    result = await sub.next()
    assert result is not None
    assert result.errors
    error = result.errors[0]
    assert error.message == "Unexpected error."
    assert error.extensions["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret" not in str(error.formatted)
    assert result.data["orderPlaced"]["customer"] is None  # the rest of the event arrives
    await sub.close()

"""Subscriptions at the schema level (no socket): who receives what, fresh re-reads per event,
per-event sharing of re-reads, liveness, coalescing. Events come from the real services."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.loaders.orders import OrderByIdLoader
from alawael.records.notifications import NotificationType
from alawael.records.orders import OrderStatus
from alawael.schema.build import exported_schema
from alawael.schema.node import to_global_id
from alawael.services import flags, notifications, orders, products
from tests.conftest import make_settings
from tests.support.graphql import make_user
from tests.support.schema_subscriptions import Sub, listening, place, product

schema = exported_schema()

ORDER_PLACED = "subscription { orderPlaced { id number status total customer { email } } }"
ORDER_UPDATED = """
subscription ($orderId: ID) { orderUpdated(orderId: $orderId) { id number status } }
"""
NOTIFICATIONS = "subscription { notificationReceived { id title } }"
STOCK = "subscription ($p: ID) { productStockChanged(productId: $p) { id sku stock } }"
FLAGS = """
subscription { featureFlagChanged { key deleted enabled definition { key rolloutPercentage } } }
"""
TICKER = "subscription { salesTicker { revenue orderCount averageOrderValue } }"


async def test_staff_receive_placed_orders_with_nested_relations(resources: Resources) -> None:
    staff = await make_user(resources, Role.STAFF)
    alice = await make_user(resources, Role.CUSTOMER, email="alice@example.com")
    pid = await product(resources)
    sub = Sub(resources, ORDER_PLACED, staff)
    await listening(resources, "orders", 1)

    oid = await place(resources, alice, pid, 2)

    data = (await sub.data())["orderPlaced"]
    assert data["id"] == to_global_id("Order", oid)
    assert data["status"] == "PENDING"
    assert data["total"] == "25.00"
    assert data["customer"] == {"email": "alice@example.com"}
    await sub.close()


async def test_order_placed_needs_staff(resources: Resources) -> None:
    customer = await make_user(resources, Role.CUSTOMER)
    result = await Sub(resources, ORDER_PLACED, customer).next()
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
    anonymous = await Sub(resources, ORDER_PLACED, None).next()
    assert anonymous.errors[0].extensions["code"] == "UNAUTHENTICATED"


async def test_customers_see_only_their_own_order_updates(resources: Resources) -> None:
    staff = await make_user(resources, Role.STAFF)
    alice = await make_user(resources, Role.CUSTOMER)
    bob = await make_user(resources, Role.CUSTOMER)
    pid = await product(resources)
    a_order = await place(resources, alice, pid)
    b_order = await place(resources, bob, pid)
    subs = {
        who: Sub(resources, ORDER_UPDATED, actor)
        for who, actor in (("alice", alice), ("bob", bob), ("staff", staff))
    }
    await listening(resources, "orders", 3)

    await orders.update_order_status(resources, staff, a_order, OrderStatus.CONFIRMED)
    assert (await subs["alice"].data())["orderUpdated"]["status"] == "CONFIRMED"
    assert (await subs["staff"].data())["orderUpdated"]["id"] == to_global_id("Order", a_order)
    await subs["bob"].nothing()

    await orders.update_order_status(resources, staff, b_order, OrderStatus.CONFIRMED)
    assert (await subs["bob"].data())["orderUpdated"]["id"] == to_global_id("Order", b_order)
    assert (await subs["staff"].data())["orderUpdated"]["id"] == to_global_id("Order", b_order)
    await subs["alice"].nothing()
    for sub in subs.values():
        await sub.close()


async def test_each_event_is_re_read_fresh(resources: Resources) -> None:
    """Loaders are per event: the second update must not be served from the first's cache."""
    staff = await make_user(resources, Role.STAFF)
    alice = await make_user(resources, Role.CUSTOMER)
    oid = await place(resources, alice, await product(resources))
    sub = Sub(resources, ORDER_UPDATED, staff, {"orderId": to_global_id("Order", oid)})
    await listening(resources, "orders", 1)

    await orders.update_order_status(resources, staff, oid, OrderStatus.CONFIRMED)
    await orders.update_order_status(resources, staff, oid, OrderStatus.SHIPPED)
    assert (await sub.data())["orderUpdated"]["status"] == "CONFIRMED"
    assert (await sub.data())["orderUpdated"]["status"] == "SHIPPED"
    await sub.close()


async def test_subscribing_to_someone_elses_order_is_not_found(resources: Resources) -> None:
    alice = await make_user(resources, Role.CUSTOMER)
    bob = await make_user(resources, Role.CUSTOMER)
    oid = await place(resources, alice, await product(resources))
    result = await Sub(
        resources, ORDER_UPDATED, bob, {"orderId": to_global_id("Order", oid)}
    ).next()
    assert result.errors[0].extensions["code"] == "NOT_FOUND"


async def test_one_re_read_per_event_for_many_staff(
    resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """50 staff dashboards share one scope: one order read per event, not 50."""
    batches: list[int] = []
    original = OrderByIdLoader.batch_load_fn

    async def counting(self: OrderByIdLoader, keys: Any) -> Any:
        batches.append(len(keys))
        return await original(self, keys)

    monkeypatch.setattr(OrderByIdLoader, "batch_load_fn", counting)
    staff = [await make_user(resources, Role.STAFF) for _ in range(50)]
    alice = await make_user(resources, Role.CUSTOMER)
    pid = await product(resources)
    subs = [Sub(resources, ORDER_PLACED, actor) for actor in staff]
    await listening(resources, "orders", 50)

    await place(resources, alice, pid)
    numbers = {(await sub.data())["orderPlaced"]["number"] for sub in subs}
    assert len(numbers) == 1
    assert batches == [1]
    for sub in subs:
        await sub.close()


async def test_deactivated_user_stops_receiving(resources: Resources) -> None:
    staff = await make_user(resources, Role.STAFF)
    alice = await make_user(resources, Role.CUSTOMER)
    pid = await product(resources)
    sub = Sub(resources, ORDER_PLACED, staff)
    await listening(resources, "orders", 1)
    await place(resources, alice, pid)
    await sub.data()

    await resources.db.users.update_one(
        {"_id": ObjectId(staff.user_id)}, {"$set": {"active": False}}
    )
    await place(resources, alice, pid)
    ended = await sub.next()
    assert ended.errors[0].extensions["code"] == "UNAUTHENTICATED"
    assert await sub.next() is None  # completed


async def test_notifications_reach_only_their_owner(resources: Resources) -> None:
    alice = await make_user(resources, Role.CUSTOMER)
    bob = await make_user(resources, Role.CUSTOMER)
    a_sub, b_sub = Sub(resources, NOTIFICATIONS, alice), Sub(resources, NOTIFICATIONS, bob)
    await listening(resources, "notifications", 2)

    docs = await notifications.notify(
        resources,
        [ObjectId(alice.user_id)],
        type=NotificationType.ORDER_STATUS,
        title="Shipped",
        body="",
        data={},
    )
    got = (await a_sub.data())["notificationReceived"]
    assert got == {"id": to_global_id("Notification", docs[0].id), "title": "Shipped"}
    await b_sub.nothing()
    await a_sub.close()
    await b_sub.close()


async def test_stock_changes_for_one_product(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    watched, other = await product(resources, stock=5), await product(resources, stock=5)
    sub = Sub(resources, STOCK, None, {"p": to_global_id("Product", watched)})
    await listening(resources, "stock", 1)

    await products.adjust_stock(resources, manager, other, 3, "delivery")
    await products.adjust_stock(resources, manager, watched, -2, "damaged")
    got = (await sub.data())["productStockChanged"]
    assert got["id"] == to_global_id("Product", watched)
    assert got["stock"] == 3
    await sub.nothing(0.1)
    await sub.close()


async def test_flag_changes_evaluated_per_user_definition_for_admins(resources: Resources) -> None:
    admin = await make_user(resources, Role.ADMIN)
    customer = await make_user(resources, Role.CUSTOMER)
    a_sub, c_sub = Sub(resources, FLAGS, admin), Sub(resources, FLAGS, customer)
    anonymous = await Sub(resources, FLAGS, None).next()
    assert anonymous.errors[0].extensions["code"] == "UNAUTHENTICATED"
    await listening(resources, "flags", 2)

    data = flags.FlagInput(
        key="new-checkout",
        description="",
        enabled=True,
        rollout_percentage=100,
        allowed_roles=[Role.ADMIN],
    )
    await flags.set_feature_flag(resources, admin, data)
    a_got = (await a_sub.data())["featureFlagChanged"]
    c_got = (await c_sub.data())["featureFlagChanged"]
    assert a_got == {
        "key": "new-checkout",
        "deleted": False,
        "enabled": True,
        "definition": {"key": "new-checkout", "rolloutPercentage": 100},
    }
    assert c_got == {"key": "new-checkout", "deleted": False, "enabled": False, "definition": None}

    await flags.delete_feature_flag(resources, admin, "new-checkout")
    assert (await c_sub.data())["featureFlagChanged"]["deleted"] is True
    await a_sub.close()
    await c_sub.close()


async def test_sales_ticker_now_then_coalesced(mongo_uri: str) -> None:
    from alawael.server import open_resources

    settings = make_settings(mongo_uri, sales_ticker_min_interval_seconds=0.3)
    async with open_resources(settings) as res:
        manager = await make_user(res, Role.MANAGER)
        alice = await make_user(res, Role.CUSTOMER)
        staff = await make_user(res, Role.STAFF)
        denied = await Sub(res, TICKER, staff).next()
        assert denied.errors[0].extensions["code"] == "FORBIDDEN"
        pid = await product(res, price=1000)
        await place(res, alice, pid)
        sub = Sub(res, TICKER, manager)
        assert (await sub.data())["salesTicker"] == {
            "revenue": "10.00",
            "orderCount": 1,
            "averageOrderValue": "10.00",
        }
        await listening(res, "orders", 1)
        # A burst of three orders: one update that includes all of them (perhaps preceded
        # by one for the first), never three.
        for _ in range(3):
            await place(res, alice, pid)
        updates = [(await sub.data())["salesTicker"]]
        while updates[-1]["orderCount"] != 4:
            updates.append((await sub.data())["salesTicker"])
        assert len(updates) <= 2
        assert updates[-1]["revenue"] == "40.00"
        await sub.nothing(0.5)
        await sub.close()
        await res.client.drop_database(settings.mongodb_db)


async def test_overflow_without_a_socket_ends_the_subscription(mongo_uri: str) -> None:
    from alawael.server import open_resources

    settings = make_settings(mongo_uri, subscriber_queue_size=3)
    async with open_resources(settings) as res:
        staff = await make_user(res, Role.STAFF)
        sub = Sub(res, ORDER_PLACED, staff)
        await listening(res, "orders", 1)
        for _ in range(10):  # one tick: the subscriber cannot drain in between
            await res.events.publish("orders", {"type": "ORDER_PLACED", "orderId": str(ObjectId())})
        result = await sub.next()
        assert result.errors[0].extensions["code"] == "SERVICE_UNAVAILABLE"
        assert res.events.fanout.subscriber_count("orders") == 0  # type: ignore[attr-defined]
        await sub.close()
        await res.client.drop_database(settings.mongodb_db)

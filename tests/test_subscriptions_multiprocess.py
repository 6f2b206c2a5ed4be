"""Two server processes share one Redis: a subscriber on A receives what a mutation on B
caused, within a second, and only what its user may see."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from bson import ObjectId

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.server import open_resources
from alawael.services import products
from tests.conftest import make_settings
from tests.support.polling import eventually
from tests.support.processes import ServerProcess
from tests.support.rest import SETUP_MANAGER
from tests.support.subscriptions import open_ws, recv, subscribe, token_for

PLACE = """
mutation ($pid: ID!) {
  placeOrder(input: {items: [{productId: $pid, quantity: 1}]}) { order { id } errors { code } }
}
"""
UPDATE = """
mutation ($id: ID!) { updateOrderStatus(id: $id, status: CONFIRMED) { order { id status } } }
"""
ORDER_PLACED = "subscription { orderPlaced { id number } }"
ORDER_UPDATED = "subscription { orderUpdated { id status } }"


def gql(url: str, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    return body["data"]


def active_subscriptions(url: str, at_least: int) -> bool:
    """Whether the server at `url` reports `at_least` active subscriptions in /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    total = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("alawael_subscriptions_active")
    )
    return total >= at_least


async def seed(res: Resources) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, role in (("staff", Role.STAFF), ("alice", Role.CUSTOMER), ("bob", Role.CUSTOMER)):
        out[name], _ = await token_for(res, role)
    doc = await products.create_product(
        res,
        SETUP_MANAGER,
        products.ProductData(
            sku=f"MP-{ObjectId()}",
            name="Lamp",
            description="",
            category="home",
            price_cents=500,
            currency="SAR",
            stock=50,
            low_stock_threshold=0,
        ),
    )
    from alawael.schema.node import to_global_id

    out["pid"] = to_global_id("Product", doc.id)
    return out


@pytest.mark.slow
async def test_events_cross_processes_through_redis(
    mongo_uri: str, redis_url: str, tmp_path: Path
) -> None:
    db = f"t_{uuid.uuid4().hex[:12]}"
    env = {
        "MONGODB_URI": mongo_uri,
        "MONGODB_DB": db,
        "REDIS_URL": redis_url,
        "EVENTS_CHANNEL_PREFIX": f"mp{uuid.uuid4().hex[:8]}:",
        "JOBS_ENABLED": "false",
        "ANALYTICS_ENABLED": "false",
        "RATE_LIMIT_ENABLED": "false",
    }
    settings = make_settings(mongo_uri, mongodb_db=db)
    async with open_resources(settings) as res:
        ids = await seed(res)
        a = ServerProcess(env, log_path=tmp_path / "a.log")
        b = ServerProcess(env, log_path=tmp_path / "b.log")
        await asyncio.gather(asyncio.to_thread(a.start), asyncio.to_thread(b.start))
        try:
            ws_url = a.url.replace("http", "ws") + "/graphql"
            staff = await open_ws(ws_url, ids["staff"])
            alice = await open_ws(ws_url, ids["alice"])
            bob = await open_ws(ws_url, ids["bob"])
            for ws in (staff, alice, bob):
                assert (await recv(ws))["type"] == "connection_ack"
            await subscribe(staff, ORDER_PLACED, "placed")
            await subscribe(staff, ORDER_UPDATED, "updated")
            await subscribe(alice, ORDER_UPDATED)
            await subscribe(bob, ORDER_UPDATED)
            # Publishing before A registered the subscriptions would lose the events.
            await eventually(
                lambda: asyncio.to_thread(active_subscriptions, a.url, 4),
                what="4 subscriptions active on A",
            )

            # Delivery latency is measured by `make bench` (fan-out); tests only bound it
            # loosely, so a loaded CI machine cannot make them flaky.
            placed = await asyncio.to_thread(gql, b.url, PLACE, {"pid": ids["pid"]}, ids["alice"])
            order_id = placed["placeOrder"]["order"]["id"]
            message = await recv(staff, wait=10.0, skip=("ping",))
            assert message["id"] == "placed"
            assert message["payload"]["data"]["orderPlaced"]["id"] == order_id

            await asyncio.to_thread(gql, b.url, UPDATE, {"id": order_id}, ids["staff"])
            for ws in (alice, staff):
                got = await recv(ws, wait=10.0, skip=("ping",))
                assert got["payload"]["data"]["orderUpdated"] == {
                    "id": order_id,
                    "status": "CONFIRMED",
                }
            with pytest.raises(TimeoutError):
                await recv(bob, wait=0.5, skip=("ping",))  # not Bob's order
            for ws in (staff, alice, bob):
                await ws.close()
        finally:
            await asyncio.gather(asyncio.to_thread(a.stop), asyncio.to_thread(b.stop))
            await res.client.drop_database(db)

"""Redis stopped in the middle of a mixed load (cached reads, orders, a live subscription),
then restarted on the same port.

Unit-level pieces are covered elsewhere (tests/test_cache_redis.py: the cache's fallback;
tests/test_protect_ratelimit.py: fail open/closed; tests/test_events.py: the hub's
reconnect). This is the whole worker at once: nothing fails for clients while Redis is
away, the rate limiter fails open (no budget headers, no 429/503), reads are fresh, and
once Redis is back a subscriber on this worker receives an order placed on *another*
worker, which can only reach it through Redis: the hub re-subscribed by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from alawael.auth.permissions import Role
from alawael.context import Context, Resources
from alawael.schema.build import exported_schema
from alawael.schema.node import from_global_id
from alawael.server import create_app, open_resources
from alawael.services import orders
from tests.conftest import make_settings
from tests.reliability.support import (
    PLACE_ORDER,
    User,
    check_invariants,
    gql,
    make_product,
    make_token_user,
    order_input,
)
from tests.support.redis_server import RedisServer

schema = exported_schema()

BY_SKU = "query($sku: String!) { productBySku(sku: $sku) { id stock } }"
PRODUCTS = "query { products(first: 10) { totalCount edges { node { sku stock } } } }"
SUBSCRIPTION = "subscription { orderPlaced { id number } }"


async def _round(
    client: httpx.AsyncClient, buyers: list[User], pid: Any, n: int
) -> list[httpx.Response]:
    """n x (cached read, list read, order) at once, as several users."""
    calls = []
    for i in range(n):
        user = buyers[i % len(buyers)]
        calls.append(gql(client, BY_SKU, {"sku": "REDIS-1"}, user=user))
        calls.append(gql(client, PRODUCTS, user=user))
        calls.append(gql(client, PLACE_ORDER, order_input([(pid, 1)]), user=user))
    responses = await asyncio.gather(*calls)
    for r in responses:
        assert r.status_code == 200, r.text
        body = r.json()
        assert "errors" not in body, body
        if "placeOrder" in body["data"]:
            assert body["data"]["placeOrder"]["errors"] == []
    return list(responses)


@contextlib.asynccontextmanager
async def _subscribed(res: Resources, user: User) -> AsyncIterator[asyncio.Queue[str]]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    stream = await schema.subscribe(
        SUBSCRIPTION, context_value=Context(resources=res, user=user.actor)
    )
    assert isinstance(stream, AsyncIterator)

    async def consume() -> None:
        async for result in stream:
            assert not result.errors, result.errors
            assert result.data is not None
            queue.put_nowait(result.data["orderPlaced"]["id"])

    task = asyncio.create_task(consume())
    fan = res.events.fanout  # type: ignore[attr-defined]
    while fan.subscriber_count("orders") < 1:  # noqa: ASYNC110 - the hub has no such event
        await asyncio.sleep(0.01)
    try:
        yield queue
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _drain(queue: asyncio.Queue[str], count: int) -> set[str]:
    got = set()
    for _ in range(count):
        got.add(await asyncio.wait_for(queue.get(), 10))
    return got


@pytest.mark.slow
async def test_redis_outage_mid_load_keeps_serving_and_the_hub_comes_back(
    mongo_uri: str, tmp_path: Path
) -> None:
    redis = RedisServer(tmp_path)
    await asyncio.to_thread(redis.start)
    common = {
        "redis_url": f"{redis.url}/0",
        "events_channel_prefix": f"rel{uuid.uuid4().hex[:6]}:",
        "cache_redis_retry_seconds": 0.2,
    }
    settings = make_settings(
        mongo_uri,
        rate_limit_enabled=True,
        rate_limit_default="100000/minute",
        rate_limit_user="100000/minute",
        **common,
    )
    # A second worker on the same database and Redis (no HTTP needed: it places orders).
    other = make_settings(mongo_uri, mongodb_db=settings.mongodb_db, **common)
    app = create_app(settings)
    try:
        async with (
            app.router.lifespan_context(app),
            open_resources(other) as res_b,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            ) as client,
        ):
            res: Resources = app.state.resources
            for r in (res, res_b):
                await asyncio.wait_for(r.events.wait_connected(), 10)  # type: ignore[attr-defined]
            pid = await make_product(res, "REDIS-1", 1000)
            buyers = [await make_token_user(res) for _ in range(5)]
            staff = await make_token_user(res, Role.STAFF)
            async with _subscribed(res, staff) as events:
                # 1. Redis up: budget headers present, events flow.
                up = await _round(client, buyers, pid, 8)
                assert all("ratelimit-limit" in r.headers for r in up)
                assert len(await _drain(events, 8)) == 8

                # 2. Redis gone mid-load.
                await asyncio.to_thread(redis.stop)
                down = await _round(client, buyers, pid, 16)
                assert not any("ratelimit-limit" in r.headers for r in down[-6:])
                stock = (await gql(client, BY_SKU, {"sku": "REDIS-1"})).json()
                assert stock["data"]["productBySku"]["stock"] == 1000 - 24  # fresh, not cached
                # This worker's own events still reach its subscribers.
                assert len(await _drain(events, 16)) == 16

                # 3. Redis back on the same port: the hubs re-subscribe by themselves and
                # an order placed on the other worker reaches this worker's subscriber.
                restarted = RedisServer(tmp_path, port=redis.port)
                await asyncio.to_thread(restarted.start)
                try:
                    for r in (res, res_b):
                        await asyncio.wait_for(r.events.wait_connected(), 15)  # type: ignore[attr-defined]
                    buyer = buyers[0].actor
                    placed = await orders.place_order(res_b, buyer, [orders.OrderLine(pid, 2)])
                    (got,) = await _drain(events, 1)
                    assert from_global_id(got, "Order") == placed.id
                    await _round(client, buyers, pid, 4)
                    assert len(await _drain(events, 4)) == 4
                finally:
                    await asyncio.to_thread(restarted.stop)
            checked = await check_invariants(res, initial_stock={pid: 1000})
            assert checked.problems == []
            assert checked.orders == 8 + 16 + 1 + 4
    finally:
        redis.stop()

"""500 buyers, 100 in stock, two server processes on one database: exactly 100 orders.

Each process has its own in-process stock locks, so the two really race in MongoDB: the
transaction's conditional `$inc` and `with_transaction`'s retries are what keep the count.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest

from alawael.config import Settings
from alawael.context import Resources
from tests.reliability.support import (
    PLACE_ORDER,
    check_invariants,
    gql,
    make_product,
    make_token_user,
    order_input,
    server_env,
    start_servers,
)

BUYERS = 500
STOCK = 100
USERS = 50


@pytest.mark.slow
async def test_500_buyers_over_two_processes_get_exactly_the_stock(
    resources: Resources, settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    pid = await make_product(resources, "RACE-1", STOCK)
    users = [await make_token_user(resources) for _ in range(USERS)]
    env = server_env(settings, redis_url)
    servers = await start_servers([env, env], tmp_path)
    try:
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        clients = [httpx.AsyncClient(base_url=s.url, limits=limits, timeout=120) for s in servers]
        try:
            responses = await asyncio.gather(
                *(
                    gql(
                        clients[i % 2],
                        PLACE_ORDER,
                        order_input([(pid, 1)]),
                        user=users[i % USERS],
                    )
                    for i in range(BUYERS)
                )
            )
        finally:
            for c in clients:
                await c.aclose()
    finally:
        for s in servers:
            s.stop()

    assert [r.status_code for r in responses] == [200] * BUYERS
    outcomes: Counter[str] = Counter()
    acked: set[str] = set()
    for r in responses:
        body = r.json()
        assert "errors" not in body, body
        payload = body["data"]["placeOrder"]
        if payload["order"] is not None:
            outcomes["ok"] += 1
            acked.add(payload["order"]["id"])
        else:
            outcomes[payload["errors"][0]["code"]] += 1
    assert outcomes == {"ok": STOCK, "INSUFFICIENT_STOCK": BUYERS - STOCK}
    assert len(acked) == STOCK

    db = resources.db
    assert await db.orders.count_documents({}) == STOCK
    product = await db.products.find_one({"_id": pid})
    assert product is not None
    assert product["stock"] == 0
    assert await db.audit_trail.count_documents({"action": "placeOrder"}) == STOCK
    checked = await check_invariants(resources, initial_stock={pid: STOCK})
    assert checked.problems == []
    numbers = [o["number"] async for o in db.orders.find({}, {"number": 1})]
    assert len(set(numbers)) == STOCK

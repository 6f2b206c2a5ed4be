"""Event hubs: local fan-out with bounded queues, per-event memo, Redis fan-out across hubs,
and the Redis hub's own reconnect loop."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from redis.asyncio import Redis

from alawael.infra.events import MemoryEventHub
from alawael.infra.events_redis import RedisEventHub
from alawael.infra.fanout import Delivery, SlowConsumer
from tests.conftest import make_settings
from tests.support.redis_server import RedisServer


async def test_memory_hub_fans_out_one_shared_delivery() -> None:
    hub = MemoryEventHub(queue_size=10)
    async with hub.listen(["orders"]) as a, hub.listen(["orders", "stock"]) as b:
        await hub.publish("orders", {"orderId": "1"})
        await hub.publish("flags", {"key": "x"})  # nobody listens: dropped
        da, db = await a.get(), await b.get()
        assert da is db  # one Delivery per event, shared by every local subscriber
        assert da.event == {"orderId": "1"}
        assert len(a) == len(b) == 0
    assert hub.fanout.subscriber_count() == 0


async def test_memo_computes_once_per_key_even_if_a_waiter_is_cancelled() -> None:
    delivery = Delivery("orders", {})
    calls = 0
    gate = asyncio.Event()

    async def compute() -> int:
        nonlocal calls
        calls += 1
        await gate.wait()
        return 42

    first = asyncio.create_task(delivery.memo("k", compute))
    second = asyncio.create_task(delivery.memo("k", compute))
    await asyncio.sleep(0)
    first.cancel()  # the subscriber that started it disconnects
    gate.set()
    assert await second == 42
    assert await delivery.memo("k", compute) == 42
    assert await delivery.memo("other", compute) == 42
    assert calls == 2


async def test_overflow_drops_the_subscriber_and_calls_back() -> None:
    hub = MemoryEventHub(queue_size=3)
    dropped: list[bool] = []
    async with hub.listen(["orders"], on_overflow=lambda: dropped.append(True)) as sub:
        for i in range(10):
            await hub.publish("orders", {"n": i})
        assert dropped == [True]  # called once
        assert len(sub) == 0  # memory released at once
        assert hub.fanout.subscriber_count("orders") == 0
        with pytest.raises(SlowConsumer):
            await sub.get()


async def test_legacy_subscribe_yields_event_dicts() -> None:
    hub = MemoryEventHub()
    async with hub.subscribe("stock") as events:
        await hub.publish("stock", {"productId": "p", "stock": 1})
        assert await anext(events) == {"productId": "p", "stock": 1}


async def test_redis_hubs_share_events_across_workers(redis_url: str, mongo_uri: str) -> None:
    settings = make_settings(mongo_uri, events_channel_prefix=f"t{uuid.uuid4().hex[:8]}:")
    clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    hubs = [RedisEventHub(c, settings) for c in clients]
    try:
        for hub in hubs:
            await hub.start()
            await asyncio.wait_for(hub.wait_connected(), 5)
        async with hubs[0].listen(["orders"]) as here, hubs[1].listen(["orders"]) as there:
            await hubs[1].publish("orders", {"orderId": "abc"})
            assert (await asyncio.wait_for(here.get(), 2)).event == {"orderId": "abc"}
            assert (await asyncio.wait_for(there.get(), 2)).event == {"orderId": "abc"}
            assert await hubs[0].ping() == "ok"
    finally:
        for hub in hubs:
            await hub.close()
        for c in clients:
            await c.aclose()


async def test_redis_hub_reconnects_and_the_same_subscriber_keeps_receiving(
    tmp_path: Path, mongo_uri: str
) -> None:
    server = RedisServer(tmp_path)
    server.start()
    settings = make_settings(mongo_uri)
    client = Redis.from_url(server.url, socket_timeout=2, socket_connect_timeout=2)
    hub = RedisEventHub(client, settings)
    await hub.start()
    try:
        await asyncio.wait_for(hub.wait_connected(), 5)
        async with hub.listen(["orders"]) as sub:
            await hub.publish("orders", {"n": 1})
            assert (await asyncio.wait_for(sub.get(), 2)).event == {"n": 1}

            await asyncio.to_thread(server.stop)
            for _ in range(200):  # the reader notices the closed connection
                if not hub.connected.is_set():
                    break
                await asyncio.sleep(0.02)
            assert not hub.connected.is_set()
            assert await hub.ping() != "ok"
            # Redis is down: the publish doesn't fail the caller, local subscribers get it.
            await hub.publish("orders", {"n": 2})
            assert (await asyncio.wait_for(sub.get(), 1)).event == {"n": 2}

            restarted = RedisServer(tmp_path, port=server.port)
            await asyncio.to_thread(restarted.start)
            try:
                await asyncio.wait_for(hub.wait_connected(), 10)
                assert hub.reconnects == 1
                other = Redis.from_url(server.url)
                await other.publish(settings.events_channel_prefix + "orders", b'{"n": 3}')
                await other.aclose()
                assert (await asyncio.wait_for(sub.get(), 2)).event == {"n": 3}
            finally:
                await asyncio.to_thread(restarted.stop)
    finally:
        await hub.close()
        await client.aclose()


class _CancellationSwallowingPubSub:
    """What redis-py's PubSub does when a cancellation lands as get_message's own timeout
    expires (Python 3.11's asyncio.timeout race): the cancellation comes back as a timeout,
    and the timeout as None."""

    def __init__(self) -> None:
        self.reading = asyncio.Event()

    async def get_message(self, **_: object) -> None:
        self.reading.set()
        try:
            await asyncio.sleep(0.02)
        except asyncio.CancelledError:
            return None
        return None

    async def ping(self) -> None:
        return None


async def test_the_listener_stops_even_when_redis_py_swallows_the_cancellation(
    mongo_uri: str, redis_url: str
) -> None:
    """A short CLI command with REDIS_URL set sometimes hung at exit in the listener's read
    loop: close() waited for a task whose cancellation had been swallowed."""
    client = Redis.from_url(redis_url)
    hub = RedisEventHub(client, make_settings(mongo_uri))
    pubsub = _CancellationSwallowingPubSub()
    task = asyncio.create_task(hub._read(pubsub))  # type: ignore[arg-type]
    await asyncio.wait_for(pubsub.reading.wait(), 5)  # the listener is inside its read loop
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done
    assert task.cancelled()
    await client.aclose()

"""The Redis resolver cache: hits, misses, TTL, generations across instances, per-user keys,
stampede control, and riding out a Redis outage."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_sync
from redis.asyncio import Redis

from alawael.config import Settings
from alawael.context import Resources
from alawael.infra.cache import MemoryCache, NullCache
from alawael.infra.cache_redis import RedisCache
from alawael.server import create_app
from tests.conftest import make_settings
from tests.support.redis_server import RedisServer


class Counter:
    """A compute function that counts its calls and returns the call number."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return {"n": self.calls}


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """A Redis db of this module's own: these tests count computes exactly, and a parallel
    run flushing the shared test db would break a count without any bug here."""
    url = f"{redis_server_url}/11"
    redis_sync.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def cache(redis_client: Redis, settings: Settings) -> RedisCache:
    return RedisCache(redis_client, settings)


async def test_miss_then_hit_and_stats(cache: RedisCache) -> None:
    compute = Counter()
    first = await cache.get_or_compute(
        "products", ["p1"], scopes=["products"], ttl=30, compute=compute
    )
    second = await cache.get_or_compute(
        "products", ["p1"], scopes=["products"], ttl=30, compute=compute
    )
    assert first == second == {"n": 1}
    assert compute.calls == 1
    assert cache.stats.snapshot()["products"] == {"hit": 1, "miss": 1, "error": 0}
    assert cache.stats.hit_ratio("products") == 0.5


async def test_values_round_trip_as_bson(cache: RedisCache) -> None:
    from datetime import UTC, datetime

    from bson import ObjectId

    doc = {"_id": ObjectId(), "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "items": [1, 2]}

    async def compute() -> list[dict[str, Any]]:
        return [doc]

    await cache.get_or_compute("docs", [], scopes=[], ttl=30, compute=compute)
    again = await cache.get_or_compute("docs", [], scopes=[], ttl=30, compute=compute)
    assert again == [doc]


async def test_ttl_expiry(cache: RedisCache) -> None:
    compute = Counter()
    await cache.get_or_compute("short", [], scopes=[], ttl=1, compute=compute)
    await cache.get_or_compute("short", [], scopes=[], ttl=1, compute=compute)
    assert compute.calls == 1
    await asyncio.sleep(1.05)
    await cache.get_or_compute("short", [], scopes=[], ttl=1, compute=compute)
    assert compute.calls == 2


async def test_bump_invalidates_only_readers_of_that_scope(cache: RedisCache) -> None:
    products, users = Counter(), Counter()
    for _ in range(2):
        await cache.get_or_compute("p", [], scopes=["products"], ttl=30, compute=products)
        await cache.get_or_compute("u", [], scopes=["users"], ttl=30, compute=users)
    await cache.bump("products")
    await cache.get_or_compute("p", [], scopes=["products"], ttl=30, compute=products)
    await cache.get_or_compute("u", [], scopes=["users"], ttl=30, compute=users)
    assert (products.calls, users.calls) == (2, 1)


async def test_generation_survives_a_lost_counter(cache: RedisCache, redis_client: Redis) -> None:
    """If a generation key is lost (eviction, FLUSHDB), the next bump still lands on a number
    no earlier value used, so old values cannot come back."""
    compute = Counter()
    await cache.bump("products")
    await cache.get_or_compute("p", [], scopes=["products"], ttl=30, compute=compute)
    gen_before = int(await redis_client.get("cache:gen:products"))
    await redis_client.delete("cache:gen:products")
    await cache.bump("products")
    assert int(await redis_client.get("cache:gen:products")) > gen_before


async def test_per_user_keys_never_leak(cache: RedisCache) -> None:
    """A private result is keyed by its owner: user Y never gets what X computed."""

    async def orders_of(user: str) -> Any:
        async def compute() -> list[str]:
            return [f"order-of-{user}"]

        return await cache.get_or_compute(
            "myOrders", [user], scopes=["orders"], ttl=30, compute=compute
        )

    assert await orders_of("x") == ["order-of-x"]
    assert await orders_of("y") == ["order-of-y"]
    assert await orders_of("x") == ["order-of-x"]


async def test_stampede_computes_once_per_key(cache: RedisCache) -> None:
    compute = Counter(delay=0.05)
    results = await asyncio.gather(
        *(
            cache.get_or_compute("hot", ["k"], scopes=["products"], ttl=30, compute=compute)
            for _ in range(50)
        )
    )
    assert compute.calls == 1
    assert all(r == {"n": 1} for r in results)


async def test_stampede_across_workers_waits_for_the_lock_holder(
    redis_url: str, settings: Settings
) -> None:
    """Two workers (separate clients, no shared memory): the Redis lock lets one compute."""
    clients = [Redis.from_url(redis_url) for _ in range(2)]
    try:
        caches = [RedisCache(c, settings) for c in clients]
        compute = Counter(delay=0.1)
        results = await asyncio.gather(
            *(
                caches[i % 2].get_or_compute("hot", [], scopes=["x"], ttl=30, compute=compute)
                for i in range(40)
            )
        )
        assert compute.calls == 1
        assert {r["n"] for r in results} == {1}
    finally:
        for c in clients:
            await c.aclose()


async def test_failed_compute_releases_the_lock(cache: RedisCache) -> None:
    calls = itertools.count(1)

    async def flaky() -> int:
        if next(calls) == 1:
            raise RuntimeError("boom")
        return 7

    with pytest.raises(RuntimeError):
        await cache.get_or_compute("flaky", [], scopes=[], ttl=30, compute=flaky)
    assert await cache.get_or_compute("flaky", [], scopes=[], ttl=30, compute=flaky) == 7


async def test_write_on_one_instance_is_seen_by_the_other(mongo_uri: str, redis_url: str) -> None:
    """Two app instances share MongoDB and Redis: B caches, A writes and bumps, B re-reads."""
    db_name = "t_cache_two_instances"
    a = create_app(make_settings(mongo_uri, mongodb_db=db_name, redis_url=redis_url))
    b = create_app(make_settings(mongo_uri, mongodb_db=db_name, redis_url=redis_url))
    async with a.router.lifespan_context(a), b.router.lifespan_context(b):
        res_a: Resources = a.state.resources
        res_b: Resources = b.state.resources
        try:
            await res_a.db.products.insert_one({"_id": "p1", "name": "Old"})

            async def read_name() -> Any:
                async def compute() -> Any:
                    doc = await res_b.db.products.find_one({"_id": "p1"})
                    return doc["name"] if doc else None

                return await res_b.cache.get_or_compute(
                    "productName", ["p1"], scopes=["product:p1"], ttl=30, compute=compute
                )

            assert await read_name() == "Old"
            assert await read_name() == "Old"  # cached on B
            await res_a.db.products.update_one({"_id": "p1"}, {"$set": {"name": "New"}})
            await res_a.cache.bump("products", "product:p1")
            assert await read_name() == "New"
            assert res_b.cache.stats.snapshot()["productName"] == {"hit": 1, "miss": 2, "error": 0}
        finally:
            await res_a.client.drop_database(db_name)


@pytest.mark.slow
async def test_redis_outage_falls_back_to_mongo_and_recovers(
    mongo_uri: str, tmp_path: Path
) -> None:
    server = RedisServer(tmp_path)
    server.start()
    settings = make_settings(mongo_uri, redis_url=server.url, cache_redis_retry_seconds=0.2)
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            res: Resources = app.state.resources
            await res.db.products.insert_one({"_id": "p1", "name": "Lamp"})
            mongo_reads = 0

            async def compute() -> Any:
                nonlocal mongo_reads
                mongo_reads += 1
                doc = await res.db.products.find_one({"_id": "p1"})
                return doc["name"] if doc else None

            async def read() -> Any:
                return await res.cache.get_or_compute(
                    "name", ["p1"], scopes=["products"], ttl=30, compute=compute
                )

            assert await read() == "Lamp"
            assert await read() == "Lamp"
            assert (mongo_reads, res.cache.stats.total("hit")) == (1, 1)

            server.stop()
            assert await read() == "Lamp"  # from MongoDB, no error for the caller
            assert await read() == "Lamp"  # breaker open: Redis not even tried
            await res.cache.bump("products")  # a write while Redis is down: never raises
            assert res.cache.stats.total("error") >= 2
            assert mongo_reads == 3
            assert "error" in await res.cache.ping()

            server.start()  # same port
            await asyncio.sleep(0.25)  # let the breaker close
            assert await read() == "Lamp"  # miss (the restarted Redis is empty)
            hits_before = res.cache.stats.total("hit")
            assert await read() == "Lamp"
            assert res.cache.stats.total("hit") == hits_before + 1
            assert await res.cache.ping() == "ok"
            await res.client.drop_database(settings.mongodb_db)
    finally:
        server.stop()


async def test_memory_and_null_caches_count_too() -> None:
    memory, null = MemoryCache(), NullCache()
    compute = Counter()
    for c in (memory, null):
        await c.get_or_compute("n", [], scopes=[], ttl=30, compute=compute)
        await c.get_or_compute("n", [], scopes=[], ttl=30, compute=compute)
    assert memory.stats.snapshot()["n"] == {"hit": 1, "miss": 1, "error": 0}
    assert null.stats.snapshot()["n"] == {"hit": 0, "miss": 2, "error": 0}
    assert compute.calls == 3


async def test_memory_cache_drops_dead_generations_by_age(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each write bumps a generation, so a cached read is stored again under a new key and
    the old key is never read again: those must go once expired, not only when 10,000
    have piled up (the in-process worker grew ~16 MB a minute under a write mix)."""
    import alawael.infra.cache as cache_module

    clock = [1000.0]
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: clock[0])
    memory = MemoryCache()
    compute = Counter()
    for _ in range(100):
        await memory.bump("orders")  # a write
        await memory.get_or_compute("dash", [], scopes=["orders"], ttl=30, compute=compute)
    clock[0] += 31  # every entry so far has expired
    await memory.bump("orders")
    await memory.get_or_compute("dash", [], scopes=["orders"], ttl=30, compute=compute)
    assert len(memory._values) == 1
    assert compute.calls == 101

"""API analytics: one record per API call, written in batches off the request path,
bounded when MongoDB is slow or down, flushed on shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient
from pymongo.errors import AutoReconnect
from starlette.applications import Starlette

from alawael.infra.analytics_writer import AnalyticsWriter
from alawael.server import create_app
from tests.conftest import make_settings

SERVER_INFO = "query AnalyticsProbe { serverInfo { name } }"


def _dropped() -> float:
    return REGISTRY.get_sample_value("alawael_analytics_records_dropped_total") or 0.0


@pytest.fixture
async def analytics_app(mongo_uri: str) -> AsyncIterator[Starlette]:
    settings = make_settings(
        mongo_uri,
        analytics_enabled=True,
        analytics_flush_seconds=60,  # flushes happen when the test says so (or at 500)
        analytics_buffer_size=50,
        analytics_batch_size=500,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app
        await app.state.resources.client.drop_database(settings.mongodb_db)


async def _eventually(predicate: Callable[[], bool], within: float = 5.0) -> None:
    for _ in range(int(within / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_requests_become_records_in_fewer_batches_than_requests(
    analytics_app: Starlette,
) -> None:
    res = analytics_app.state.resources
    writer: AnalyticsWriter = res.extras["analytics"]
    async with _client(analytics_app) as client:
        for _ in range(12):
            await client.post("/graphql", json={"query": SERVER_INFO})
        for _ in range(3):
            await client.get("/_test/slow", params={"seconds": "0"})
        # Probes and scrapes are not API calls.
        await client.get("/healthz")
        await client.get("/metrics")
    assert await res.db.analytics.count_documents({}) == 0, "nothing written on the request path"
    assert len(writer) == 15

    assert await writer.flush()
    assert await res.db.analytics.count_documents({}) == 15
    assert writer.batches == 1
    gql = await res.db.analytics.find_one({"apiEndpoint": "graphql:AnalyticsProbe"})
    assert gql is not None
    assert gql["method"] == "POST"
    assert gql["status"] == 200
    assert gql["userId"] is None
    assert isinstance(gql["durationMs"], float)
    assert gql["timestamp"].tzinfo is not None
    rest = await res.db.analytics.count_documents({"apiEndpoint": "/_test/slow", "method": "GET"})
    assert rest == 3


async def test_a_full_batch_is_written_without_waiting_for_the_timer(mongo_uri: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
    collection = client["t_analytics_batch"]["analytics"]
    writer = AnalyticsWriter(collection, buffer_size=100, batch_size=5, flush_seconds=60)
    await writer.start()
    try:
        for i in range(12):
            writer.add({"apiEndpoint": "/x", "status": 200, "n": i})
        await _eventually(lambda: writer.written >= 12)
        # The timer is a minute away: the fifth record woke the writer, which then wrote
        # everything queued, five per insert_many.
        assert writer.written == 12
        assert writer.batches == 3
    finally:
        await writer.close()
        assert await collection.count_documents({}) == 12, "the rest is flushed on close"
        await client.drop_database("t_analytics_batch")
        await client.close()


class StalledCollection:
    """MongoDB that accepts the command and never answers (until released)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.inserted: list[dict[str, Any]] = []
        self.calls = 0

    async def insert_many(self, docs: list[dict[str, Any]], ordered: bool = True) -> None:
        self.calls += 1
        await self.release.wait()
        self.inserted.extend(docs)


class BrokenCollection:
    def __init__(self) -> None:
        self.calls = 0

    async def insert_many(self, docs: list[dict[str, Any]], ordered: bool = True) -> None:
        self.calls += 1
        raise AutoReconnect("connection refused")


async def test_slow_mongo_bounds_the_buffer_counts_overflow_and_never_blocks_requests(
    analytics_app: Starlette,
) -> None:
    writer: AnalyticsWriter = analytics_app.state.resources.extras["analytics"]
    stalled = StalledCollection()
    writer.collection = stalled  # type: ignore[assignment]
    writer.insert_timeout = 30  # slow, not failing: the insert just hangs
    dropped_before = _dropped()

    async with _client(analytics_app) as client:
        # Fill the buffer, start a flush that hangs, then keep the requests coming.
        for _ in range(20):
            await client.get("/_test/slow", params={"seconds": "0"})
        flush = asyncio.create_task(writer.flush())
        await _eventually(lambda: stalled.calls > 0)
        responses = await asyncio.wait_for(
            asyncio.gather(
                *(client.get("/_test/slow", params={"seconds": "0"}) for _ in range(80))
            ),
            timeout=20,  # generous: a blocked request path would hang here forever
        )
    assert all(r.status_code == 200 for r in responses)
    assert len(writer) == writer.buffer_size == 50
    assert writer.dropped == 20 + 80 - 50 - 20
    assert _dropped() - dropped_before == writer.dropped

    stalled.release.set()
    assert await asyncio.wait_for(flush, 5)
    assert len(stalled.inserted) == 20 + 50
    assert len(writer) == 0


async def test_broken_mongo_keeps_records_for_a_retry_up_to_the_bound(mongo_uri: str) -> None:
    broken = BrokenCollection()
    writer = AnalyticsWriter(
        broken,  # type: ignore[arg-type]
        buffer_size=10,
        batch_size=4,
        flush_seconds=60,
    )
    errors_before = (
        REGISTRY.get_sample_value("alawael_analytics_batches_total", {"result": "error"}) or 0.0
    )
    for i in range(15):
        writer.add({"n": i})
    assert len(writer) == 10
    assert writer.dropped == 5
    assert not await writer.flush()
    assert broken.calls == 1
    assert len(writer) == 10, "the failed batch went back to the front"
    assert [doc["n"] for doc in list(writer._buffer)[:4]] == [0, 1, 2, 3]
    errors_after = REGISTRY.get_sample_value("alawael_analytics_batches_total", {"result": "error"})
    assert errors_after == errors_before + 1


async def test_the_buffer_is_flushed_on_shutdown(mongo_uri: str) -> None:
    settings = make_settings(
        mongo_uri, analytics_enabled=True, analytics_flush_seconds=60, analytics_batch_size=500
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with _client(app) as client:
            for _ in range(3):
                await client.post("/graphql", json={"query": SERVER_INFO})
        assert await app.state.resources.db.analytics.count_documents({}) == 0
    check: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
    try:
        assert await check[settings.mongodb_db].analytics.count_documents({}) == 3
    finally:
        await check.drop_database(settings.mongodb_db)
        await check.close()


async def test_analytics_off_records_nothing(app: Starlette, client: httpx.AsyncClient) -> None:
    assert "analytics" not in app.state.resources.extras
    await client.post("/graphql", json={"query": SERVER_INFO})
    assert await app.state.resources.db.analytics.count_documents({}) == 0

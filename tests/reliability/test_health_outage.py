"""/api/health (the old load balancer's check) answers 503 while MongoDB is really down, so a
broken instance is drained, and 200 again once it is back; /healthz stays pure liveness."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette

from alawael.infra.db import EmbeddedMongo
from alawael.server import create_app
from tests.conftest import make_settings
from tests.support.polling import eventually

pytestmark = pytest.mark.slow  # stops and restarts a database server

BODY_KEYS = {"status", "version", "environment", "uptime", "mongodb", "redis"}


@pytest.fixture
def mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedMongo]:
    path = tmp_path_factory.mktemp("healthdb")
    server = EmbeddedMongo(path / "data", log_file=path / "secantus.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def app(mongo: EmbeddedMongo) -> AsyncIterator[Starlette]:
    # A short server-selection timeout: the ping fails in 0.5 s rather than waiting out the
    # health check's own 2 s bound.
    application = create_app(make_settings(mongo.uri, mongodb_timeout_ms=500))
    async with application.router.lifespan_context(application):
        yield application


async def test_api_health_is_503_while_mongodb_is_down(
    mongo: EmbeddedMongo, app: Starlette
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lb") as client:
        for path in ("/api/health", "/health"):
            up = await client.get(path)
            assert up.status_code == 200
            assert up.json()["status"] == "ok"

        await asyncio.to_thread(mongo.stop)
        try:
            for path in ("/api/health", "/health"):
                down = await client.get(path)
                assert down.status_code == 503, path
                body = down.json()
                assert set(body) == BODY_KEYS  # the same body, for dashboards reading it
                assert body["status"] == "degraded"
                assert body["mongodb"].startswith("error: ")
                assert body["redis"] == "disabled"
            live = await client.get("/healthz")  # liveness: the process answers
            assert live.status_code == 200
            assert live.json() == {"status": "ok"}
            assert (await client.get("/readyz")).status_code == 503
        finally:
            await asyncio.to_thread(mongo.start)  # same port, same data directory

        async def healthy() -> bool:
            return (await client.get("/api/health")).status_code == 200

        await eventually(healthy, within=20, what="/api/health back to 200")
        assert (await client.get("/api/health")).json()["mongodb"] == "ok"

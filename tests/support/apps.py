"""The whole app in process over its lifespan, for tests that restart it or pick a peer IP."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette

from alawael.config import Settings
from alawael.server import create_app


@contextlib.asynccontextmanager
async def running_app(
    settings: Settings, *, peer: str = "127.0.0.1"
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """Start the app (lifespan included: bootstrap, indexes, clients) and an httpx client
    whose requests come from `peer`. The database is left alone: a test may restart the
    app on the same data."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield app, c


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST one GraphQL operation; the JSON body (any HTTP status)."""
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    body: dict[str, Any] = response.json()
    return body


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`alawael <args>` as the operator runs it: a separate process on the same database.

    Without REDIS_URL (the CLI then records its cache bumps in MongoDB): a short-lived CLI
    process with Redis sometimes hangs on exit while its event hub's subscription task is
    being cancelled (alawael/infra/events_redis.py), which is not what these tests are about."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        "MONGODB_URI": settings.mongodb_uri or "",
        "MONGODB_DB": settings.mongodb_db,
        "ENV": "test",
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_COST": "8",
        "PASSWORD_HASH_PARALLELISM": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "alawael", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

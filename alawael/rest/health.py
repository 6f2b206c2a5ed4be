"""Health endpoints. `/healthz` is liveness (no dependency is called); `/readyz` is readiness
(503 while MongoDB, or a configured Redis, does not answer); `/api/health` (and `/health`)
reports both, for the old load balancer: 503 while MongoDB does not answer, so a broken
instance is drained. Redis alone down is 200 "degraded": the API still serves (cache and
rate limits fall back), and draining every instance at once for it would be an outage."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from alawael import __version__
from alawael.infra.resources import Resources

PING_TIMEOUT = 2.0


async def mongo_state(res: Resources) -> str:
    try:
        await asyncio.wait_for(res.client.admin.command("ping"), PING_TIMEOUT)
    except Exception as exc:  # any failure is a state to report, not an error to raise
        return f"error: {type(exc).__name__}"
    return "embedded" if res.mongo_mode == "embedded" else "ok"


async def redis_state(res: Resources) -> str:
    if res.redis is None:
        return "disabled"
    try:
        await asyncio.wait_for(res.redis.ping(), PING_TIMEOUT)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def _healthy(state: str) -> bool:
    return not state.startswith("error")


async def health(request: Request) -> JSONResponse:
    res: Resources = request.app.state.resources
    mongo, redis = await asyncio.gather(mongo_state(res), redis_state(res))
    ok = _healthy(mongo) and _healthy(redis)
    body: dict[str, Any] = {
        "status": "ok" if ok else "degraded",
        "version": __version__,
        "environment": res.settings.env.value,
        "uptime": round(time.time() - res.started_at, 3),
        "mongodb": mongo,
        "redis": redis,
    }
    # Without MongoDB nothing but health answers: a load balancer must stop sending here.
    return JSONResponse(body, status_code=200 if _healthy(mongo) else 503)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    res: Resources = request.app.state.resources
    mongo, redis = await asyncio.gather(mongo_state(res), redis_state(res))
    ready = _healthy(mongo) and _healthy(redis)
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "mongodb": mongo, "redis": redis},
        status_code=200 if ready else 503,
    )


routes = [
    Route("/api/health", health, methods=["GET"]),
    Route("/health", health, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]

"""Routes mounted only when ENV=test: a genuinely slow request (graceful-shutdown tests)
and an unexpected error (Sentry and error-log tests). Never present in other environments."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

MAX_SLEEP = 10.0


async def slow(request: Request) -> JSONResponse:
    seconds = min(float(request.query_params.get("seconds", "1")), MAX_SLEEP)
    await asyncio.sleep(seconds)
    return JSONResponse({"slept": seconds})


async def boom(request: Request) -> JSONResponse:
    raise RuntimeError("test-only unexpected error")


routes = [
    Route("/_test/slow", slow, methods=["GET"]),
    Route("/_test/boom", boom, methods=["GET"]),
]

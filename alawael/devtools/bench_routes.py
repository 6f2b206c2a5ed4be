"""Benchmark-only hooks, mounted only when BENCH_ROUTES=1 (never in a normal deployment).

- `GET /_bench/static`: the HTTP ceiling. It returns the bytes of BENCH_STATIC_FILE (the
  bench writes a real dashboard response there) through the same middleware stack as
  `/graphql`, so "GraphQL req/s / static req/s" is the share of the ceiling left after
  parsing, validation, execution and MongoDB.
- BENCH_NAIVE_LOADERS=1: by-id loads skip DataLoader batching and caching and do one
  `find_one` per item, the N+1 a schema without DataLoaders pays. Patched at start-up in
  the bench's own server process only, so the production code path stays untouched.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_static: bytes | None = None


def _read_static() -> bytes | None:
    path = os.environ.get("BENCH_STATIC_FILE")
    return Path(path).read_bytes() if path and Path(path).exists() else None


async def static(request: Request) -> Response:
    global _static
    if _static is None:
        # Read once; the bench writes the file before it starts this server.
        _static = await asyncio.to_thread(_read_static)
        if _static is None:
            return Response(b'{"error":"no BENCH_STATIC_FILE"}', status_code=404)
    return Response(_static, media_type="application/json")


def install_naive_loaders() -> None:
    from typing import Any

    from alawael.loaders.base import DocumentByIdLoader

    async def load(self: DocumentByIdLoader, key: Any) -> Any:
        doc = await self.db[self.collection].find_one({"_id": key}, self.projection)
        return None if doc is None else self.to_item(doc)

    DocumentByIdLoader.load = load  # type: ignore[method-assign,assignment]


def routes() -> list[Route]:
    if os.environ.get("BENCH_NAIVE_LOADERS") == "1":
        install_naive_loaders()
    return [Route("/_bench/static", static, methods=["GET", "POST"])]

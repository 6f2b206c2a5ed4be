"""Resolver-result cache (Redis or in-process), invalidated by generations.

Every write bumps the generation of the scopes it changed ("products", "product:<id>", ...);
a cached value's key includes the generations of the scopes it read, so a read after a write
can never see the pre-write value, on any worker. TTL is only the safety net.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import bson
import orjson
from bson.codec_options import CodecOptions

# Values are stored as BSON: compact, C-accelerated, and it round-trips the types our
# documents hold (ObjectId, datetime, Decimal128) without pickle's code-execution risk.
_CODEC = CodecOptions(tz_aware=True)


def dump_value(value: Any) -> bytes:
    return bson.encode({"v": value})


def load_value(raw: bytes) -> Any:
    return bson.decode(raw, _CODEC)["v"]


class Cache(Protocol):
    async def bump(self, *scopes: str) -> None:
        """Invalidate every cached value that read any of these scopes."""

    async def get_or_compute(
        self,
        name: str,
        key: Sequence[Any],
        *,
        scopes: Sequence[str],
        ttl: int,
        compute: Callable[[], Awaitable[Any]],
    ) -> Any:
        """Return the cached value (anything BSON can hold) or compute, store and return it."""

    async def ping(self) -> str:
        """'ok', 'disabled', 'in-process' or an error description (for /api/health)."""

    async def close(self) -> None: ...


def encode_key(name: str, key: Sequence[Any], generations: Sequence[int]) -> str:
    return f"cache:{name}:" + orjson.dumps([list(key), list(generations)], default=str).decode()


class MemoryCache:
    """The single-worker cache used when no REDIS_URL is configured."""

    def __init__(self) -> None:
        self._gens: dict[str, int] = {}
        self._values: dict[str, tuple[float, bytes]] = {}
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    async def bump(self, *scopes: str) -> None:
        for scope in scopes:
            self._gens[scope] = self._gens.get(scope, 0) + 1

    async def get_or_compute(
        self,
        name: str,
        key: Sequence[Any],
        *,
        scopes: Sequence[str],
        ttl: int,
        compute: Callable[[], Awaitable[Any]],
    ) -> Any:
        full = encode_key(name, key, [self._gens.get(s, 0) for s in scopes])
        hit = self._values.get(full)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return load_value(hit[1])
        # Stampede control: concurrent misses on one key share one computation.
        pending = self._inflight.get(full)
        if pending is not None:
            return await asyncio.shield(pending)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[full] = fut
        try:
            value = await compute()
            self._values[full] = (now + ttl, dump_value(value))
            fut.set_result(value)
            return value
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._inflight[full]

    async def ping(self) -> str:
        return "in-process"

    async def close(self) -> None:
        self._values.clear()

"""Resolver-result cache (Redis or in-process), invalidated by generations.

Every write bumps the generation of the scopes it changed ("products", "product:<id>", ...);
a cached value's key includes the generations of the scopes it read, so a read after a write
can never see the pre-write value, on any worker. TTL is only the safety net.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, Protocol

import bson
import orjson
from bson.codec_options import CodecOptions

# Values are stored as BSON: compact, C-accelerated, and it round-trips the types our
# documents hold (ObjectId, datetime, Decimal128) without pickle's code-execution risk.
_CODEC: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True)


def dump_value(value: Any) -> bytes:
    return bson.encode({"v": value})


def load_value(raw: bytes) -> Any:
    return bson.decode(raw, _CODEC)["v"]


Result = Literal["hit", "miss", "error"]


class CacheStats:
    """Per-cache-name hit/miss/error counts of this worker: a cheap snapshot for tests and
    `/api/health`; Prometheus gets the same numbers (`alawael_cache_requests_total`)."""

    def __init__(self) -> None:
        self._counts: defaultdict[str, dict[str, int]] = defaultdict(
            lambda: {"hit": 0, "miss": 0, "error": 0}
        )

    def record(self, name: str, result: Result) -> None:
        self._counts[name][result] += 1
        # Imported lazily: metrics.py imports Starlette and pymongo; tests of the cache
        # alone need neither, and a failing metrics import must never break a read.
        from alawael.infra.metrics import CACHE_REQUESTS

        CACHE_REQUESTS.labels(cache=name, result=result).inc()

    def snapshot(self) -> dict[str, dict[str, int]]:
        return {name: dict(counts) for name, counts in self._counts.items()}

    def total(self, result: Result) -> int:
        return sum(counts[result] for counts in self._counts.values())

    def hit_ratio(self, name: str | None = None) -> float:
        rows = [self._counts[name]] if name is not None else list(self._counts.values())
        hits = sum(r["hit"] for r in rows)
        lookups = sum(r["hit"] + r["miss"] + r["error"] for r in rows)
        return hits / lookups if lookups else 0.0


class Cache(Protocol):
    stats: CacheStats

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


class SingleFlight:
    """Concurrent callers of one key in this worker share one computation (stampede
    control inside a worker; RedisCache adds a lock across workers on top)."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    def pending(self, key: str) -> asyncio.Future[Any] | None:
        return self._inflight.get(key)

    async def run(self, key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            value = await compute()
            fut.set_result(value)
            return value
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._inflight[key]

    def clear(self) -> None:
        self._inflight.clear()


class MemoryCache:
    """The single-worker cache used when no REDIS_URL is configured."""

    max_entries = 10_000
    # Expired entries are swept at most this often. Waiting for max_entries was not enough:
    # every write bumps a generation, so under a steady write rate the dashboard's ~44 KB
    # result was stored again under a new key several times a second and the dead ones
    # stayed until 10,000 piled up (the soak's worker grew ~16 MB a minute). Sweeping by
    # age bounds the memory by TTL x the rate of new keys.
    prune_every_seconds = 1.0

    def __init__(self) -> None:
        self.stats = CacheStats()
        self._gens: dict[str, int] = {}
        self._values: dict[str, tuple[float, bytes]] = {}
        self._flights = SingleFlight()
        self._next_prune = 0.0

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
            self.stats.record(name, "hit")
            return load_value(hit[1])
        pending = self._flights.pending(full)
        if pending is not None:
            self.stats.record(name, "hit")  # served without computing
            return await asyncio.shield(pending)
        self.stats.record(name, "miss")

        async def compute_and_store() -> Any:
            value = await compute()
            self._values[full] = (now + ttl, dump_value(value))
            if len(self._values) > self.max_entries or now >= self._next_prune:
                self._prune(now)
            return value

        return await self._flights.run(full, compute_and_store)

    def _prune(self, now: float) -> None:
        # Old generations are never read again; without pruning they would pile up.
        self._next_prune = now + self.prune_every_seconds
        self._values = {k: v for k, v in self._values.items() if v[0] > now}
        if len(self._values) > self.max_entries:  # still full: drop the oldest half
            keep = list(self._values.items())[len(self._values) // 2 :]
            self._values = dict(keep)

    async def ping(self) -> str:
        return "in-process"

    async def close(self) -> None:
        self._values.clear()


class NullCache:
    """CACHE_ENABLED=false: every read computes (for debugging a suspected stale value)."""

    def __init__(self) -> None:
        self.stats = CacheStats()

    async def bump(self, *scopes: str) -> None:
        return None

    async def get_or_compute(
        self,
        name: str,
        key: Sequence[Any],
        *,
        scopes: Sequence[str],
        ttl: int,
        compute: Callable[[], Awaitable[Any]],
    ) -> Any:
        self.stats.record(name, "miss")
        return await compute()

    async def ping(self) -> str:
        return "disabled"

    async def close(self) -> None:
        return None

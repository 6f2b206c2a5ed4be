"""Cache invalidations that cross processes when there is no Redis.

Without REDIS_URL the server's resolver and operation caches live in its one worker's
memory, where a CLI command (`alawael seed`, `create-admin`) run beside it cannot reach them.
The CLI then also records each bump in MongoDB, which both processes share, and the server
polls that record once a second and bumps the same scopes in its own cache. With Redis the
generations already live in Redis and none of this runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from pymongo.errors import PyMongoError

from alawael.infra.cache import Cache, CacheStats
from alawael.infra.db import Db
from alawael.infra.tasks import stop_task

log = logging.getLogger("alawael.cache_bumps")

BUMPS_ID = "cache_bumps"  # the record's _id in the `meta` collection
POLL_SECONDS = 1.0


def _field(scope: str) -> str:
    # Scope names become field names: '.' would nest and '$' is reserved.
    return scope.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def _scope(field: str) -> str:
    return field.replace("%24", "$").replace("%2E", ".").replace("%25", "%")


async def announce_bumps(db: Db, scopes: Sequence[str]) -> None:
    """Record that `scopes` changed, for a server without Redis to pick up."""
    if scopes:
        counters = {f"scopes.{_field(s)}": 1 for s in set(scopes)}
        await db.meta.update_one({"_id": BUMPS_ID}, {"$inc": counters}, upsert=True)


async def _read(db: Db) -> dict[str, int]:
    doc = await db.meta.find_one({"_id": BUMPS_ID}, {"scopes": 1})
    raw = (doc or {}).get("scopes") or {}
    return {_scope(k): int(v) for k, v in raw.items()}


class AnnouncingCache:
    """A CLI process's cache: bumps locally and announces each bump through MongoDB."""

    def __init__(self, inner: Cache, db: Db) -> None:
        self.inner = inner
        self.db = db
        self.stats: CacheStats = inner.stats

    async def bump(self, *scopes: str) -> None:
        await self.inner.bump(*scopes)
        await announce_bumps(self.db, scopes)

    async def get_or_compute(
        self,
        name: str,
        key: Sequence[Any],
        *,
        scopes: Sequence[str],
        ttl: int,
        compute: Callable[[], Awaitable[Any]],
    ) -> Any:
        return await self.inner.get_or_compute(name, key, scopes=scopes, ttl=ttl, compute=compute)

    async def ping(self) -> str:
        return await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()


async def follow_bumps(
    db: Db, cache: Cache, stop: asyncio.Event, interval: float = POLL_SECONDS
) -> None:
    """Poll the record and bump in `cache` whatever another process announced since, until
    `stop` is set. It stops through an event, not cancellation: PyMongo's async client can
    turn a cancellation that lands mid-command into a PyMongoError, which this loop survives
    on purpose (the database may be away), so a cancelled poller could go on forever."""
    seen: dict[str, int] | None = None
    while not stop.is_set():
        try:
            current = await _read(db)
        except PyMongoError as exc:  # the database is away: readiness reports it
            log.debug("cache bump poll failed: %s", exc)
        else:
            if seen is not None:
                changed = [s for s, n in current.items() if seen.get(s) != n]
                if changed:
                    await cache.bump(*changed)
            seen = current
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


@contextlib.asynccontextmanager
async def following_bumps(db: Db, cache: Cache) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(follow_bumps(db, cache, stop), name="cache-bump-follower")
    try:
        yield
    finally:
        stop.set()
        # One poll at most is in flight; bounded in case the database hangs.
        await stop_task(task)

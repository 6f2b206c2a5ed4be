"""The resolver cache in Redis, shared by every worker and instance.

Keys: `cache:v:<name>:<digest of key parts>@<generations>`. Each scope a value read has a
generation counter (`cache:gen:<scope>`) that every write bumps, and the generations are part
of the value's key, so a read after a write on any worker builds a key no earlier read wrote:
it can never see the pre-write value. TTL is only the safety net.

Round trips: a hit is ONE round trip (a Lua script reads the generations with MGET, builds the
key and GETs the value); a miss adds `SET NX PX` for the recompute lock and a `SET` of the
value. While one request holds the lock, the others (any worker) poll for its result; this
worker's concurrent misses on the same key additionally share one in-process future, so only
one of them even talks to Redis.

Redis trouble never reaches a client: the read is computed from MongoDB, the error counted
and logged (at most once per `_LOG_EVERY` seconds), and Redis is left alone for
`cache_redis_retry_seconds` (a circuit breaker, so an outage costs no timeouts per request).
redis-py reconnects by itself on the next command once the breaker lets one through.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from alawael.config import Settings
from alawael.infra.cache import CacheStats, SingleFlight, dump_value, load_value

log = logging.getLogger("alawael.cache_redis")

GEN_PREFIX = "cache:gen:"
VALUE_PREFIX = "cache:v:"
LOCK_PREFIX = "cache:lock:"
_LOG_EVERY = 30.0
# Errors that mean "Redis is unreachable or unwell", as opposed to bugs in our code.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, asyncio.TimeoutError)

# KEYS: generation keys; ARGV[1]: the value key's prefix; ARGV[2] (optional): the full key
# the worker holds a copy of for this prefix (alawael.infra.cache_copies). Returns {full key,
# 1/0 (exists) when the worker's copy is for the current full key, else the value or false}.
# It builds the value key from keys it did not declare: fine on one Redis (or a replica set),
# which is what we run; a Redis Cluster would need hash tags.
LOOKUP = """
local parts = {}
if #KEYS > 0 then
  local gens = redis.call('MGET', unpack(KEYS))
  for i = 1, #gens do parts[i] = gens[i] or '0' end
end
local full = ARGV[1] .. '@' .. table.concat(parts, '.')
if ARGV[2] == full then return {full, redis.call('EXISTS', full)} end
return {full, redis.call('GET', full)}
"""

# A bump is INCR, floored at the server's clock in microseconds: if a generation key is
# ever lost (eviction, FLUSHDB), the next bump still yields a number no earlier value key
# used, so an old value can never come back to life.
_BUMP = """
local t = redis.call('TIME')
local floor = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i = 1, #KEYS do
  local v = redis.call('INCR', KEYS[i])
  if v < floor then redis.call('SET', KEYS[i], floor) end
end
return #KEYS
"""

# Delete the lock only if we still own it (it may have expired and been taken by another).
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def value_prefix(name: str, key: Sequence[Any]) -> str:
    # A digest keeps keys short whatever the arguments; 128 bits make collisions moot.
    digest = hashlib.blake2b(orjson.dumps(list(key), default=str), digest_size=16).hexdigest()
    return f"{VALUE_PREFIX}{name}:{digest}"


class RedisCache:
    lock_ms = 5_000  # how long a recompute may hold the lock before others give up waiting
    poll_start = 0.005
    poll_max = 0.05

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self.stats = CacheStats()
        self.retry_seconds = settings.cache_redis_retry_seconds
        self._lookup = redis.register_script(LOOKUP)
        self._bump = redis.register_script(_BUMP)
        self._unlock = redis.register_script(_UNLOCK)
        self._flights = SingleFlight()
        self._down_until = 0.0
        self._last_log = 0.0
        self._suppressed = 0
        # Scopes whose bump failed: retried before the next read uses Redis, and until then
        # this worker reads around the cache (it knows its own writes are not visible yet).
        self._pending_bumps: set[str] = set()

    # --- health -------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    @property
    def readable(self) -> bool:
        """Whether a read may use Redis now (not broken, no bump of ours still pending)."""
        return self.available and not self._pending_bumps

    def hit(self, name: str) -> None:
        self.stats.record(name, "hit")

    def record_failure(self, name: str, exc: BaseException) -> None:
        """A pipelined read failed: trip the breaker as a failed lookup would."""
        self.stats.record(name, "error")
        self._failed(exc, "lookup")

    def _failed(self, exc: BaseException, what: str) -> None:
        self._down_until = time.monotonic() + self.retry_seconds
        now = time.monotonic()
        if now - self._last_log >= _LOG_EVERY:
            extra = f" ({self._suppressed} similar errors not logged)" if self._suppressed else ""
            log.warning(
                "Redis cache %s failed, reading from MongoDB: %s: %s%s",
                what,
                type(exc).__name__,
                exc,
                extra,
            )
            self._last_log = now
            self._suppressed = 0
        else:
            self._suppressed += 1

    async def _flush_pending_bumps(self) -> bool:
        if not self._pending_bumps:
            return True
        scopes = sorted(self._pending_bumps)
        try:
            await self._bump(keys=[GEN_PREFIX + s for s in scopes])
        except REDIS_ERRORS as exc:
            self._failed(exc, "bump retry")
            return False
        self._pending_bumps.difference_update(scopes)
        return True

    # --- the Cache protocol ---------------------------------------------------------------
    async def bump(self, *scopes: str) -> None:
        if not scopes:
            return
        try:
            await self._bump(keys=[GEN_PREFIX + s for s in scopes])
        except REDIS_ERRORS as exc:
            # The write itself succeeded; readers elsewhere may see the old value until this
            # bump is retried or the TTL ends. Counted and logged, never raised.
            self._pending_bumps.update(scopes)
            self.stats.record("bump", "error")
            self._failed(exc, "bump")

    async def get_or_compute(
        self,
        name: str,
        key: Sequence[Any],
        *,
        scopes: Sequence[str],
        ttl: int,
        compute: Callable[[], Awaitable[Any]],
    ) -> Any:
        if not self.available or not await self._flush_pending_bumps():
            self.stats.record(name, "error")
            return await compute()
        try:
            full, raw = await self._lookup(
                keys=[GEN_PREFIX + s for s in scopes], args=[value_prefix(name, key)]
            )
        except REDIS_ERRORS as exc:
            self._failed(exc, "lookup")
            self.stats.record(name, "error")
            return await compute()
        if raw is not None:
            self.stats.record(name, "hit")
            return load_value(raw)
        full = full.decode() if isinstance(full, bytes) else str(full)
        pending = self._flights.pending(full)
        if pending is not None:
            self.stats.record(name, "hit")  # another request of this worker is computing it
            return await asyncio.shield(pending)
        self.stats.record(name, "miss")
        return await self._flights.run(full, lambda: self._fill(full, ttl, compute))

    async def _fill(self, full: str, ttl: int, compute: Callable[[], Awaitable[Any]]) -> Any:
        """Compute under the cross-worker lock, or wait for whoever holds it."""
        lock = LOCK_PREFIX + full
        token = os.urandom(8).hex()
        deadline = time.monotonic() + self.lock_ms / 1000
        delay = self.poll_start
        while True:
            try:
                if await self.redis.set(lock, token, nx=True, px=self.lock_ms):
                    # Whoever held the lock may have stored the value after our lookup.
                    stored: bytes | None = await self.redis.get(full)  # type: ignore[assignment]
                    if stored is None:
                        break
                    await self._unlock(keys=[lock], args=[token])
                    return load_value(stored)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.poll_max)
                # One MULTI: "no value and no lock" must be true at one instant, or a holder
                # finishing between the two reads would look like one that gave up.
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.get(full)
                    pipe.exists(lock)
                    raw, locked = await pipe.execute()
            except REDIS_ERRORS as exc:
                self._failed(exc, "lock")
                return await compute()
            if raw is not None:
                return load_value(raw)
            if not locked:
                continue  # the holder gave up (its compute failed): try to take over
            if time.monotonic() >= deadline:
                # The holder is stuck or gone: stop waiting and compute without storing;
                # the lock's expiry lets the next request take over properly.
                return await compute()
        try:
            value = await compute()
            data = dump_value(value)  # not guarded: an unstorable value is a bug to see
            try:
                await self.redis.set(full, data, px=ttl * 1000)
            except REDIS_ERRORS as exc:
                self._failed(exc, "store")
            return value
        finally:
            try:
                await self._unlock(keys=[lock], args=[token])
            except REDIS_ERRORS as exc:
                self._failed(exc, "unlock")  # it expires by itself after lock_ms

    async def ping(self) -> str:
        try:
            await asyncio.wait_for(self.redis.ping(), 2.0)
        except REDIS_ERRORS as exc:
            return f"error: {type(exc).__name__}"
        return "ok"

    async def close(self) -> None:
        self._flights.clear()

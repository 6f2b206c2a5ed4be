"""One rate-limit charge queued on a Redis pipeline, so it shares a round trip with other reads.

`RateLimiter.check` costs two round trips per bucket (the `limits` library's "acquire" script,
then its "window" script for the headers). A cached GraphQL answer needs one more (the cache
lookup), and at ~1,000 hits/s each redis-py round trip is a visible share of the CPU per hit.
`queue_charge` puts both rate-limit scripts on the caller's pipeline (the library's own
registered scripts, keys and key prefix, so the counters are the same ones every other check
reads), and `decide` turns their replies into the same `Decision` `RateLimiter.check` gives.

Only the Redis storage can be pipelined; `pipelinable` says whether this limiter's is.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from limits.aio.storage import RedisStorage

from alawael.protect.ratelimit import Decision, RateLimiter

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline

SCRIPTS_PER_CHARGE = 2  # acquire, then the window read


def pipelinable(limiter: RateLimiter) -> bool:
    return isinstance(limiter.storage, RedisStorage) and limiter.storage.bridge is not None


def _keys(limiter: RateLimiter, bucket: str, key: str) -> list[str]:
    storage = limiter.storage
    assert isinstance(storage, RedisStorage)
    item = limiter.items[bucket]
    base = item.key_for(bucket, key)  # what `strategy.hit(item, bucket, key)` uses
    bridge = storage.bridge
    return [
        bridge.prefixed_key(storage._previous_window_key(base)),
        bridge.prefixed_key(storage._current_window_key(base)),
    ]


def scripts(limiter: RateLimiter) -> list[Any]:
    """The library's scripts `queue_charge` runs by hash (for loading after a NOSCRIPT)."""
    storage = limiter.storage
    assert isinstance(storage, RedisStorage)
    bridge: Any = storage.bridge  # the redis-py bridge: its scripts are redis-py Scripts
    return [bridge.lua_acquire_sliding_window, bridge.lua_sliding_window]


def queue_charge(limiter: RateLimiter, pipe: Pipeline, bucket: str, key: str) -> None:
    """Queue one hit on (bucket, key) and the window read after it (SCRIPTS_PER_CHARGE
    replies, in that order). By EVALSHA, not through redis-py's Script objects: on a
    pipeline those add a SCRIPT EXISTS round trip to every execute."""
    item = limiter.items[bucket]
    keys = _keys(limiter, bucket, key)
    acquire, window = scripts(limiter)
    pipe.evalsha(acquire.sha, 2, *keys, item.amount, item.get_expiry(), 1)
    pipe.evalsha(window.sha, 2, *keys, item.get_expiry())


def decide(limiter: RateLimiter, bucket: str, replies: list[Any]) -> Decision:
    """The Decision from the two replies `queue_charge` queued, computed as the library's
    `SlidingWindowCounterRateLimiter.get_window_stats` does (limits 5.x)."""
    item = limiter.items[bucket]
    allowed = bool(replies[0])
    window = replies[1] or [0, 0, 0, 0]
    previous_count = int(window[0] or 0)
    previous_expires_in = max(0.0, float(window[1] or 0)) / 1000
    current_count = int(window[2] or 0)
    current_expires_in = max(0.0, float(window[3] or 0)) / 1000
    expiry = item.get_expiry()
    weighted = previous_count * previous_expires_in / expiry + current_count
    remaining = max(0, item.amount - math.floor(weighted))
    reset_in = 0.0
    if previous_count or current_count:
        previous_reset_in, current_reset_in = math.inf, math.inf
        if previous_count:
            previous_reset_in = previous_expires_in % (expiry / previous_count)
        if current_count:
            current_reset_in = current_expires_in % expiry
        reset_in = min(previous_reset_in, current_reset_in)
    # As RateLimiter.check: never "retry now" at a window boundary.
    reset = max(1, math.ceil(reset_in))
    decision = Decision(allowed, item.amount, remaining, reset, bucket)
    if not allowed:
        from alawael.infra.metrics import RATE_LIMITED

        RATE_LIMITED.labels(bucket=bucket).inc()
    return decision

"""A rate-limit charge that can run inside another Redis script, so a cached answer costs
one round trip in all (alawael.schema.cached_answer).

`RateLimiter.check` costs two round trips per bucket (the `limits` library's "acquire"
script, then its "window" script for the headers), and each costs ~0.1 ms of CPU in
redis-py: most of a cache hit's budget. This module hands out the library's OWN two scripts
(`ACQUIRE`, `WINDOW`: its sources, run on its keys with its key prefix, so the counters are
the very ones every other check reads) and the keys and arguments for one charge; `decide`
turns their two replies into the `Decision` `RateLimiter.check` would have made.

Only the Redis storage can take part; `combinable` says whether this limiter's is.
"""

from __future__ import annotations

import math
from typing import Any

from limits.aio.storage import RedisStorage
from limits.aio.storage.redis.bridge import RedisBridge

from alawael.protect.ratelimit import Decision, RateLimiter

ACQUIRE: str = RedisBridge.SCRIPT_ACQUIRE_SLIDING_WINDOW.decode()  # KEYS: previous, current
WINDOW: str = RedisBridge.SCRIPT_SLIDING_WINDOW.decode()  # ARGV: limit, expiry, amount|expiry


def combinable(limiter: RateLimiter) -> bool:
    return isinstance(limiter.storage, RedisStorage)


def charge_args(limiter: RateLimiter, bucket: str, key: str) -> tuple[list[str], list[int]]:
    """(the two window keys, [limit, expiry, amount]) of one hit on (bucket, key), exactly
    as `SlidingWindowCounterRateLimiter.hit(item, bucket, key)` builds them."""
    storage = limiter.storage
    assert isinstance(storage, RedisStorage)
    item = limiter.items[bucket]
    base = item.key_for(bucket, key)
    bridge = storage.bridge
    keys = [
        bridge.prefixed_key(storage._previous_window_key(base)),
        bridge.prefixed_key(storage._current_window_key(base)),
    ]
    return keys, [item.amount, item.get_expiry(), 1]


def decide(limiter: RateLimiter, bucket: str, acquired: Any, window: Any) -> Decision:
    """The Decision from ACQUIRE's and WINDOW's replies, computed as the library's
    `SlidingWindowCounterRateLimiter.get_window_stats` does (limits 5.x) and as
    `RateLimiter.check` turns that into headers."""
    item = limiter.items[bucket]
    allowed = bool(acquired)
    window = window or [0, 0, 0, 0]
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
    decision = Decision(allowed, item.amount, remaining, max(1, math.ceil(reset_in)), bucket)
    if not allowed:
        from alawael.infra.metrics import RATE_LIMITED

        RATE_LIMITED.labels(bucket=bucket).inc()
    return decision

"""A rate-limit charge in one Redis script, alone or inside another script.

`limits`' sliding-window counter costs two round trips per charge (its "acquire" script,
then its "window" script for the headers), and each costs ~0.1 ms of CPU in redis-py. This
module runs the library's OWN two scripts (`ACQUIRE`, `WINDOW`: its sources, on its keys with
its key prefix, so the counters are the very ones the library reads) as one:
- `CHARGE` + `charge_once`: what `RateLimiter.check` does per bucket with Redis, one round
  trip, shared with concurrent charges (alawael.infra.script_batches);
- `charge_args` + `decide`: the keys and arguments for a caller composing its own script
  (the cached answer's charge-and-lookup, alawael.schema.cached_answer_script), and the
  `Decision` from the two replies, computed as the library computes its window stats.

Only the Redis storage can take part; `combinable` says whether this limiter's is.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from limits.aio.storage import RedisStorage
from limits.aio.storage.redis.bridge import RedisBridge

from alawael.infra.script_batches import ScriptBatches

if TYPE_CHECKING:
    from alawael.protect.ratelimit import Decision, RateLimiter

ACQUIRE: str = RedisBridge.SCRIPT_ACQUIRE_SLIDING_WINDOW.decode()  # KEYS: previous, current
WINDOW: str = RedisBridge.SCRIPT_SLIDING_WINDOW.decode()  # ARGV: limit, expiry, amount|expiry


# One charge in one script: the acquire, then the window read for the headers.
CHARGE = f"""
local function acquire(KEYS, ARGV)
{ACQUIRE}
end
local function window(KEYS, ARGV)
{WINDOW}
end
local ok = acquire(KEYS, ARGV)
return {{ok and 1 or 0, window(KEYS, {{ARGV[2]}})}}
"""


async def charge_once(
    limiter: RateLimiter, batches: ScriptBatches, bucket: str, key: str
) -> Decision:
    """One hit on (bucket, key) in one round trip (shared with concurrent ones): what
    `strategy.hit` then `strategy.get_window_stats` did in two."""
    keys, args = charge_args(limiter, bucket, key)
    acquired, window = await batches.call(keys, args)
    return decide(limiter, bucket, acquired, window)


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
    from alawael.protect.ratelimit import Decision

    decision = Decision(allowed, item.amount, remaining, max(1, math.ceil(reset_in)), bucket)
    return decision

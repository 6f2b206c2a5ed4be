"""The one Redis script a cached answer costs: the rate-limit charge and the cache lookup.

Composed from the scripts the rate limiter and the cache themselves run (each body wrapped
in a Lua function whose KEYS and ARGV parameters shadow the globals), so their semantics
and keys cannot drift from the ordinary paths'. One EVALSHA instead of a pipeline of three:
redis-py's pipeline machinery costs more CPU than the commands (~0.15 vs ~0.08 ms), and
concurrent hits' EVALSHAs share one round trip (alawael.infra.script_batches).

KEYS: [previous window, current window] (when charging), then the cache's generation keys.
ARGV: [2 or 0 (charging or not), limit, expiry, amount, window expiry, value prefix, held key].
Reply: {1/0 acquired, the window's four numbers (or nil), the lookup's reply}.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from alawael.infra.cache_redis import LOOKUP
from alawael.infra.script_batches import ScriptBatches
from alawael.protect.ratelimit_pipeline import ACQUIRE, WINDOW

SOURCE = f"""
local function acquire(KEYS, ARGV)
{ACQUIRE}
end
local function window(KEYS, ARGV)
{WINDOW}
end
local function lookup(KEYS, ARGV)
{LOOKUP}
end
local n = tonumber(ARGV[1])
local found = lookup({{unpack(KEYS, n + 1)}}, {{ARGV[6], ARGV[7]}})
if n == 0 then return {{0, false, found}} end
local limited = {{KEYS[1], KEYS[2]}}
local ok = acquire(limited, {{ARGV[2], ARGV[3], ARGV[4]}})
return {{ok and 1 or 0, window(limited, {{ARGV[5]}}), found}}
"""


class AnswerScript:
    def __init__(self, redis: Redis) -> None:
        # Calls in the same event-loop turn share one round trip (alawael.infra.script_batches).
        self.batches = ScriptBatches(redis, SOURCE)

    async def run(
        self,
        charge: tuple[list[str], list[int]] | None,
        lookup: tuple[list[str], list[str]],
    ) -> tuple[Any, Any, Any]:
        """(acquired, window, lookup reply); acquired and window are None without a charge."""
        lookup_keys, lookup_args = lookup
        args: list[str | int | float]
        if charge is None:
            keys, args = lookup_keys, [0, 0, 0, 0, 0, *lookup_args]
        else:
            (window_keys, (limit, expiry, amount)) = charge
            keys = [*window_keys, *lookup_keys]
            args = [2, limit, expiry, amount, expiry, *lookup_args]
        acquired, window, found = await self.batches.call(keys, args)
        if charge is None:
            return None, None, found
        return acquired, window, found

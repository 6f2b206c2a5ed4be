"""A cache lookup to run inside a caller's Redis script, with worker-local copies of values.

A value's full key in the Redis cache (alawael.infra.cache_redis) carries the generations of
every scope it read, so whatever is stored under one full key never changes: a write bumps a
generation and later reads build another key. A worker that has once received the value
under a full key may therefore keep a copy, and on later lookups ask Redis only whether that
key still exists (its TTL is the cache's safety net, so an expired key is a miss here too)
instead of receiving the ~45 KB dashboard answer again on every hit. The lookup still costs
one round trip, inside the caller's script so it can share it (the rate-limit charge).

Copies are bounded by bytes (`max_bytes`), oldest first out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from alawael.infra.cache import load_value
from alawael.infra.cache_redis import GEN_PREFIX, value_prefix


class Lookup:
    """One queued lookup: call `result` with its reply."""

    __slots__ = ("_copies", "prefix")

    def __init__(self, copies: LocalCopies, prefix: str) -> None:
        self._copies = copies
        self.prefix = prefix

    def result(self, reply: Sequence[Any]) -> Any | None:
        """The decoded value, or None for a miss."""
        full_raw, found = reply[0], reply[1]
        full = full_raw.decode() if isinstance(full_raw, bytes) else str(full_raw)
        if isinstance(found, int):  # our copy's key: 1 if Redis still has it
            held = self._copies.held(self.prefix, full)
            return held if found == 1 else None
        if found is None:
            return None
        value = load_value(found)
        self._copies.keep(self.prefix, full, value, len(found))
        return value


class LocalCopies:
    def __init__(self, max_bytes: int = 8 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._held: OrderedDict[str, tuple[str, Any, int]] = OrderedDict()
        self._bytes = 0

    def prepare(
        self, name: str, key: Sequence[Any], scopes: Sequence[str]
    ) -> tuple[list[str], list[str], Lookup]:
        """(KEYS, ARGV) for cache_redis.LOOKUP, and the Lookup that reads its reply; meant to
        run inside the caller's own script (one round trip with whatever else it does)."""
        prefix = value_prefix(name, key)
        held = self._held.get(prefix)
        keys = [GEN_PREFIX + s for s in scopes]
        return keys, [prefix, held[0] if held else ""], Lookup(self, prefix)

    def held(self, prefix: str, full: str) -> Any | None:
        entry = self._held.get(prefix)
        if entry is None or entry[0] != full:
            return None
        self._held.move_to_end(prefix)
        return entry[1]

    def keep(self, prefix: str, full: str, value: Any, size: int) -> None:
        if size > self.max_bytes:
            return
        old = self._held.pop(prefix, None)
        if old is not None:
            self._bytes -= old[2]
        self._held[prefix] = (full, value, size)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, (_, _, dropped) = self._held.popitem(last=False)
            self._bytes -= dropped

"""Stock locks per product within this worker, and order numbers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from alawael.infra.db import Db
from alawael.infra.resources import Resources


class KeyedLocks:
    """asyncio locks by key, dropped once nobody holds or awaits them.

    Used to queue, inside one worker, the transactions that write the same product's
    stock. Correctness never depends on it (the transaction and its conditional update do
    that, across workers too); it is about throughput: without it, 200 concurrent buyers
    of one product make 199 transactions fail with write conflicts and retry with backoff
    over and over, and SecantusDB (a Python server) spends its time on doomed attempts."""

    def __init__(self) -> None:
        self._locks: dict[object, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, keys: Sequence[object]) -> AsyncIterator[None]:
        """Hold the locks of `keys`, taken in the given (sorted) order: two orders sharing
        products always lock them in the same order, so they can't deadlock."""
        async with contextlib.AsyncExitStack() as stack:
            for key in keys:
                await stack.enter_async_context(self._one(key))
            yield

    @contextlib.asynccontextmanager
    async def _one(self, key: object) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


def stock_locks(res: Resources) -> KeyedLocks:
    """The worker's stock locks (one table per Resources, i.e. per worker lifespan)."""
    locks = res.extras.get("stock_locks")
    if not isinstance(locks, KeyedLocks):
        locks = res.extras["stock_locks"] = KeyedLocks()
    return locks


async def next_order_number(db: Db) -> str:
    """Allocate "ORD-000123" from the `counters` document.

    Deliberately outside the order's transaction: inside it, every concurrent buyer would
    write the same counter document and all but one would abort with a write conflict.
    The price is gaps in the sequence when an order fails after taking its number (out of
    stock, bad input): numbers are unique and increasing, not dense."""
    for _ in range(5):
        try:
            doc = await db.counters.find_one_and_update(
                {"_id": "orders"},
                {"$inc": {"seq": 1}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            # Two first-ever upserts raced to create the document; the retry finds it.
            continue
        # SecantusDB 0.7 answers None (after incrementing) to the losers of concurrent
        # first-ever upserts; another increment is safe, it only leaves a gap.
        if doc is not None:
            break
    else:  # pragma: no cover - needs five lost races in a row
        raise RuntimeError("could not allocate an order number")
    return f"ORD-{int(doc['seq']):06d}"

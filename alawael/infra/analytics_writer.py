"""API analytics records, written in batches off the request path.

Requests call `add()`, which is O(1) and never waits: records go into a bounded in-memory
buffer. A background task inserts them with `insert_many(ordered=False)` every
ANALYTICS_FLUSH_SECONDS, or sooner once ANALYTICS_BATCH_SIZE records are queued. When
MongoDB is slow or down the buffer stops growing at ANALYTICS_BUFFER_SIZE and further
records are dropped and counted (`alawael_analytics_records_dropped_total`): analytics
are worth less than request latency. The buffer is flushed once more on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from alawael.infra import metrics
from alawael.infra.db import Document
from alawael.infra.resources import Resources

log = logging.getLogger("alawael.analytics")

SHUTDOWN_FLUSH_SECONDS = 10.0


class AnalyticsWriter:
    def __init__(
        self,
        collection: AsyncCollection[Document],
        *,
        buffer_size: int,
        batch_size: int,
        flush_seconds: float,
        insert_timeout: float = 5.0,
    ) -> None:
        self.collection = collection
        self.buffer_size = buffer_size
        self.batch_size = min(batch_size, buffer_size)
        self.flush_seconds = flush_seconds
        self.insert_timeout = insert_timeout
        self._buffer: deque[Document] = deque()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        # Plain counters too: tests and logs read them without parsing the registry.
        self.dropped = 0
        self.written = 0
        self.batches = 0

    def __len__(self) -> int:
        return len(self._buffer)

    def add(self, record: Document) -> None:
        """Queue one record; never blocks. Full buffer: the record is dropped and counted."""
        if len(self._buffer) >= self.buffer_size:
            self.dropped += 1
            metrics.ANALYTICS_DROPPED.inc()
            return
        self._buffer.append(record)
        metrics.ANALYTICS_BUFFERED.inc()
        if len(self._buffer) >= self.batch_size:
            self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="analytics-writer")

    async def close(self, grace: float = SHUTDOWN_FLUSH_SECONDS) -> None:
        """Stop the loop and write what is left (bounded: a dead MongoDB cannot hold
        the shutdown hostage)."""
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._buffer:
            log.warning("analytics: %d records not written at shutdown", len(self._buffer))
            metrics.ANALYTICS_BUFFERED.dec(len(self._buffer))

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_seconds)
            self._wake.clear()
            if not await self.flush() and not self._stopping:
                # MongoDB is away: wait a period instead of retrying in a tight loop;
                # meanwhile the bounded buffer absorbs (and then drops) new records.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.flush_seconds)
        await self.flush()

    async def flush(self) -> bool:
        """Write everything queued, one insert_many per batch. False if a batch failed
        (its records go back to the front of the buffer, as far as there is room)."""
        async with self._lock:
            while self._buffer:
                batch = [
                    self._buffer.popleft() for _ in range(min(self.batch_size, len(self._buffer)))
                ]
                metrics.ANALYTICS_BUFFERED.dec(len(batch))
                if not await self._insert(batch):
                    self._requeue(batch)
                    return False
            return True

    async def _insert(self, batch: list[Document]) -> bool:
        try:
            await asyncio.wait_for(
                self.collection.insert_many(batch, ordered=False), self.insert_timeout
            )
        except BulkWriteError as exc:
            # A retried batch may be partly written already (same _ids): duplicates are
            # fine, the rest went in thanks to ordered=False.
            inserted = int(exc.details.get("nInserted", 0))
            self._count(inserted, "partial")
            return True
        except Exception as exc:  # any failure: keep the records, report, back off
            metrics.ANALYTICS_BATCHES.labels("error").inc()
            log.warning("analytics batch of %d not written: %s", len(batch), _describe(exc))
            return False
        self._count(len(batch), "ok")
        return True

    def _count(self, inserted: int, result: str) -> None:
        self.batches += 1
        self.written += inserted
        metrics.ANALYTICS_BATCHES.labels(result).inc()
        metrics.ANALYTICS_WRITTEN.inc(inserted)

    def _requeue(self, batch: list[Document]) -> None:
        room = max(0, self.buffer_size - len(self._buffer))
        keep = batch[:room]
        lost = len(batch) - len(keep)
        self._buffer.extendleft(reversed(keep))
        metrics.ANALYTICS_BUFFERED.inc(len(keep))
        if lost:
            self.dropped += lost
            metrics.ANALYTICS_DROPPED.inc(lost)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


@contextlib.asynccontextmanager
async def analytics_subsystem(res: Resources) -> AsyncIterator[None]:
    """Lifespan subsystem: `res.extras["analytics"]` is the worker's writer while it runs."""
    if not res.settings.analytics_enabled:
        yield
        return
    writer = AnalyticsWriter(
        res.db["analytics"],
        buffer_size=res.settings.analytics_buffer_size,
        batch_size=res.settings.analytics_batch_size,
        flush_seconds=res.settings.analytics_flush_seconds,
        insert_timeout=max(res.settings.mongodb_timeout_ms / 1000, 1.0),
    )
    res.extras["analytics"] = writer
    await writer.start()
    try:
        yield
    finally:
        res.extras.pop("analytics", None)
        await writer.close()

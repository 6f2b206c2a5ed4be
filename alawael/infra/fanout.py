"""One worker's fan-out: channels -> local subscribers, each with a bounded queue.

Every local subscriber of an event receives the *same* `Delivery` object. Its memo lets
subscribers that share a scope (all staff, or one customer) share one re-read of the event,
and its shared loaders batch what different scopes read into one query: 1,000 dashboards on
`orderPlaced` cost one order read, not 1,000.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable
from typing import Any, TypeVar

from alawael.infra.realtime_metrics import SLOW_CONSUMERS_DROPPED

log = logging.getLogger("alawael.realtime.fanout")

Event = dict[str, Any]
T = TypeVar("T")


class SlowConsumer(Exception):
    """The subscriber's queue overflowed: it was dropped and will receive nothing more."""


def _retrieve(task: asyncio.Future[Any]) -> None:
    # Every waiter re-raises a shared failure itself; this only silences asyncio's
    # "exception was never retrieved" when nobody was left waiting.
    if not task.cancelled():
        task.exception()


class Delivery:
    """One event as this worker's subscribers see it, plus what they share about it."""

    __slots__ = ("_memo", "_shared", "channel", "event", "received_at")

    def __init__(self, channel: str, event: Event) -> None:
        self.channel = channel
        self.event = event
        self.received_at = time.perf_counter()
        self._memo: dict[Hashable, asyncio.Future[Any]] = {}
        self._shared: dict[Hashable, Any] = {}

    def shared(self, key: Hashable, factory: Callable[[], T]) -> T:
        """An object built once per event for all its subscribers (e.g. fresh loaders)."""
        try:
            return self._shared[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self._shared[key] = factory()
            return value

    async def memo(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """Run `compute` once per key for this event; concurrent callers await the same run.

        The computation runs as its own task, so a subscriber that disconnects half-way
        cannot cancel it under the others' feet.
        """
        task = self._memo.get(key)
        if task is None:
            task = asyncio.ensure_future(compute())
            task.add_done_callback(_retrieve)
            self._memo[key] = task
        elif task.done():
            # The common case for all but the first subscribers of a scope: no shield, no
            # extra future and callback per subscriber.
            return task.result()  # type: ignore[no-any-return]
        return await asyncio.shield(task)

    def memo_result(self, key: Hashable) -> Any:
        """The value of a finished, successful `memo` run for `key`; None otherwise."""
        task = self._memo.get(key)
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()


class Subscriber:
    """A bounded queue of deliveries for one subscription.

    `offer` never blocks the hub: when the queue is full the subscriber is marked slow,
    emptied, and `on_overflow` is called (the WebSocket layer closes the socket with a
    clear code); its reader then raises `SlowConsumer`. Memory per subscriber is bounded
    by `maxsize` events.
    """

    def __init__(
        self,
        channels: Iterable[str],
        maxsize: int,
        on_overflow: Callable[[], None] | None = None,
    ) -> None:
        self.channels = frozenset(channels)
        self.maxsize = maxsize
        self.on_overflow = on_overflow
        self.overflowed = False
        self._queue: deque[Delivery] = deque()
        self._ready = asyncio.Event()

    def offer(self, delivery: Delivery) -> bool:
        if self.overflowed:
            return False
        if len(self._queue) >= self.maxsize:
            self.overflowed = True
            self._queue.clear()
            self._ready.set()
            SLOW_CONSUMERS_DROPPED.inc()
            log.warning("dropping slow subscriber", extra={"channels": sorted(self.channels)})
            if self.on_overflow is not None:
                self.on_overflow()
            return False
        self._queue.append(delivery)
        self._ready.set()
        return True

    async def get(self) -> Delivery:
        while True:
            if self.overflowed:
                raise SlowConsumer("subscriber queue overflowed")
            if self._queue:
                return self._queue.popleft()
            self._ready.clear()
            await self._ready.wait()

    def drain(self) -> list[Delivery]:
        """Take everything queued now (coalescing readers use it)."""
        items = list(self._queue)
        self._queue.clear()
        return items

    def __len__(self) -> int:
        return len(self._queue)

    def __aiter__(self) -> Subscriber:
        return self

    async def __anext__(self) -> Delivery:
        return await self.get()


class LocalFanout:
    """channel -> subscribers of this worker. Dispatch is synchronous: one pass that only
    appends to queues, so a slow subscriber never delays the others."""

    def __init__(self, queue_size: int) -> None:
        self.queue_size = queue_size
        self._subs: dict[str, set[Subscriber]] = {}

    def dispatch(self, channel: str, event: Event) -> int:
        subs = self._subs.get(channel)
        if not subs:
            return 0
        delivery = Delivery(channel, event)
        delivered = 0
        for sub in list(subs):
            if sub.offer(delivery):
                delivered += 1
            elif sub.overflowed:
                self._remove(sub)
        return delivered

    def subscriber_count(self, channel: str | None = None) -> int:
        if channel is not None:
            return len(self._subs.get(channel, ()))
        return len({sub for subs in self._subs.values() for sub in subs})

    def _remove(self, sub: Subscriber) -> None:
        for channel in sub.channels:
            subs = self._subs.get(channel)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[channel]

    @contextlib.asynccontextmanager
    async def listen(
        self,
        channels: Iterable[str],
        *,
        on_overflow: Callable[[], None] | None = None,
        queue_size: int | None = None,
    ) -> AsyncIterator[Subscriber]:
        sub = Subscriber(channels, queue_size or self.queue_size, on_overflow)
        for channel in sub.channels:
            self._subs.setdefault(channel, set()).add(sub)
        try:
            yield sub
        finally:
            self._remove(sub)

    def clear(self) -> None:
        self._subs.clear()

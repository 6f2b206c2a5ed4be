"""Pub/sub hub feeding GraphQL subscriptions (Redis or in-process).

Events are small dicts that carry ids, never rendered data: each subscriber re-reads what
it is allowed to see, with fresh loaders, when the event arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

Event = dict[str, Any]


class EventHub(Protocol):
    async def publish(self, channel: str, event: Event) -> None: ...

    def subscribe(
        self, channel: str
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[Event]]:
        """`async with hub.subscribe("orders") as events: async for e in events: ...`"""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> str: ...


class MemoryEventHub:
    """In-process fan-out for a single worker (no REDIS_URL)."""

    def __init__(self, queue_size: int = 100) -> None:
        self._subs: dict[str, set[asyncio.Queue[Event]]] = {}
        self._queue_size = queue_size

    async def start(self) -> None:
        return None

    async def publish(self, channel: str, event: Event) -> None:
        for queue in list(self._subs.get(channel, ())):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        self._subs.setdefault(channel, set()).add(queue)

        async def iterate() -> AsyncIterator[Event]:
            while True:
                yield await queue.get()

        try:
            yield iterate()
        finally:
            self._subs[channel].discard(queue)

    async def close(self) -> None:
        self._subs.clear()

    async def ping(self) -> str:
        return "in-process"

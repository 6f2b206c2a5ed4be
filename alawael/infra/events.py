"""Pub/sub hub feeding GraphQL subscriptions (Redis or in-process).

Events are small dicts that carry ids, never rendered data: each subscriber re-reads what
it is allowed to see, with fresh loaders, when the event arrives. Channels and payloads are
listed in docs/data-model.md ("Events").

Publishing is best effort: the write it announces is already committed, so a hub that
cannot reach Redis logs, counts and delivers to this worker's subscribers instead of
failing the mutation.

With Redis (`alawael.infra.events_redis.RedisEventHub`) each worker holds ONE Redis subscription
and dispatches to its local subscribers; `MemoryEventHub` serves a single worker.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Protocol

from alawael.infra.fanout import Delivery, LocalFanout, Subscriber

Event = dict[str, Any]

__all__ = ["Delivery", "Event", "EventHub", "MemoryEventHub", "Subscriber"]


class EventHub(Protocol):
    async def publish(self, channel: str, event: Event) -> None: ...

    def subscribe(
        self, channel: str
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[Event]]:
        """`async with hub.subscribe("orders") as events: async for e in events: ...`"""

    def listen(
        self,
        channels: Iterable[str],
        *,
        on_overflow: Callable[[], None] | None = None,
        queue_size: int | None = None,
    ) -> contextlib.AbstractAsyncContextManager[Subscriber]:
        """A bounded subscriber over several channels, yielding shared `Delivery` objects
        (what GraphQL subscriptions use). Overflow calls `on_overflow` and drops it."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> str: ...


async def _events_of(sub: Subscriber) -> AsyncIterator[Event]:
    async for delivery in sub:
        yield delivery.event


class LocalDelivery:
    """`listen`/`subscribe` through this worker's fan-out: whatever carries events between
    workers (nothing, or Redis), local subscribers are served the same way."""

    fanout: LocalFanout

    def listen(
        self,
        channels: Iterable[str],
        *,
        on_overflow: Callable[[], None] | None = None,
        queue_size: int | None = None,
    ) -> contextlib.AbstractAsyncContextManager[Subscriber]:
        return self.fanout.listen(channels, on_overflow=on_overflow, queue_size=queue_size)

    def subscribe(
        self, channel: str
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[Event]]:
        return subscribe_via(self.fanout, channel)


class MemoryEventHub(LocalDelivery):
    """In-process fan-out for a single worker (no REDIS_URL)."""

    def __init__(self, queue_size: int = 100) -> None:
        self.fanout = LocalFanout(queue_size)

    async def start(self) -> None:
        return None

    async def publish(self, channel: str, event: Event) -> None:
        self.fanout.dispatch(channel, event)

    async def close(self) -> None:
        self.fanout.clear()

    async def ping(self) -> str:
        return "in-process"


def subscribe_via(
    fanout: LocalFanout, channel: str
) -> contextlib.AbstractAsyncContextManager[AsyncIterator[Event]]:
    """`subscribe()` for hubs built on a LocalFanout (shared by the Redis hub)."""

    @contextlib.asynccontextmanager
    async def cm() -> AsyncIterator[AsyncIterator[Event]]:
        async with fanout.listen([channel]) as sub:
            yield _events_of(sub)

    return cm()

"""The event hub across workers and instances: Redis pub/sub.

`publish` sends to the Redis channel `<prefix><channel>` (default prefix "alawael:events:").
Each worker holds ONE pattern subscription (`<prefix>*`) read by one task, which dispatches
every message to the worker's local subscribers (`LocalFanout`): 10,000 WebSockets on a
worker cost one Redis connection, not 10,000.

redis-py's asyncio PubSub does not recover from a lost connection by itself, so `_run` does:
on any error it drops the PubSub, waits (exponential backoff with jitter, capped), opens a new
one and subscribes again, logging the outage and the recovery. Local subscribers are not
touched meanwhile: their WebSockets stay open and receive the events published after the
subscription is back. Events published *during* the outage are lost (pub/sub keeps nothing);
publishers on this worker still reach this worker's subscribers (see `publish`).

A silently dead connection (no RST, e.g. a dropped NAT entry) is caught by pinging Redis
after `IDLE_PING_SECONDS` without traffic and giving up when nothing answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from alawael.config import Settings
from alawael.infra.events import Event, LocalDelivery
from alawael.infra.fanout import LocalFanout
from alawael.infra.realtime_metrics import EVENT_HUB_RECONNECTS, EVENTS_PUBLISH_FAILED
from alawael.infra.tasks import stop_task

log = logging.getLogger("alawael.events")

IDLE_PING_SECONDS = 10.0
READ_TIMEOUT_SECONDS = 1.0
BACKOFF_INITIAL_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 5.0
CLOSE_TIMEOUT_SECONDS = 5.0


class RedisEventHub(LocalDelivery):
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.prefix = settings.events_channel_prefix
        self.fanout = LocalFanout(settings.subscriber_queue_size)
        self.connected = asyncio.Event()
        self.reconnects = 0
        self._task: asyncio.Task[None] | None = None
        self._pubsub: PubSub | None = None

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="alawael-event-hub")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            # Bounded, and cancelled again if redis-py lost a cancellation (see _read).
            await stop_task(task, within=CLOSE_TIMEOUT_SECONDS)
        await self._drop_pubsub()
        self.fanout.clear()

    async def wait_connected(self) -> None:
        """Until the Redis subscription is (back) up; callers bound it with a timeout."""
        await self.connected.wait()

    async def ping(self) -> str:
        if not self.connected.is_set():
            return "subscription down (reconnecting)"
        try:
            await self.redis.ping()
        except Exception as exc:
            return f"error: {exc}"
        return "ok"

    # --- publish / subscribe -------------------------------------------------------------

    async def publish(self, channel: str, event: Event) -> None:
        try:
            await self.redis.publish(self.prefix + channel, orjson.dumps(event))
        except Exception as exc:
            # The write this event announces is committed; failing the mutation now would
            # lie to the client. Other workers miss this event; ours still get it.
            EVENTS_PUBLISH_FAILED.inc()
            log.warning(
                "publishing an event to Redis failed; delivered to this worker only: %s",
                exc,
                extra={"channel": channel},
            )
            self.fanout.dispatch(channel, event)

    # --- the one Redis subscription of this worker --------------------------------------

    async def _run(self) -> None:
        delay = BACKOFF_INITIAL_SECONDS
        down_since: float | None = None
        while True:
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                self._pubsub = pubsub
                await pubsub.psubscribe(self.prefix + "*")
                self.connected.set()
                if down_since is not None:
                    self.reconnects += 1
                    EVENT_HUB_RECONNECTS.inc()
                    log.warning(
                        "event hub re-subscribed to Redis after %.1fs",
                        time.monotonic() - down_since,
                    )
                down_since = None
                delay = BACKOFF_INITIAL_SECONDS
                await self._read(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # redis-py can turn a cancellation that lands mid-read into a
                    # ConnectionError; swallowing it would make close() wait forever.
                    raise asyncio.CancelledError from exc
                if down_since is None:
                    down_since = time.monotonic()
                    log.error("event hub lost its Redis subscription: %s; reconnecting", exc)
                else:
                    log.debug("event hub reconnect failed: %s", exc)
            self.connected.clear()
            await self._drop_pubsub()
            await asyncio.sleep(
                delay * (0.5 + random.random())
            )  # jitter: workers don't reconnect in lockstep
            delay = min(delay * 2, BACKOFF_MAX_SECONDS)

    async def _read(self, pubsub: PubSub) -> None:
        last_seen = time.monotonic()
        pinged = False
        task = asyncio.current_task()
        while True:
            # On Python 3.11 a cancellation that lands as get_message's own timeout expires
            # comes back as that timeout (asyncio.timeout's race, fixed in 3.12), which
            # redis-py answers with None: without this check the loop would read on, and
            # close() (a short CLI command's exit) would wait for it forever.
            if task is not None and task.cancelling():
                raise asyncio.CancelledError
            message = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=READ_TIMEOUT_SECONDS
            )
            now = time.monotonic()
            if message is None:
                idle = now - last_seen
                if pinged and idle > 2 * IDLE_PING_SECONDS:
                    raise ConnectionError(f"no answer from Redis for {idle:.0f}s")
                if not pinged and idle > IDLE_PING_SECONDS:
                    await pubsub.ping()
                    pinged = True
                continue
            last_seen, pinged = now, False
            if message.get("type") == "pmessage":
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        raw_channel = message["channel"]
        name = raw_channel.decode() if isinstance(raw_channel, bytes) else str(raw_channel)
        try:
            event = orjson.loads(message["data"])
        except orjson.JSONDecodeError:
            log.warning("dropping a malformed event", extra={"channel": name})
            return
        if isinstance(event, dict):
            self.fanout.dispatch(name.removeprefix(self.prefix), event)

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

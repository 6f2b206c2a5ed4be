"""Concurrent calls of one Redis script sent together: one pipeline per event-loop turn.

Under load a worker answers many cached requests at once, and each round trip's CPU is
mostly fixed cost (a syscall each way, an event-loop wake-up, redis-py's connection
checkout): ~0.08 ms, about a third of a cache hit. Calls made in the same turn of the event
loop are queued and, at the end of that turn, sent as one pipeline (EVALSHA each, one write,
one read); each caller gets its own reply. Alone, a call goes out as a plain EVALSHA, so an
idle server pays nothing extra. The latency added is at most one turn of the loop.

A NOSCRIPT reply (Redis restarted or flushed its scripts) is retried through redis-py's
Script, which loads the script first; a connection error fails every call of its batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

Keys = Sequence[str]
Args = Sequence[str | int | float]


class ScriptBatches:
    def __init__(self, redis: Redis, source: str) -> None:
        self.redis = redis
        self.script = redis.register_script(source)
        self._queued: list[tuple[Keys, Args, asyncio.Future[Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # for tests and curiosity: pipelines sent
        self.calls = 0

    async def call(self, keys: Keys, args: Args) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._queued:
            loop.call_soon(self._flush)  # after the callbacks already ready in this turn
        self._queued.append((keys, args, future))
        return await future

    def _flush(self) -> None:
        batch, self._queued = self._queued, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[tuple[Keys, Args, asyncio.Future[Any]]]) -> None:
        self.batches += 1
        self.calls += len(batch)
        try:
            if len(batch) == 1:
                keys, args, future = batch[0]
                replies: list[Any] = [await self._evalsha(keys, args)]
            else:
                pipe = self.redis.pipeline(transaction=False)
                for keys, args, _ in batch:
                    pipe.evalsha(self.script.sha, len(keys), *keys, *args)
                replies = await pipe.execute(raise_on_error=False)
        except BaseException as exc:  # every caller of this batch learns of it
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (keys, args, future), reply in zip(batch, replies, strict=True):
            if isinstance(reply, NoScriptError):
                try:
                    reply = await self.script(keys=keys, args=args)  # loads it, then runs
                except Exception as exc:
                    reply = exc
            if future.done():  # the caller was cancelled meanwhile
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _evalsha(self, keys: Keys, args: Args) -> Any:
        try:
            return await self.redis.evalsha(self.script.sha, len(keys), *keys, *args)
        except NoScriptError as exc:
            return exc  # retried like a pipeline's

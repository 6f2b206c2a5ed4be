"""Background loops stop even when a client library swallows a cancellation (seen with
redis-py and PyMongo: a cancellation landing mid-command came back as their own error, the
loop survived it on purpose, and app shutdown waited forever)."""

from __future__ import annotations

import asyncio
import contextlib

from alawael.infra.tasks import stop_task


async def _library_call() -> None:
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        raise ConnectionError("connection closed during the command") from None


async def _resilient_loop(iterations: list[int]) -> None:
    while True:
        iterations.append(1)
        with contextlib.suppress(Exception):  # Redis or MongoDB may be away: keep going
            await _library_call()
        await asyncio.sleep(30)


async def test_a_loop_that_swallowed_its_cancellation_still_stops() -> None:
    iterations: list[int] = []
    task = asyncio.create_task(_resilient_loop(iterations))
    await asyncio.sleep(0)  # the loop is now inside the library call
    # One cancel() is spent on the library call's error; a bare `await task` would hang.
    await asyncio.wait_for(stop_task(task, within=5), 10)
    assert task.cancelled()
    assert iterations == [1]


async def test_stopping_a_finished_or_missing_task_is_a_no_op() -> None:
    async def quick() -> None:
        return None

    task = asyncio.create_task(quick())
    await task
    await stop_task(task)
    await stop_task(None)
    assert task.done()

"""Stopping a worker's background tasks reliably.

`task.cancel()` followed by `await task` can wait forever: client libraries sometimes turn a
cancellation that lands mid-command into their own error (redis-py into ConnectionError,
PyMongo into a PyMongoError) or into an empty read, and a background loop that survives
errors on purpose (the database or Redis may be away) then carries on, its cancellation
spent. Shutdown of the app, a test or a short CLI command then hangs.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)

RETRY_CANCEL_SECONDS = 0.2


async def stop_task(task: asyncio.Task[object] | None, *, within: float = 5.0) -> None:
    """Cancel `task` and wait until it ends, cancelling again if a cancellation was
    swallowed (the next one lands on the loop's next await), for at most `within` seconds.
    Our own cancellation still propagates: asyncio.wait does not suppress it."""
    if task is None or task.done():
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not task.done():
        left = deadline - loop.time()
        if left <= 0:
            log.warning("background task %s did not stop within %.0fs", task.get_name(), within)
            return
        task.cancel()
        await asyncio.wait({task}, timeout=min(RETRY_CANCEL_SECONDS, left))
    if not task.cancelled() and task.exception() is not None:
        log.warning("background task %s ended with %r", task.get_name(), task.exception())

"""Graceful shutdown: WebSockets get 1001 "going away" before uvicorn closes them.

On SIGTERM uvicorn stops accepting, closes open WebSockets with 1012 ("service restart"),
waits up to `timeout_graceful_shutdown` for in-flight HTTP requests, and only *then* runs
the lifespan shutdown (analytics flush, scheduler stop, clients closed). A lifespan hook is
therefore too late for the WebSockets. So the lifespan startup wraps uvicorn's own SIGTERM
handler: ours schedules `close_all(1001)` on the loop and hands over to uvicorn's, whose
shutdown tick comes 0.1 s later; uvicorn's sans-I/O WebSocket protocol sees that a close
frame was sent already and just closes the transport.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from alawael.infra.access_log import WebSocketRegistry

log = logging.getLogger("alawael.shutdown")

GOING_AWAY = 1001


def install_going_away(registry: WebSocketRegistry) -> Callable[[], None]:
    """Wrap the current SIGTERM/SIGINT handlers (uvicorn's, when served by uvicorn); returns
    an undo function. No-op off the main thread or when no Python handler is installed
    (tests driving the app in-process keep their signals)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    installed: dict[int, Callable[[int, FrameType | None], object]] = {}

    def close_sockets() -> None:
        task = loop.create_task(registry.close_all(GOING_AWAY))
        task.add_done_callback(_log_closed)

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous) or previous is signal.default_int_handler:
            continue

        def handler(
            signum: int,
            frame: FrameType | None,
            previous: Callable[[int, FrameType | None], object] = previous,
        ) -> None:
            if registry.open:
                loop.call_soon_threadsafe(close_sockets)
            previous(signum, frame)

        signal.signal(sig, handler)
        installed[sig] = previous

    def undo() -> None:
        for sig, previous in installed.items():
            signal.signal(sig, previous)

    return undo


def _log_closed(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is None:
        log.info("closed %d websocket(s) with 1001 going away", task.result())

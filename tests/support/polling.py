"""Wait for a condition by polling it against a deadline (never a fixed sleep)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


def wait_until(
    predicate: Callable[[], bool], *, within: float = 10.0, every: float = 0.05, what: str = ""
) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within:.0f} s: {what or predicate}")
        time.sleep(every)


async def eventually(
    predicate: Callable[[], Awaitable[bool]],
    *,
    within: float = 10.0,
    every: float = 0.02,
    what: str = "",
) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within:.0f} s: {what or predicate}")
        await asyncio.sleep(every)

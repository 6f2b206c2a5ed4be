"""Per-worker samples for /metrics that nothing else updates: memory and Redis reachability.

Sampled by a small task in every worker (not at scrape time): with several workers a scrape
is answered by one of them, and the others' memory must be current too (multiprocess mode
keeps one series per live pid)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from alawael.infra import metrics
from alawael.infra.resources import Resources
from alawael.infra.tasks import stop_task

SAMPLE_SECONDS = 5.0
_PAGE = os.sysconf("SC_PAGE_SIZE")
# cgroup v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX): treat it as none.
_NO_LIMIT = 1 << 60


def resident_bytes() -> int:
    """This process's resident set (Linux /proc; 0 where there is none)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def memory_limit_bytes() -> int:
    """The cgroup memory limit (v2, then v1) the workers share, else the machine's RAM:
    what the OOM killer measures the workers against."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < _NO_LIMIT:
            return int(text)
    return int(os.sysconf("SC_PHYS_PAGES")) * _PAGE


async def redis_up(res: Resources) -> bool:
    if res.redis is None:
        return True  # in-process mode: nothing to be unreachable
    try:
        return bool(await asyncio.wait_for(res.redis.ping(), 2.0))
    except Exception:
        return False


async def sample(res: Resources) -> None:
    metrics.PROCESS_MEMORY.set(resident_bytes())
    metrics.PROCESS_MEMORY_LIMIT.set(memory_limit_bytes())
    metrics.REDIS_UP.set(1 if await redis_up(res) else 0)


async def _loop(res: Resources, every: float) -> None:
    while True:
        with contextlib.suppress(Exception):  # a sample must never kill the worker
            await sample(res)
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def process_metrics_subsystem(res: Resources) -> AsyncIterator[None]:
    task = asyncio.create_task(_loop(res, SAMPLE_SECONDS))
    try:
        yield
    finally:
        await stop_task(task)

"""A worker settles its heap before serving (alawael.infra.heap): the start-up heap (modules,
schema) is frozen out of garbage collection, and the young-generation threshold is
GC_GEN0_THRESHOLD. Run in a fresh interpreter through the worker's entry point
(`app_factory`), as uvicorn runs it: this test process must keep Python's defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

SCRIPT = """
import gc, json
before = gc.get_threshold()
from alawael.server import app_factory
app_factory()
print(json.dumps({"before": before, "after": gc.get_threshold(), "frozen": gc.get_freeze_count()}))
"""


def _worker_heap(**env: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**os.environ, "ENV": "test", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_worker_freezes_its_start_up_heap_and_raises_the_young_threshold() -> None:
    heap = _worker_heap(GC_GEN0_THRESHOLD="12345")
    assert heap["after"] == [12345, *heap["before"][1:]]
    # The schema and the modules behind it: tens of thousands of objects no collection
    # needs to scan again.
    assert heap["frozen"] > 50_000


def test_zero_keeps_pythons_thresholds() -> None:
    heap = _worker_heap(GC_GEN0_THRESHOLD="0")
    assert heap["after"] == heap["before"]
    assert heap["frozen"] > 50_000

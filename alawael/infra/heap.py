"""The worker's garbage-collector settings, applied once the app is built.

A GraphQL worker holds a large heap that lives as long as the process (modules, the schema,
graphql-core's type maps, compiled validation rules: about 110,000 tracked objects), and
creates many short-lived ones per request and per subscription event. CPython's cyclic
collector scans every tracked object of the old generation on each full collection, so with
1,000 live subscriptions one full collection paused the worker 50-225 ms, and a fan-out
event that met one missed its latency target (`python -m bench.fanout`).

Two standard remedies, both from the `gc` module's documentation:
- `gc.freeze()` after start-up moves everything alive then into a permanent generation that
  collections skip (a `gc.collect()` first, so no garbage is frozen with it);
- a higher young-generation threshold (GC_GEN0_THRESHOLD), so that objects which die within
  one request or event are freed by reference counting before a collection promotes them,
  and the old generation grows (and gets fully collected) far less often.
"""

from __future__ import annotations

import gc
import logging

from alawael.config import Settings

log = logging.getLogger("alawael.heap")


def settle_heap(settings: Settings) -> None:
    """Freeze the start-up heap and apply GC_GEN0_THRESHOLD. Call once per worker process,
    after the app (schema included) is built and before it serves."""
    gc.collect()
    gc.freeze()
    if settings.gc_gen0_threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(settings.gc_gen0_threshold, gen1, gen2)
    log.debug(
        "heap settled: %d objects frozen, thresholds %s", gc.get_freeze_count(), gc.get_threshold()
    )

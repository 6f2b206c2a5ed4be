"""Realtime metrics. The two gauges are defined with the rest in `alawael.infra.metrics` (which
serves /metrics): `alawael_websockets_open` is kept by the access middleware,
`alawael_subscriptions_active` by `alawael.realtime.stream`. The counters below are ours.
"""

from __future__ import annotations

from prometheus_client import Counter

from alawael.infra.metrics import SUBSCRIPTIONS_ACTIVE, WEBSOCKETS_OPEN

__all__ = [
    "EVENTS_PUBLISH_FAILED",
    "EVENT_HUB_RECONNECTS",
    "SLOW_CONSUMERS_DROPPED",
    "SUBSCRIPTIONS_ACTIVE",
    "WEBSOCKETS_OPEN",
]

SLOW_CONSUMERS_DROPPED = Counter(
    "alawael_slow_consumers_dropped_total",
    "Subscribers dropped because their bounded queue overflowed (socket closed with 4008).",
)
EVENTS_PUBLISH_FAILED = Counter(
    "alawael_events_publish_failed_total",
    "Events that could not be published to Redis (delivered to this worker only).",
)
EVENT_HUB_RECONNECTS = Counter(
    "alawael_event_hub_reconnects_total",
    "Times a worker's Redis event subscription was re-established after a failure.",
)

"""Realtime delivery: per-worker fan-out to bounded subscriber queues, per-event sharing of
re-reads, and the machinery GraphQL subscriptions are written with.

- `fanout`: `Delivery` (one event as every local subscriber sees it, with a memo shared by
  them) and `Subscriber` (a bounded queue; overflow drops the subscriber, never grows).
- `stream`: `follow(...)`, the loop every subscription resolver runs: fresh loaders per event,
  liveness re-check, scope-shared re-reads, slow-consumer close.
- `liveness`: the per-event session re-check, batched; `session_keeper`: keeps the open
  subscriptions' session answers fresh between events (and closes a socket whose session
  a renewal finds over).
- `metrics`: gauges of open WebSockets and active subscriptions.
"""

"""Fan-out latency: 1,000 `orderPlaced` subscribers on one worker.

    python -m bench.fanout [--subscribers 1000] [--events 30] [--redis redis://...]

Each subscriber is a real GraphQL subscription (schema.subscribe with its own staff user and
session, as a WebSocket connection would run it, minus the socket), admitted as a socket is
(its session checked once). The events start after a quiet spell longer than
SESSION_CHECK_TTL_SECONDS (every admission answer expired: the PWA's usual case), so the
first event shows what a quiet spell costs. For each event an order is inserted and
ORDER_PLACED published; latency is publish -> the subscriber's ExecutionResult. Printed:
p50/p99/max over all deliveries, the time until the last subscriber had each event, and how
many order reads the events cost - with the per-event re-read shared per scope (the
default) and, for comparison, with sharing switched off.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

from alawael.auth.permissions import Actor, Role
from alawael.auth.sessions import check_session
from alawael.config import Settings
from alawael.context import Context, Resources
from alawael.infra import fanout
from alawael.infra.db import EmbeddedMongo
from alawael.infra.heap import settle_heap
from alawael.loaders.orders import OrderByIdLoader
from alawael.schema.build import exported_schema
from alawael.server import open_resources

schema = exported_schema()

QUERY = "subscription { orderPlaced { id number status total customer { email } } }"


async def make_staff(res: Resources, count: int) -> list[Actor]:
    now = datetime.now(UTC)
    users = [
        {
            "_id": ObjectId(),
            "email": f"staff{i}-{uuid.uuid4().hex[:6]}@bench.example",
            "name": f"Staff {i}",
            "role": Role.STAFF.value,
            "active": True,
            "passwordHash": None,
            "createdAt": now,
            "updatedAt": now,
        }
        for i in range(count)
    ]
    await res.db.users.insert_many(users)
    sessions: list[dict[str, Any]] = [
        {
            "_id": ObjectId(),
            "userId": u["_id"],
            "refreshHash": "x",
            "previousHashes": [],
            "revoked": False,
            "createdAt": now,
            "lastUsedAt": now,
            "expireAt": now + timedelta(days=1),
        }
        for u in users
    ]
    await res.db.sessions.insert_many(sessions)
    return [
        Actor(user_id=str(u["_id"]), role=Role.STAFF, session_id=str(s["_id"]))
        for u, s in zip(users, sessions, strict=True)
    ]


async def insert_order(res: Resources, customer: Actor, number: str) -> ObjectId:
    """A PENDING order of `customer`, written straight to the database (what an event is
    about; placing it through the service would add its own cost to the figures)."""
    oid = ObjectId()
    now = datetime.now(UTC)
    await res.db.orders.insert_one(
        {
            "_id": oid,
            "number": f"{number}-{uuid.uuid4().hex[:4]}",
            "userId": ObjectId(customer.user_id),
            "items": [],
            "subtotalCents": 1000,
            "totalCents": 1000,
            "currency": "SAR",
            "status": "PENDING",
            "statusHistory": [],
            "createdAt": now,
            "updatedAt": now,
        }
    )
    return oid


async def run(
    res: Resources, subscribers: int, events: int, quiet_seconds: float | None = None
) -> dict[str, Any]:
    settle_heap(res.settings)  # as a worker does before it serves (alawael.server.app_factory)
    actors = await make_staff(res, subscribers)
    customer = (await make_staff(res, 1))[0]
    latencies: list[float] = []
    last_arrival: list[float] = []
    # This process's CPU per event, publish -> last subscriber: what bounds the latency on
    # an idle core, and unlike wall-clock figures not inflated by other load on the machine.
    cpu_per_event: list[float] = []
    cpu_at_publish = 0.0
    received = 0
    published_at = 0.0
    all_in = asyncio.Event()

    async def consume(actor: Actor) -> None:
        nonlocal received
        # The socket's admission: connection_init's token check reads the session once.
        assert actor.session_id is not None
        await check_session(res, user_id=actor.user_id, session_id=actor.session_id)
        ctx = Context(resources=res, user=actor)
        stream = await schema.subscribe(QUERY, context_value=ctx)
        assert isinstance(stream, AsyncIterator)
        async for result in stream:
            assert not result.errors, result.errors
            now = time.perf_counter()
            latencies.append(now - published_at)
            received += 1
            if received % subscribers == 0:
                last_arrival.append(now - published_at)
                cpu_per_event.append(time.process_time() - cpu_at_publish)
                all_in.set()

    tasks = [asyncio.create_task(consume(a)) for a in actors]
    fan = res.events.fanout  # type: ignore[attr-defined]
    while fan.subscriber_count("orders") < subscribers:  # noqa: ASYNC110 (a count, no event)
        await asyncio.sleep(0.01)
    if quiet_seconds is None:
        quiet_seconds = 2 * res.settings.session_check_ttl_seconds + 1
    await asyncio.sleep(quiet_seconds)

    reads = 0
    original = OrderByIdLoader.batch_load_fn

    async def counting(self: OrderByIdLoader, keys: Any) -> Any:
        nonlocal reads
        reads += 1
        return await original(self, keys)

    setattr(OrderByIdLoader, "batch_load_fn", counting)  # noqa: B010 (patched for the run)
    try:
        for n in range(events):
            oid = await insert_order(res, customer, f"ORD-B{n:05d}")
            all_in.clear()
            published_at = time.perf_counter()
            cpu_at_publish = time.process_time()
            await res.events.publish(
                "orders",
                {"type": "ORDER_PLACED", "orderId": str(oid), "userId": customer.user_id},
            )
            await asyncio.wait_for(all_in.wait(), 120)
    finally:
        setattr(OrderByIdLoader, "batch_load_fn", original)  # noqa: B010
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    ordered = sorted(latencies)
    # After the first event: what a steady flow of events sees. The first one comes after
    # the quiet spell (first renders, and before the session keeper, every session re-read).
    warm = sorted(latencies[subscribers:]) or ordered
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p95_ms": _pct(ordered, 0.95),
        "p99_ms": _pct(ordered, 0.99),
        "max_ms": 1000 * ordered[-1],
        "warm_p50_ms": 1000 * statistics.median(warm),
        "warm_p95_ms": _pct(warm, 0.95),
        "warm_p99_ms": _pct(warm, 0.99),
        "warm_max_ms": 1000 * warm[-1],
        "first_event_ms": 1000 * last_arrival[0],
        "quiet_seconds": quiet_seconds,
        "last_subscriber_p50_ms": 1000 * statistics.median(last_arrival),
        "last_subscriber_ms": [round(1000 * t, 1) for t in last_arrival],
        "cpu_ms_per_event_p50": 1000 * statistics.median(cpu_per_event),
        "cpu_ms_per_event": [round(1000 * t, 1) for t in cpu_per_event],
        "order_reads_per_event": reads / events,
        "deliveries": len(ordered),
    }


def _pct(ordered: list[float], q: float) -> float:
    return 1000 * ordered[int(q * (len(ordered) - 1))]


class _Unshared:
    """Switches per-event sharing off: every subscriber re-reads with its own loaders, as a
    naive `ctx.fresh()` per subscriber would."""

    def __enter__(self) -> None:
        self.memo, self.shared = fanout.Delivery.memo, fanout.Delivery.shared

        async def memo(self_: fanout.Delivery, key: Any, compute: Any) -> Any:
            return await compute()

        def shared(self_: fanout.Delivery, key: Any, factory: Any) -> Any:
            return factory()

        setattr(fanout.Delivery, "memo", memo)  # noqa: B010
        setattr(fanout.Delivery, "shared", shared)  # noqa: B010

    def __exit__(self, *exc: object) -> None:
        setattr(fanout.Delivery, "memo", self.memo)  # noqa: B010
        setattr(fanout.Delivery, "shared", self.shared)  # noqa: B010


def _report(label: str, r: dict[str, Any], subscribers: int) -> None:
    print(
        f"{label:<28} p50 {r['p50_ms']:7.1f} ms   p95 {r['p95_ms']:7.1f} ms   "
        f"p99 {r['p99_ms']:7.1f} ms   max {r['max_ms']:7.1f} ms   all {subscribers} in (median) "
        f"{r['last_subscriber_p50_ms']:7.1f} ms   cpu/event (median) "
        f"{r['cpu_ms_per_event_p50']:6.1f} ms   order reads/event {r['order_reads_per_event']:.0f}"
    )
    print(
        f"{'':<28} after the first event: p50 {r['warm_p50_ms']:7.1f} ms   "
        f"p95 {r['warm_p95_ms']:7.1f} ms   p99 {r['warm_p99_ms']:7.1f} ms   "
        f"max {r['warm_max_ms']:7.1f} ms   first event (after {r['quiet_seconds']:.0f} s "
        f"quiet) all in {r['first_event_ms']:7.1f} ms"
    )


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        uri = args.mongodb_uri
        embedded = None
        if uri is None:
            embedded = EmbeddedMongo(tmp)
            uri = await asyncio.to_thread(embedded.start)
        try:
            for label, unshared, events in (
                ("shared re-read (default)", False, args.events),
                ("unshared (for comparison)", True, max(3, args.events // 4)),
            ):
                settings = Settings(
                    env="test",
                    mongodb_uri=uri,
                    mongodb_db=f"bench_{uuid.uuid4().hex[:8]}",
                    redis_url=args.redis,
                    events_channel_prefix=f"bench{uuid.uuid4().hex[:6]}:",
                    subscriber_queue_size=100,
                    jobs_enabled=False,
                    analytics_enabled=False,
                    cache_enabled=False,
                )
                async with open_resources(settings) as res:
                    if args.redis:
                        hub: Any = res.events
                        await asyncio.wait_for(hub.wait_connected(), 10)
                    try:
                        if unshared:
                            with _Unshared():
                                result = await run(res, args.subscribers, events)
                        else:
                            result = await run(res, args.subscribers, events)
                    finally:
                        await res.client.drop_database(settings.mongodb_db)
                _report(label, result, args.subscribers)
        finally:
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--redis", default=None, help="REDIS_URL: fan out through Redis")
    parser.add_argument("--mongodb-uri", default=None, help="default: an embedded SecantusDB")
    args = parser.parse_args()
    print(
        f"fan-out: {args.subscribers} orderPlaced subscribers on one worker, "
        f"{'Redis' if args.redis else 'in-process'} hub"
    )
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()

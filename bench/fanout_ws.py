"""Fan-out over real WebSockets: 1,000 `orderPlaced` subscribers on one `alawael serve` worker.

    python -m bench.fanout_ws [--subscribers 1000] [--events 30]

What bench.fanout measures inside one process, measured from outside: the server runs as
production runs it (`alawael serve`, one worker pinned to the server core, Redis for events),
each subscriber is a socket speaking graphql-transport-ws with its own staff user's access
token, and an event is published to Redis the way another worker's `placeOrder` publishes
it. Latency is the publish -> the `next` frame arriving at the subscriber's socket.

The client is deliberately thin (a raw asyncio protocol: handshake, masked client frames,
frame headers read, nothing decoded but the message type), so that reading 1,000 sockets in
one Python process adds little to the figures; what it does add is included (the client
shares the other core with the database).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import struct
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from alawael.auth.tokens import issue_access_token
from alawael.config import Settings
from alawael.server import open_resources
from bench import infra, report
from bench.fanout import insert_order, make_staff

SUBSCRIBE = "subscription { orderPlaced { id number status total customer { email } } }"


def _frame(text: str) -> bytes:
    """A masked client text frame (RFC 6455 5.2)."""
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    key = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return header + mask + masked


class Subscriber(asyncio.Protocol):
    """One socket: upgrade, connection_init, subscribe; then the arrival time of each
    `next` frame."""

    def __init__(self, host: str, port: int, token: str, run: Run) -> None:
        self.host, self.port, self.token, self.run = host, port, token, run
        self.buf = b""
        self.upgraded = False
        self.subscribed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET /graphql HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
            ).encode()
        )

    def send(self, message: dict[str, Any]) -> None:
        assert self.transport is not None
        self.transport.write(_frame(json.dumps(message)))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buf += data
        if not self.upgraded:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if not sep:
                return
            if not head.startswith(b"HTTP/1.1 101"):
                self._fail(f"upgrade refused: {head.splitlines()[0]!r}")
                return
            self.upgraded, self.buf = True, rest
            self.send({"type": "connection_init", "payload": {"authorization": self.token}})
        while len(self.buf) >= 2:
            opcode, length = self.buf[0] & 0x0F, self.buf[1] & 0x7F
            start = 2
            if length == 126:
                if len(self.buf) < 4:
                    return
                length, start = struct.unpack("!H", self.buf[2:4])[0], 4
            elif length == 127:
                if len(self.buf) < 10:
                    return
                length, start = struct.unpack("!Q", self.buf[2:10])[0], 10
            if len(self.buf) < start + length:
                return
            payload, self.buf = self.buf[start : start + length], self.buf[start + length :]
            if opcode == 0x8:
                self._fail(f"closed by the server: {payload[:2].hex()} {payload[2:]!r}")
                return
            self._message(payload, now)

    def _message(self, payload: bytes, now: float) -> None:
        # The type is all a subscriber needs to tell apart; decoding every payload would
        # be the client's cost, not the server's.
        if b'"connection_ack"' in payload:
            self.send({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
            if not self.subscribed.done():
                self.subscribed.set_result(None)
        elif b'"next"' in payload:
            if b"orderPlaced" not in payload or b'"errors"' in payload:
                self._fail(f"unexpected result: {payload[:200]!r}")
                return
            self.run.arrived(now)
        elif b'"ping"' in payload:
            self.send({"type": "pong"})
        elif b'"error"' in payload:
            self._fail(f"error: {payload[:200]!r}")

    def _fail(self, why: str) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(RuntimeError(why))
        else:
            self.run.failures.append(why)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(RuntimeError(f"connection lost: {exc}"))


class Run:
    def __init__(self, subscribers: int) -> None:
        self.subscribers = subscribers
        self.published_at = 0.0
        self.latencies: list[float] = []
        self.received = 0
        self.all_in = asyncio.Event()
        self.failures: list[str] = []

    def arrived(self, now: float) -> None:
        self.latencies.append(now - self.published_at)
        self.received += 1
        if self.received % self.subscribers == 0:
            self.all_in.set()


def _subscriptions_active(server: infra.Server) -> float:
    r = httpx.get(f"{server.url}/metrics", headers=server.metrics_headers, timeout=5)
    r.raise_for_status()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in r.text.splitlines()
        if line.startswith("alawael_subscriptions_active")
    )


async def measure(
    env: infra.Environment, server: infra.Server, subscribers: int, events: int
) -> dict[str, Any]:
    settings = Settings(
        env="production",
        jwt_secret=env.jwt_secret,
        mongodb_uri=env.mongo_uri,
        mongodb_db=env.db_name,
        redis_url=env.redis_url,
        jobs_enabled=False,
        analytics_enabled=False,
    )
    async with open_resources(settings) as res:
        await asyncio.wait_for(res.events.wait_connected(), 10)  # type: ignore[attr-defined]
        actors = await make_staff(res, subscribers)
        customer = (await make_staff(res, 1))[0]
        run = Run(subscribers)
        loop = asyncio.get_running_loop()
        sockets: list[Subscriber] = []
        for start in range(0, subscribers, 50):  # handshakes in small waves
            batch = []
            for actor in actors[start : start + 50]:
                assert actor.session_id is not None
                token = issue_access_token(
                    settings, user_id=actor.user_id, role=actor.role, session_id=actor.session_id
                )
                sub = Subscriber("127.0.0.1", server.port, f"Bearer {token}", run)
                await loop.create_connection(lambda s=sub: s, "127.0.0.1", server.port)  # type: ignore[misc]
                batch.append(sub)
            await asyncio.gather(*(s.subscribed for s in batch))
            sockets += batch
        deadline = time.monotonic() + 30
        while await asyncio.to_thread(_subscriptions_active, server) < subscribers:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start every subscription")
            await asyncio.sleep(0.1)
        # A quiet spell longer than the session-check TTL (2 s): every admission answer
        # would have expired without the session keeper.
        await asyncio.sleep(5)
        last_arrival: list[float] = []
        cpu_per_event: list[float] = []
        for n in range(events):
            oid = await insert_order(res, customer, f"ORD-W{n:05d}")
            run.all_in.clear()
            cpu_before = infra.cpu_seconds(server.pid)
            run.published_at = time.perf_counter()
            await res.events.publish(
                "orders",
                {"type": "ORDER_PLACED", "orderId": str(oid), "userId": customer.user_id},
            )
            await asyncio.wait_for(run.all_in.wait(), 60)
            last_arrival.append(time.perf_counter() - run.published_at)
            cpu_per_event.append(infra.cpu_seconds(server.pid) - cpu_before)
            await asyncio.sleep(0.2)  # let the server's writes drain before the next event
        for sock in sockets:
            if sock.transport is not None:
                sock.transport.close()
        if run.failures:
            raise RuntimeError(f"{len(run.failures)} failures, first: {run.failures[0]}")
    ordered = sorted(run.latencies)
    warm = sorted(run.latencies[subscribers:]) or ordered
    return {
        "subscribers": subscribers,
        "events": events,
        "p50_ms": 1000 * statistics.median(ordered),
        "p95_ms": _pct(ordered, 0.95),
        "p99_ms": _pct(ordered, 0.99),
        "max_ms": 1000 * ordered[-1],
        "warm_p99_ms": _pct(warm, 0.99),
        "first_event_ms": 1000 * last_arrival[0],
        "last_subscriber_p50_ms": 1000 * statistics.median(last_arrival),
        "server_cpu_ms_per_event_p50": 1000 * statistics.median(cpu_per_event),
        "server_rss_mb": infra.rss_mb(server.pid),
    }


def _pct(ordered: list[float], q: float) -> float:
    return 1000 * ordered[int(q * (len(ordered) - 1))]


def run(mongo_uri: str, redis_url: str, workdir: Path, subscribers: int, events: int) -> Any:
    """A server of its own on the given database server and Redis (a fresh database), the
    subscribers' client pinned beside the database, off the server's core."""
    env = infra.Environment(mongo_uri, redis_url, f"fanout_ws_{uuid.uuid4().hex[:6]}")
    server = infra.Server(env.env(), workdir / "fanout-ws-server.log").start()
    pinned = os.sched_getaffinity(0)
    infra.taskset(os.getpid(), infra.DB_CORE)
    try:
        return asyncio.run(measure(env, server, subscribers, events))
    finally:
        os.sched_setaffinity(0, pinned)
        server.stop()


def main_sync(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="alawael-fanout-ws-") as tmp:
        workdir = Path(tmp)
        db = infra.start_database(workdir)
        redis = infra.start_redis(workdir)
        try:
            result: dict[str, Any] = run(db.uri, redis.url, workdir, args.subscribers, args.events)
            return result
        finally:
            redis.stop()
            db.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=30)
    args = parser.parse_args()
    print(report.fanout_ws_line(main_sync(args)))


if __name__ == "__main__":
    main()

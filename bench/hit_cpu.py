"""Per-hit server CPU of an operation-cache hit, measured in-process (`make bench` prints it).

The figure from a server under load (cpu ms in the main table) mixes in uvicorn's HTTP
parsing and moves with whatever else the machine runs. This one calls the ASGI app directly
(the full middleware stack, production settings, real Redis and the seeded database, rate
limits on with a budget that never runs out) N times with the dashboard request and reads
this process's CPU time; the same loop against a bare ASGI app sending the same bytes gives
the floor of the harness itself. Printed, never asserted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import MutableMapping
from typing import Any

from alawael.config import Settings
from alawael.server import create_app
from bench import infra

HITS = 3000


def _scope(app: Any, body: bytes, headers: dict[str, str], gzip: bool) -> dict[str, Any]:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw += [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"accept", b"application/graphql-response+json"),
    ]
    if gzip:
        raw.append((b"accept-encoding", b"gzip, deflate"))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": raw,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "app": app,
    }


async def _drive(app: Any, body: bytes, headers: dict[str, str], n: int, gzip: bool) -> float:
    """CPU ms per request over n sequential requests; checks every answer is a 200."""
    statuses: list[int] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def call() -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:  # only after the response: nothing here reads on
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(_scope(app, body, headers, gzip), receive, send)

    for _ in range(20):  # warm: the first fill, lazy imports, the session check
        await call()
    statuses.clear()
    start = time.process_time()
    for _ in range(n):
        await call()
    cpu = time.process_time() - start
    assert statuses == [200] * n, sorted(set(statuses))
    return 1000 * cpu / n


async def _measure(env: infra.Environment, body: bytes, auth: dict[str, str]) -> dict[str, Any]:
    base = env.settings()
    settings = Settings(
        **{
            **base.model_dump(),
            "redis_url": env.redis_url,
            "log_level": "WARNING",
            "jobs_enabled": False,
            "rate_limit_enabled": True,
            "rate_limit_default": "1000000000/minute",
            "rate_limit_user": "1000000000/minute",
        }
    )
    app = create_app(settings)
    out: dict[str, Any] = {"hits": HITS}
    async with app.router.lifespan_context(app):
        out["identity_ms"] = round(await _drive(app, body, auth, HITS, gzip=False), 4)
        out["gzip_ms"] = round(await _drive(app, body, auth, HITS, gzip=True), 4)
        answer: list[bytes] = []

        async def capture(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.body":
                answer.append(message.get("body", b""))

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        scope = _scope(app, body, auth, gzip=False)
        await app(scope, receive, capture)
    payload = b"".join(answer)

    async def bare(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    out["bare_ms"] = round(await _drive(bare, body, auth, HITS, gzip=False), 4)
    out["body_bytes"] = len(payload)
    return out


def measure(env: infra.Environment, body: bytes, auth: dict[str, str]) -> dict[str, Any]:
    return asyncio.run(_measure(env, body, auth))

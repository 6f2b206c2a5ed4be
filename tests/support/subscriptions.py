"""Real-WebSocket helpers for subscription tests: uvicorn in the test's event loop, the
`websockets` client speaking graphql-transport-ws or graphql-ws, and events to deliver."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import uvicorn
from bson import ObjectId
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from alawael.auth.permissions import Role
from alawael.auth.sessions import create_session
from alawael.auth.tokens import issue_access_token
from alawael.context import Resources
from alawael.infra.db import free_port
from alawael.server import create_app
from alawael.services import orders
from tests.conftest import make_settings
from tests.support.graphql import make_user
from tests.support.polling import eventually

ORDER_PLACED = "subscription { orderPlaced { number status } }"
TRANSPORT = "graphql-transport-ws"
LEGACY = "graphql-ws"


@contextlib.asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """uvicorn on a free port inside the test's event loop (the lifespan already ran)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="error")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def running_app(mongo_uri: str, **overrides: Any) -> AsyncIterator[tuple[str, Resources]]:
    settings = make_settings(mongo_uri, **overrides)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        res: Resources = app.state.resources
        async with serving(app) as url:
            yield url, res
        await res.client.drop_database(settings.mongodb_db)


async def token_for(res: Resources, role: Role) -> tuple[str, ObjectId]:
    actor = await make_user(res, role)
    session, _ = await create_session(res, ObjectId(actor.user_id), user_agent=None, ip=None)
    token = issue_access_token(
        res.settings, user_id=actor.user_id, role=role, session_id=str(session["_id"])
    )
    return token, session["_id"]


async def open_ws(
    url: str, token: str | None, protocol: str = TRANSPORT, **kw: Any
) -> ClientConnection:
    ws = await connect(url, subprotocols=[protocol], **kw)  # type: ignore[list-item]
    payload = {"authorization": f"Bearer {token}"} if token else {}
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    return ws


async def recv(ws: ClientConnection, wait: float = 3.0, skip: tuple[str, ...] = ()) -> Any:
    while True:
        frame = await asyncio.wait_for(ws.recv(), wait)
        assert isinstance(frame, str), "GraphQL over WebSocket uses text frames"
        message = json.loads(frame)
        if message["type"] not in skip:
            return message


async def subscribe(ws: ClientConnection, query: str, op_id: str = "1") -> None:
    await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": {"query": query}}))


async def closed_with(ws: ClientConnection, wait: float = 5.0) -> int | None:
    with contextlib.suppress(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), wait)
    return ws.close_code


async def placed(res: Resources, count: int = 1) -> None:
    """Publish ORDER_PLACED for a real order (what placeOrder publishes)."""
    customer = await make_user(res, Role.CUSTOMER)
    now = datetime.now(UTC)
    for _ in range(count):
        oid = ObjectId()
        await res.db.orders.insert_one(
            {
                "_id": oid,
                "number": f"ORD-{oid}",
                "userId": ObjectId(customer.user_id),
                "items": [],
                "subtotalCents": 0,
                "totalCents": 0,
                "currency": "SAR",
                "status": "PENDING",
                "statusHistory": [],
                "createdAt": now,
                "updatedAt": now,
            }
        )
        await res.events.publish(
            orders.ORDERS_CHANNEL,
            {"type": "ORDER_PLACED", "orderId": str(oid), "userId": customer.user_id},
        )


async def subscribers(res: Resources, channel: str, count: int = 1) -> None:
    """Until `count` subscriptions listen on `channel` in this worker: publishing before a
    subscription registered would lose the event (the test would race the server)."""

    async def ready() -> bool:
        return int(res.events.fanout.subscriber_count(channel)) >= count  # type: ignore[attr-defined]

    await eventually(ready, what=f"{count} subscriber(s) on {channel!r}")

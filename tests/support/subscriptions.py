"""Real-WebSocket helpers for subscription tests: uvicorn in the test's event loop, the
`websockets` client speaking graphql-transport-ws or graphql-ws, and events to deliver."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.services import orders
from tests.support import ws
from tests.support.graphql import make_user
from tests.support.polling import eventually

ORDER_PLACED = "subscription { orderPlaced { number status } }"
TRANSPORT = "graphql-transport-ws"
LEGACY = "graphql-ws"


@contextlib.asynccontextmanager
async def running_app(mongo_uri: str, **overrides: Any) -> AsyncIterator[tuple[str, Resources]]:
    """The app served by uvicorn in this loop: (its GraphQL WebSocket URL, its Resources)."""
    async with ws.running_app(mongo_uri, **overrides) as served:
        yield served.ws, served.resources


async def token_for(res: Resources, role: Role) -> tuple[str, ObjectId]:
    """(access token, session id) of a new user of `role` with a live session."""
    token, _, session_id = await ws.signed_in_token(res, role)
    return token, session_id


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

"""Subscriptions over real WebSockets (uvicorn in this process, the `websockets` client):
both protocols, auth on connect, text frames, keepalive, origin checks, the per-connection
limit, the slow-consumer drop and the end of a revoked session."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
from bson import ObjectId
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from alawael.auth.permissions import Role
from alawael.auth.sessions import create_session, revoke_session
from alawael.auth.tokens import issue_access_token
from alawael.context import Resources
from alawael.infra.db import free_port
from alawael.server import create_app
from alawael.services import orders
from tests.conftest import make_settings
from tests.support.graphql import make_user

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


async def test_transport_ws_authenticates_and_delivers(mongo_uri: str) -> None:
    async with running_app(mongo_uri, ws_keepalive_seconds=0.2) as (url, res):
        token, _ = await token_for(res, Role.STAFF)
        async with await open_ws(url, token) as ws:
            assert (await recv(ws))["type"] == "connection_ack"
            await subscribe(ws, ORDER_PLACED)
            await asyncio.sleep(0.1)
            await placed(res)
            message = await recv(ws, skip=("ping",))
            assert message["type"] == "next"
            assert message["payload"]["data"]["orderPlaced"]["status"] == "PENDING"
            # The server pings on its own (graphql-transport-ws keepalive).
            assert (await recv(ws, wait=2))["type"] == "ping"


async def test_bad_token_is_refused_with_4403(mongo_uri: str) -> None:
    async with running_app(mongo_uri) as (url, _res), await open_ws(url, "not-a-token") as ws:
        assert await closed_with(ws) == 4403


async def test_customer_cannot_subscribe_to_staff_feed(mongo_uri: str) -> None:
    async with running_app(mongo_uri) as (url, res):
        token, _ = await token_for(res, Role.CUSTOMER)
        async with await open_ws(url, token) as ws:
            await recv(ws)
            await subscribe(ws, ORDER_PLACED)
            message = await recv(ws)
            assert message["type"] in ("error", "next")
            errors = (
                message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            )
            assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_legacy_graphql_ws_protocol(mongo_uri: str) -> None:
    async with running_app(mongo_uri, ws_keepalive_seconds=0.2) as (url, res):
        token, _ = await token_for(res, Role.STAFF)
        async with await open_ws(url, token, protocol=LEGACY) as ws:
            assert (await recv(ws))["type"] == "connection_ack"
            assert (await recv(ws))["type"] == "ka"
            await ws.send(
                json.dumps({"id": "a", "type": "start", "payload": {"query": ORDER_PLACED}})
            )
            await asyncio.sleep(0.1)
            await placed(res)
            message = await recv(ws, skip=("ka",))
            assert message["type"] == "data"
            assert message["payload"]["data"]["orderPlaced"]["status"] == "PENDING"


async def test_slow_consumer_is_dropped_with_4008(mongo_uri: str) -> None:
    async with running_app(mongo_uri, subscriber_queue_size=5) as (url, res):
        token, _ = await token_for(res, Role.STAFF)
        async with await open_ws(url, token) as ws:
            await recv(ws)
            await subscribe(ws, ORDER_PLACED)
            for _ in range(100):
                if res.events.fanout.subscriber_count("orders"):  # type: ignore[attr-defined]
                    break
                await asyncio.sleep(0.01)
            # More events in one burst than the queue holds.
            for i in range(20):
                await res.events.publish("orders", {"type": "ORDER_PLACED", "orderId": str(i)})
            assert await closed_with(ws) == 4008
            assert ws.close_reason
            assert "slow consumer" in ws.close_reason.lower()
        assert res.events.fanout.subscriber_count() == 0  # type: ignore[attr-defined]


async def test_revoked_session_ends_the_connection(mongo_uri: str) -> None:
    async with running_app(mongo_uri) as (url, res):
        token, sid = await token_for(res, Role.STAFF)
        async with await open_ws(url, token) as ws:
            await recv(ws)
            await subscribe(ws, ORDER_PLACED)
            await asyncio.sleep(0.1)
            await placed(res)
            assert (await recv(ws))["type"] == "next"
            await revoke_session(res, sid, reason="logout")
            await placed(res)
            assert await closed_with(ws) == 4403


async def test_subscriptions_per_connection_are_limited(mongo_uri: str) -> None:
    async with running_app(mongo_uri, subscriptions_per_connection=2) as (url, res):
        token, _ = await token_for(res, Role.STAFF)
        async with await open_ws(url, token) as ws:
            await recv(ws)
            for op in ("1", "2", "3"):
                await subscribe(ws, ORDER_PLACED, op)
            message = await recv(ws)
            assert message == {
                "id": "3",
                "type": "error",
                "payload": [{"message": "Subscription limit reached"}],
            }


async def test_origins(mongo_uri: str) -> None:
    async with running_app(mongo_uri, ws_allowed_origins="https://app.example.com") as (url, _res):
        # Non-browser clients send no Origin: allowed.
        async with await open_ws(url, None) as ws:
            assert (await recv(ws))["type"] == "connection_ack"
        async with await open_ws(url, None, origin="https://app.example.com") as ws:  # type: ignore[arg-type]
            assert (await recv(ws))["type"] == "connection_ack"
        with pytest.raises(InvalidStatus) as refused:
            await open_ws(url, None, origin="https://evil.example.net")  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403

"""Subscriptions over real WebSockets (uvicorn in this process, the `websockets` client):
both protocols, auth on connect, text frames, keepalive, origin checks, the per-connection
limit, the slow-consumer drop and the end of a revoked session."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import InvalidStatus

from alawael.auth.permissions import Role
from alawael.auth.sessions import revoke_session
from tests.support.subscriptions import (
    LEGACY,
    ORDER_PLACED,
    closed_with,
    open_ws,
    placed,
    recv,
    running_app,
    subscribe,
    subscribers,
    token_for,
)


async def test_transport_ws_authenticates_and_delivers(mongo_uri: str) -> None:
    async with running_app(mongo_uri, ws_keepalive_seconds=0.2) as (url, res):
        token, _ = await token_for(res, Role.STAFF)
        async with await open_ws(url, token) as ws:
            assert (await recv(ws))["type"] == "connection_ack"
            await subscribe(ws, ORDER_PLACED)
            await subscribers(res, "orders")
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
            await subscribers(res, "orders")
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
            await subscribers(res, "orders")
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
            await subscribers(res, "orders")
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

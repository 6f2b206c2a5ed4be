"""A real server in the test's event loop (uvicorn, the app's lifespan) and a small
graphql-transport-ws client on the `websockets` library, with deadlines on every wait."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from bson import ObjectId
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from alawael.auth.permissions import Actor, Role
from alawael.auth.sessions import create_session
from alawael.auth.tokens import issue_access_token
from alawael.context import Resources
from alawael.infra.db import free_port
from alawael.server import create_app
from tests.conftest import make_settings
from tests.support.graphql import make_user

TRANSPORT = "graphql-transport-ws"
LEGACY = "graphql-ws"
# Server keepalives that may arrive between any two answers.
NOISE = ("ping", "pong", "ka")


@dataclass
class Served:
    http: str  # base URL, e.g. http://127.0.0.1:PORT
    ws: str  # the GraphQL WebSocket URL
    resources: Resources
    app: Starlette


@contextlib.asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[int]:
    """uvicorn on a free port inside the test's event loop (the lifespan already ran)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="error")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def running_app(mongo_uri: str, **overrides: Any) -> AsyncIterator[Served]:
    settings = make_settings(mongo_uri, **overrides)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        res: Resources = app.state.resources
        async with serving(app) as port:
            yield Served(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/graphql", res, app)
        await res.client.drop_database(settings.mongodb_db)


async def signed_in_token(
    res: Resources, role: Role, *, issued_at: float | None = None
) -> tuple[str, Actor, ObjectId]:
    """(access token, actor, session id) of a new user with a live session. `issued_at` in
    the past makes a token that expires sooner."""
    actor = await make_user(res, role)
    session, _ = await create_session(res, ObjectId(actor.user_id), user_agent=None, ip=None)
    token = issue_access_token(
        res.settings,
        user_id=actor.user_id,
        role=role,
        session_id=str(session["_id"]),
        now=issued_at,
    )
    return token, actor, session["_id"]


class GqlSocket:
    """One graphql-transport-ws (or legacy graphql-ws) connection."""

    def __init__(self, conn: ClientConnection, protocol: str) -> None:
        self.conn = conn
        self.protocol = protocol
        self._ids = 0

    async def send(self, message: dict[str, Any]) -> None:
        await self.conn.send(json.dumps(message))

    async def recv(self, wait: float = 10.0, skip: tuple[str, ...] = NOISE) -> Any:
        deadline = time.monotonic() + wait
        while True:
            frame = await asyncio.wait_for(self.conn.recv(), max(deadline - time.monotonic(), 0))
            assert isinstance(frame, str), "GraphQL over WebSocket uses text frames"
            message = json.loads(frame)
            if message["type"] not in skip:
                return message

    async def init(self, payload: dict[str, Any] | None = None) -> Any:
        await self.send({"type": "connection_init", "payload": payload or {}})
        return await self.recv()

    async def start(self, query: str, **payload: Any) -> str:
        self._ids += 1
        op_id = str(self._ids)
        kind = "subscribe" if self.protocol == TRANSPORT else "start"
        await self.send({"id": op_id, "type": kind, "payload": {"query": query, **payload}})
        return op_id

    async def request(self, query: str, **payload: Any) -> Any:
        """Run one operation; its first answer (`next`/`data` or `error`) for that id."""
        op_id = await self.start(query, **payload)
        while True:
            message = await self.recv()
            if message.get("id") == op_id:
                return message

    async def closed_with(self, wait: float = 10.0) -> int | None:
        """Read until the server closes (deadline `wait`); the close code."""
        deadline = time.monotonic() + wait
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.wait_for(self.conn.recv(), max(deadline - time.monotonic(), 0))
        return self.conn.close_code


@contextlib.asynccontextmanager
async def gql_socket(
    url: str, token: str | None = None, *, protocol: str = TRANSPORT, ack: bool = True
) -> AsyncIterator[GqlSocket]:
    async with connect(url, subprotocols=[protocol]) as conn:  # type: ignore[list-item]
        sock = GqlSocket(conn, protocol)
        if ack:
            payload = {"authorization": f"Bearer {token}"} if token else {}
            answer = await sock.init(payload)
            assert answer["type"] == "connection_ack", answer
        yield sock


def errors_of(message: Any) -> list[dict[str, Any]]:
    """The GraphQL errors of an answer, whatever the protocol's message shape."""
    if message["type"] == "error":
        payload = message["payload"]
        return payload if isinstance(payload, list) else [payload]
    return list(message["payload"].get("errors") or [])


def codes_of(message: Any) -> list[str]:
    return [str((e.get("extensions") or {}).get("code")) for e in errors_of(message)]


async def http_graphql(
    base: str, query: str, token: str | None = None, **kw: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=base) as client:
        return await client.post("/graphql", json={"query": query, **kw}, headers=headers)

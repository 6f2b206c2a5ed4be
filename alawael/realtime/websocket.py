"""Strawberry's WebSocket pieces, adjusted for this server.

- `TextWebSocketAdapter`: both GraphQL-over-WebSocket protocols exchange *text* frames. Our
  view encodes JSON with orjson (bytes), which Strawberry would send as binary frames; a
  browser then hands the graphql-ws client a Blob it cannot parse.
- Both protocol handlers give every operation fresh loaders (a query or mutation sent over
  the socket must not read through loaders cached for the connection's lifetime).
- graphql-transport-ws: besides answering the client's pings, the server pings every
  `keep_alive_interval` seconds (the protocol allows both sides to); proxies that close idle
  connections see traffic, and graphql-ws clients answer with a pong automatically. Legacy
  graphql-ws has its own "ka" messages (Strawberry's `keep_alive`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from alawael.context import OPERATION_LOADERS, Context


class TextWebSocketAdapter(ASGIWebSocketAdapter):
    async def send_json(self, message: Any) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


def _fresh_operation_loaders(context: Any) -> None:
    if isinstance(context, Context):
        from alawael.loaders import Loaders

        OPERATION_LOADERS.set(Loaders(context.resources.db))


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    _ping_task: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._ping_task is None:
            self._ping_task = asyncio.create_task(self._ping_forever())

    async def _ping_forever(self) -> None:
        interval = float(getattr(self.view, "keep_alive_interval", None) or 15.0)
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(interval)
                await self.send_message({"type": "ping"})

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        _fresh_operation_loaders(self.context)
        await super().run_operation(operation)

    async def shutdown(self) -> None:
        task, self._ping_task = self._ping_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await super().shutdown()


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        _fresh_operation_loaders(self.context)
        await super().handle_async_results(operation_id, query, operation_name, variables)

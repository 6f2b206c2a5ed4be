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
import logging
import time
from functools import lru_cache
from typing import Any

import orjson
from graphql import GraphQLError, get_operation_ast, parse
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from alawael.auth.current import token_from_connection_params
from alawael.context import OPERATION_LOADERS, Context
from alawael.infra import metrics
from alawael.infra.tasks import stop_task
from alawael.realtime.shared_render import shared_frame
from alawael.realtime.socket_guard import SessionEnded, SocketGuard, status_of
from alawael.shared.errors import AppError, BadUserInput

log = logging.getLogger(__name__)

LEGACY_SUBSCRIPTIONS_ONLY = (
    "The graphql-ws protocol carries subscriptions only; send queries and mutations over "
    "HTTP or graphql-transport-ws."
)


@lru_cache(maxsize=256)
def operation_kind(query: str | None, operation_name: str | None) -> str | None:
    """ "query", "mutation" or "subscription"; None when the document does not parse or
    names no single operation (execution then reports that as a typed error)."""
    if not query:
        return None
    try:
        document = parse(query, max_tokens=20_000)
    except GraphQLError:
        return None
    operation = get_operation_ast(document, operation_name)
    return operation.operation.value if operation is not None else None


class TextWebSocketAdapter(ASGIWebSocketAdapter):
    async def send_json(self, message: Any) -> None:
        # A subscription event shared by a visibility scope arrives with its payload
        # already encoded once for all its sockets (alawael.realtime.shared_render).
        text = shared_frame(message)
        if text is None:
            text = orjson.dumps(message).decode()
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


def _fresh_operation_loaders(context: Any) -> None:
    if isinstance(context, Context):
        from alawael.loaders import Loaders

        OPERATION_LOADERS.set(Loaders(context.resources.db))


class _GuardedConnection:
    """What both protocol handlers share: the connection's SocketGuard and the task that
    closes the socket when its access token expires."""

    context: Context
    _guard: SocketGuard | None = None
    _expiry_task: asyncio.Task[None] | None = None

    @property
    def guard(self) -> SocketGuard:
        if self._guard is None:
            self._guard = SocketGuard(self.context)
        return self._guard

    def _watch_expiry(self) -> None:
        if self._expiry_task is None:
            self._expiry_task = asyncio.create_task(self.guard.watch_expiry())

    async def _stop_expiry_watch(self) -> None:
        task, self._expiry_task = self._expiry_task, None
        await stop_task(task)


class TransportWSHandler(_GuardedConnection, BaseGraphQLTransportWSHandler[Context, None]):
    """Every `subscribe` passes the connection's SocketGuard (identity re-check, rate
    limits, persisted queries/safelist) before it runs, and leaves an access-log line.
    Re-authentication: a `ping` whose payload holds `authorization: "Bearer <token>"` (or
    `token`) swaps in a fresh access token of the same user and role; the `pong` answers
    `{"authenticated": true, "expiresAt": <epoch seconds>}`. A bad one closes with 4403."""

    _ping_task: asyncio.Task[None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._extensions: dict[str, dict[str, Any] | None] = {}

    async def handle_task_exception(self, error: Exception) -> None:
        """A client that closes its socket while an operation's result is being sent is
        normal (a tab closed, a PWA backgrounded): one INFO line and a counter, not
        Strawberry's ERROR traceback per operation."""
        if isinstance(error, WebSocketDisconnected):
            metrics.CLIENT_DISCONNECTS.inc()
            log.info("WebSocket client left before its operation's result was sent")
            return
        await super().handle_task_exception(error)

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._ping_task is None:
            self._ping_task = asyncio.create_task(self._ping_forever())
            self._watch_expiry()

    async def _ping_forever(self) -> None:
        interval = float(getattr(self.view, "keep_alive_interval", None) or 15.0)
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(interval)
                await self.send_message({"type": "ping"})

    async def handle_ping(self, message: Any) -> None:
        payload = message.get("payload")
        token = token_from_connection_params(payload) if isinstance(payload, dict) else None
        if token is None or not self.connection_acknowledged:
            await super().handle_ping(message)
            return
        try:
            self.context.user = await self.guard.identity.reauthenticate(token)
        except AppError as exc:
            await self.guard.end(SessionEnded(exc.message))
            return
        expires_at = self.guard.identity.expires_at
        await self.send_message(
            {"type": "pong", "payload": {"authenticated": True, "expiresAt": expires_at}}
        )

    async def handle_subscribe(self, message: Any) -> None:
        # Strawberry's Operation keeps no `extensions`: remember them (persisted queries),
        # and let a hash-only APQ message through (its query is resolved in run_operation).
        payload = message.get("payload")
        if isinstance(payload, dict) and isinstance(message.get("id"), str):
            extensions = payload.get("extensions")
            self._extensions[message["id"]] = extensions if isinstance(extensions, dict) else None
            if payload.get("query") is None and extensions is not None:
                payload["query"] = None
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        started = time.perf_counter()
        status = 200
        extensions = self._extensions.pop(operation.id, None)
        try:
            try:
                document = await self.guard.admit(operation.query, extensions)
            except SessionEnded as ended:
                status = 403
                self.operations.pop(operation.id, None)
                await self.guard.end(ended)
                return
            except AppError as exc:
                status = status_of(exc)
                await operation.send_initial_errors(
                    [GraphQLError(exc.message, extensions=exc.extensions)]
                )
                return
            operation.query = document  # type: ignore[assignment]
            _fresh_operation_loaders(self.context)
            await super().run_operation(operation)
        finally:
            self.guard.record(operation.query, operation.operation_name, status, started)

    async def shutdown(self) -> None:
        task, self._ping_task = self._ping_task, None
        await stop_task(task)
        await self._stop_expiry_watch()
        await super().shutdown()


class LegacyWSHandler(_GuardedConnection, BaseGraphQLWSHandler[Context, None]):
    """Legacy graphql-ws: subscriptions only (the protocol's purpose), through the same
    SocketGuard; a query or mutation gets a typed BAD_USER_INPUT error, not a traceback
    (strawberry would try to iterate its single result). It has no re-authentication
    message: the socket closes with 4403 when the access token expires."""

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            self._watch_expiry()

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        started = time.perf_counter()
        status = 200
        try:
            try:
                document = await self.guard.admit(query, None)
                if operation_kind(document, operation_name) not in ("subscription", None):
                    raise BadUserInput(LEGACY_SUBSCRIPTIONS_ONLY)
            except SessionEnded as ended:
                status = 403
                await self.guard.end(ended)
                return
            except AppError as exc:
                status = status_of(exc)
                error = GraphQLError(exc.message, extensions=exc.extensions)
                await self.send_message(
                    {"type": "error", "id": operation_id, "payload": error.formatted}
                )
                self.tasks.pop(operation_id, None)
                return
            _fresh_operation_loaders(self.context)
            await super().handle_async_results(
                operation_id, document or "", operation_name, variables
            )
        finally:
            self.guard.record(query, operation_name, status, started)

    async def cleanup(self) -> None:
        await self._stop_expiry_watch()
        await super().cleanup()

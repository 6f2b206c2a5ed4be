"""The rules of the HTTP door, applied to every operation sent on a WebSocket.

One `SocketGuard` per connection (both protocols). For each `subscribe` (graphql-transport-ws)
or `start` (graphql-ws) message, `admit()`:
1. re-checks the connection's identity (alawael.auth.socket_identity): an expired token, a
   revoked session, an inactive user or a changed role raise `SessionEnded`, and the handler
   closes the socket with 4403;
2. charges the per-user / per-IP rate limit, and resolves the document through persisted
   queries and the safelist (alawael.protect.operations), as the HTTP view does; a refusal
   is an AppError the handler sends as the operation's typed `error`.
`record()` writes the access-log line and the analytics record of the operation.

`watch_expiry()` closes the socket with 4403 when the access token expires, unless the
client re-authenticated in time (graphql-transport-ws: a `ping` whose payload carries
`{"authorization": "Bearer <fresh token>"}`; see TransportWSHandler.handle_ping).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.websockets import WebSocket

from alawael.auth.socket_identity import SocketIdentity
from alawael.context import Context
from alawael.infra.access_log import operation_from_query, record_call
from alawael.infra.http import client_ip
from alawael.protect.operations import charge, resolve_document
from alawael.realtime.stream import close_socket
from alawael.shared.errors import AppError, ErrorCode, Unauthenticated

SESSION_ENDED_CODE = 4403
EXPIRED_REASON = "Forbidden: access token expired; re-authenticate"
_MAX_REASON = 120  # a close reason must fit in 123 bytes


class SessionEnded(Exception):
    """The connection's identity no longer holds: close the socket with 4403."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = f"Forbidden: {reason}"[:_MAX_REASON]


class SocketGuard:
    def __init__(self, context: Context) -> None:
        self.context = context
        identity = context.identity
        self.identity = identity if identity is not None else SocketIdentity(context.resources)
        ws = context.response
        self.websocket = ws if isinstance(ws, WebSocket) else None
        self.ip = client_ip(ws, context.settings) if isinstance(ws, WebSocket) else "unknown"

    async def admit(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The document to run; raises SessionEnded or an AppError (see module docstring)."""
        try:
            actor = await self.identity.current()
        except Unauthenticated as exc:
            raise SessionEnded(exc.message) from exc
        self.context.user = actor
        if actor is not None and self.websocket is not None:
            self.websocket.state.user_id = actor.user_id  # the connection's access-log line
        app = self.websocket.app if self.websocket is not None else None
        limiter = getattr(getattr(app, "state", None), "rate_limiter", None)
        await charge(limiter, ip=self.ip, user_id=actor.user_id if actor else None)
        return await resolve_document(self.context.resources, query, extensions)

    async def end(self, ended: SessionEnded) -> None:
        if self.websocket is not None:
            await close_socket(self.websocket, SESSION_ENDED_CODE, ended.reason)

    async def watch_expiry(self) -> None:
        """Sleep until the token expires (re-reading the expiry, which a re-authentication
        moves), then close the socket. Runs as a task for the connection's lifetime."""
        while True:
            left = self.identity.seconds_left()
            if left is None:
                return
            if left > 0:
                await asyncio.sleep(left)
                continue
            if self.websocket is not None:
                await close_socket(self.websocket, SESSION_ENDED_CODE, EXPIRED_REASON)
            return

    def record(
        self, query: str | None, operation_name: str | None, status: int, started: float
    ) -> None:
        name = operation_name or operation_from_query(query) or "anonymous"
        user = self.context.user
        record_call(
            self.websocket.app if self.websocket is not None else None,
            method="WS",
            endpoint=f"graphql:{name[:64]}",
            path="/graphql",
            route="/graphql",
            operation=name[:64],
            status=status,
            seconds=time.perf_counter() - started,
            request_id=self.context.request_id,
            user_id=user.user_id if user is not None else None,
        )


def status_of(error: AppError) -> int:
    return error.http_status if error.code is not ErrorCode.BAD_USER_INPUT else 400

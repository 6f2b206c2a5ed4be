"""One structured log line, one latency observation and one analytics record per request.

A pure ASGI middleware (no `BaseHTTPMiddleware`: it would buffer streaming bodies and cost
a task per request). It learns:
- the status from `http.response.start`;
- the REST route *template* from `scope["route"]`, which Starlette's router sets;
- the GraphQL operation name from the request body, which it sees go by in `receive` (no
  copy: it keeps references to the chunks) and parses after the response is sent;
- the user id from `scope["state"]["user_id"]`, set by whoever authenticated the request.

WebSocket connections are counted (`alawael_websockets_open`) and remembered, so a
shutdown can close them with 1001 "going away" (see alawael/infra/shutdown.py).
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import orjson
from bson import ObjectId
from bson.errors import InvalidId
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alawael.infra import metrics
from alawael.infra.http import GRAPHQL_PATHS

log = logging.getLogger("alawael.access")

GRAPHQL_PATH = "/graphql"  # the route label of both GraphQL paths (one metric series)
# Probes and scrapes are not API calls: no analytics record for them.
NOT_API = frozenset({"/healthz", "/readyz", "/health", "/api/health", "/metrics"})
CLIENT_CLOSED_REQUEST = 499  # nginx's status for "the client closed the connection"
MAX_GRAPHQL_BODY = 256 * 1024  # larger bodies are not parsed again for their name
MAX_OPERATION_NAMES = 200  # metric label cardinality bound: clients choose these names
_OPERATION = re.compile(r"\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


def operation_from_query(query: object) -> str | None:
    if not isinstance(query, str):
        return None
    match = _OPERATION.search(query)
    return match.group(1) if match else None


def graphql_operation_name(scope: Scope, body: bytes) -> str:
    """The `operationName` field, else the first operation's name, else "anonymous"."""
    data: Any
    if scope["method"] == "GET":
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        data = {k: v[0] for k, v in params.items()}
    else:
        try:
            data = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            return "anonymous"
    if isinstance(data, list):
        return "batch"
    if not isinstance(data, dict):
        return "anonymous"
    name = data.get("operationName")
    if isinstance(name, str) and name:
        return name[:64]
    return (operation_from_query(data.get("query")) or "anonymous")[:64]


def route_template(scope: Scope, root_path: str) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return "unmatched"
    # Inside a Mount the router reports the inner template; prefix the mount's path.
    prefix = scope.get("root_path", "")[len(root_path) :]
    return f"{prefix}{path}" if prefix and not path.startswith(prefix) else path


class WebSocketRegistry:
    """The `send` callables of this worker's accepted WebSockets."""

    def __init__(self) -> None:
        self.open: dict[int, Send] = {}

    async def close_all(self, code: int = 1001, reason: str = "server shutting down") -> int:
        closed = 0
        for key, send in list(self.open.items()):
            self.open.pop(key, None)
            try:
                await send({"type": "websocket.close", "code": code, "reason": reason})
                closed += 1
            except Exception as exc:  # the peer may be gone already: nothing to close
                log.debug("websocket close failed: %s", exc)
        return closed


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, websockets: WebSocketRegistry | None = None) -> None:
        self.app = app
        self.websockets = websockets or WebSocketRegistry()
        self._operations: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        root_path = scope.get("root_path", "")
        status = 500
        chunks: list[bytes] | None = None
        seen = 0
        if scope["path"] in GRAPHQL_PATHS and scope["method"] == "POST":
            chunks = []

        async def receive_tee() -> Message:
            nonlocal seen
            message = await receive()
            if (
                chunks is not None
                and message["type"] == "http.request"
                and seen <= MAX_GRAPHQL_BODY
            ):
                body = message.get("body", b"")
                seen += len(body)
                chunks.append(body)
            return message

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive_tee if chunks is not None else receive, send_status)
        except ClientDisconnect:
            # The client hung up while we read its request (a load test stopped, a browser
            # tab closed). Normal, not an error: no traceback ("Exception in ASGI
            # application" from uvicorn, and our REST 500 handler before it), just this
            # request's access line with nginx's 499 and a counter. Nobody is left to
            # answer, so nothing is sent.
            status = CLIENT_CLOSED_REQUEST
            metrics.CLIENT_DISCONNECTS.inc()
        finally:
            body = b"" if chunks is None or seen > MAX_GRAPHQL_BODY else b"".join(chunks)
            self._finish(scope, root_path, status, time.perf_counter() - start, body)

    def _operation_label(self, name: str) -> str:
        if name in self._operations:
            return name
        if len(self._operations) >= MAX_OPERATION_NAMES:
            return "other"
        self._operations.add(name)
        return name

    def _finish(
        self, scope: Scope, root_path: str, status: int, seconds: float, body: bytes
    ) -> None:
        method: str = scope["method"]
        state: dict[str, Any] = scope.get("state") or {}
        operation: str | None = None
        if scope["path"] in GRAPHQL_PATHS and method in ("GET", "POST"):
            operation = graphql_operation_name(scope, body)
            metrics.GRAPHQL_LATENCY.labels(self._operation_label(operation)).observe(seconds)
            endpoint = f"graphql:{operation}"
            route = GRAPHQL_PATH
        else:
            route = route_template(scope, root_path)
            metrics.REST_LATENCY.labels(route, method, str(status)).observe(seconds)
            endpoint = route
        record_call(
            scope.get("app"),
            method=method,
            endpoint=endpoint,
            path=scope["path"],
            route=route,
            operation=operation,
            status=status,
            seconds=seconds,
            request_id=state.get("request_id"),
            user_id=state.get("user_id"),
        )

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        key = id(scope)
        accepted = False
        code: int | None = None

        async def tracked_send(message: Message) -> None:
            nonlocal accepted, code
            kind = message["type"]
            if kind == "websocket.accept" and not accepted:
                accepted = True
                metrics.WEBSOCKETS_OPEN.inc()
                self.websockets.open[key] = send
            elif kind == "websocket.close":
                code = message.get("code", 1000)
                self.websockets.open.pop(key, None)
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        finally:
            self.websockets.open.pop(key, None)
            if accepted:
                metrics.WEBSOCKETS_OPEN.dec()
            state: dict[str, Any] = scope.get("state") or {}
            log.info(
                "WEBSOCKET %s closed after %.1fs",
                scope["path"],
                time.perf_counter() - start,
                extra={
                    "request_id": state.get("request_id"),
                    "user_id": state.get("user_id"),
                    "path": scope["path"],
                    "accepted": accepted,
                    "close_code": code,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                },
            )


def record_call(
    app: Any,
    *,
    method: str,
    endpoint: str,
    path: str,
    route: str,
    operation: str | None,
    status: int,
    seconds: float,
    request_id: str | None,
    user_id: str | None,
) -> None:
    """The access-log line and the analytics record of one API call: an HTTP request, or
    one GraphQL operation on a WebSocket (method "WS"; alawael.realtime.operations)."""
    duration_ms = round(seconds * 1000, 3)
    if log.isEnabledFor(logging.INFO):
        log.info(
            "%s %s %s %.1fms",
            method,
            endpoint,
            status,
            duration_ms,
            extra={
                "request_id": request_id,
                "user_id": user_id,
                "method": method,
                "path": path,
                "route": route,
                "operation": operation,
                "status": status,
                "duration_ms": duration_ms,
            },
        )
    if route in NOT_API or route == "unmatched":
        return
    resources = getattr(getattr(app, "state", None), "resources", None)
    writer = resources.extras.get("analytics") if resources is not None else None
    if writer is not None:
        writer.add(
            {
                "apiEndpoint": endpoint,
                "method": method,
                "userId": _object_id(user_id),
                "status": status,
                "durationMs": duration_ms,
                "timestamp": datetime.now(UTC),
            }
        )


def _object_id(value: object) -> ObjectId | None:
    if isinstance(value, ObjectId):
        return value
    if isinstance(value, str):
        try:
            return ObjectId(value)
        except InvalidId:
            return None
    return None

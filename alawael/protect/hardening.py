"""HTTP hardening as one pure-ASGI middleware (no per-request objects beyond two closures):
security headers on every response, and a request body limit answered with 413.

The body limit checks `Content-Length` up front and also counts the bytes actually streamed,
so a chunked upload (or a lying header) cannot get past it either.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alawael.config import Settings
from alawael.shared.errors import ErrorCode

_BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    # Only frame-ancestors: the API serves JSON (and the GraphiQL page in development,
    # whose CDN scripts a stricter policy would break); framing is never wanted.
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class BodyTooLarge(HTTPException):
    """Raised from `receive` when the streamed body passes the limit. Starlette's exception
    middleware turns it into the REST error shape; the middleware below catches it if nobody
    else did."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body larger than {limit} bytes.")


def too_large_body(limit: int) -> bytes:
    return orjson.dumps(
        {
            "error": {
                "code": ErrorCode.PAYLOAD_TOO_LARGE.value,
                "message": f"Request body larger than {limit} bytes.",
            }
        }
    )


class HardeningMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        headers = list(_BASE_HEADERS)
        if settings.is_production:
            # HSTS only in production: on a developer's http://localhost it would pin HTTPS.
            headers.append(_HSTS)
        self.headers = tuple(headers)
        self._names = frozenset(name for name, _ in headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope["headers"])
        if declared is not None and declared > self.max_body:
            await self._send_413(send)
            return
        started = False
        received = 0
        limit = self.max_body

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {name.lower() for name, _ in message.get("headers", ())}
                extra = [(n, v) for n, v in self.headers if n not in present]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            if started:
                raise
            await self._send_413(send)

    async def _send_413(self, send: Send) -> None:
        body = too_large_body(self.max_body)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                    *self.headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None

"""Rate limits with the `limits` library: sliding-window counters in Redis (shared by every
worker and instance) or in memory (no REDIS_URL).

Why a sliding-window *counter* and not a moving window: a moving window stores every hit
until it leaves the window, so its memory and the work per check grow with the limit (a
user allowed 10,000,000 per 15 minutes at 1,200 req/s grew the worker by ~150 bytes per
request, and req/s fell by a third). The counter keeps two integers per key (this window's
and the previous one's) and weights the previous by how much of it still overlaps: O(1)
memory and time whatever the limit, at the price of an estimate that assumes the previous
window's hits were spread evenly.

Budgets (settings, in the library's notation such as "100/15 minutes"):
- `ip`:   anonymous requests, per client IP (`alawael.infra.http.client_ip`: X-Forwarded-For is
          believed only from TRUSTED_PROXIES);
- `user`: requests with a validly *signed* bearer token, per user id (`sub`). The signature
          is checked so a forged token cannot mint a fresh bucket per request; the session
          check stays the auth layer's job;
- `ws_connect`: WebSocket handshakes per client IP (429 before the upgrade); each operation
          sent on a socket is then charged to `ip`/`user` like an HTTP request
          (alawael.protect.operations).
The sign-in budget (RATE_LIMIT_AUTH) is not charged here: the auth services charge every
login/register/refreshToken call themselves (alawael.auth.throttle), so every door and every
document shape pays per call.
Health, readiness and /metrics are exempt. Every limited response carries `RateLimit-Limit`,
`RateLimit-Remaining`, `RateLimit-Reset` (seconds) of the tightest budget; refusals add
`Retry-After` and answer 429 (REST error shape, or a GraphQL error body on /graphql and
/api/graphql).

Storage failures fail open by default (RATE_LIMIT_FAIL_OPEN) and closed (503) otherwise;
after a failure the limiter leaves Redis alone for a second instead of timing out per request.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alawael.config import Settings
from alawael.infra.cache_redis import REDIS_ERRORS
from alawael.infra.http import GRAPHQL_PATHS, client_ip
from alawael.infra.script_batches import ScriptBatches
from alawael.shared.errors import ErrorCode

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

EXEMPT_PATHS = frozenset({"/health", "/healthz", "/readyz", "/api/health", "/metrics"})
_LOG_EVERY = 30.0
_STORAGE_ERRORS: tuple[type[BaseException], ...] = (*REDIS_ERRORS, StorageError)
STRATEGY = "sliding-window-counter"
# Set on the scope by a middleware in front that already charged this request (the cached
# answer's pipelined check, alawael.schema.cached_answer): its Decision, or None (fail open).
CHARGED = "alawael.rate_decision"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the window frees a slot
    bucket: str
    unavailable: bool = False  # storage failed and RATE_LIMIT_FAIL_OPEN is false

    def headers(self) -> list[tuple[bytes, bytes]]:
        out = [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(max(self.remaining, 0)).encode()),
            (b"ratelimit-reset", str(self.reset_after).encode()),
        ]
        if not self.allowed:
            out.append((b"retry-after", str(max(self.reset_after, 1)).encode()))
        return out


class RateLimiter:
    def __init__(self, settings: Settings, redis: Redis | None = None) -> None:
        self.settings = settings
        storage: Storage
        if redis is not None and settings.redis_url:
            # Share the worker's connection pool (and its retry policy) instead of opening
            # a second one; keys live under `ratelimit:`.
            storage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix="ratelimit",
                connection_pool=redis.connection_pool,  # type: ignore[arg-type]
            )
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.strategy = SlidingWindowCounterRateLimiter(storage)
        # With Redis: each charge is one script, concurrent ones one round trip
        # (alawael.protect.ratelimit_pipeline) instead of the library's two per charge.
        self._batches: ScriptBatches | None = None
        if isinstance(storage, RedisStorage) and redis is not None:
            from alawael.protect.ratelimit_pipeline import CHARGE

            self._batches = ScriptBatches(redis, CHARGE)
        self.items: dict[str, RateLimitItem] = {
            "ip": parse(settings.rate_limit_default),
            "user": parse(settings.rate_limit_user),
            "ws_connect": parse(settings.rate_limit_ws_connect),
        }
        self.retry_seconds = 1.0
        self._down_until = 0.0
        self._last_log = 0.0

    async def check(self, buckets: list[tuple[str, str]]) -> Decision | None:
        """Charge one hit to each (bucket, key); the tightest budget decides. None means
        "no decision" (storage down, failing open): let the request through."""
        if time.monotonic() < self._down_until:
            return self._no_storage()
        decisions: list[Decision] = []
        try:
            if self._batches is not None:
                decisions = await self._charge_in_one_script(self._batches, buckets)
            else:
                for bucket, key in buckets:
                    item = self.items[bucket]
                    allowed = await self.strategy.hit(item, bucket, key)
                    stats = await self.strategy.get_window_stats(item, bucket, key)
                    # The sliding-window counter's reset time can fall on "now" at a window
                    # boundary; 0 would tell a client to retry at once, so 1 s at least.
                    reset = max(1, math.ceil(stats.reset_time - time.time()))
                    decisions.append(Decision(allowed, item.amount, stats.remaining, reset, bucket))
        except _STORAGE_ERRORS as exc:
            self._down_until = time.monotonic() + self.retry_seconds
            now = time.monotonic()
            if now - self._last_log >= _LOG_EVERY:
                self._last_log = now
                log.warning("rate-limit storage failed: %s: %s", type(exc).__name__, exc)
            return self._no_storage()
        refused = [d for d in decisions if not d.allowed]
        if refused:
            decision = max(refused, key=lambda d: d.reset_after)
            from alawael.infra.metrics import RATE_LIMITED

            RATE_LIMITED.labels(bucket=decision.bucket).inc()
            return decision
        return min(decisions, key=lambda d: (d.remaining, -d.reset_after))

    async def _charge_in_one_script(
        self, batches: ScriptBatches, buckets: list[tuple[str, str]]
    ) -> list[Decision]:
        from alawael.protect.ratelimit_pipeline import charge_once

        charges = (charge_once(self, batches, bucket, key) for bucket, key in buckets)
        return list(await asyncio.gather(*charges))

    def _no_storage(self) -> Decision | None:
        if self.settings.rate_limit_fail_open:
            return None
        return Decision(False, 0, 0, 1, "storage", unavailable=True)

    async def reset(self) -> None:
        await self.storage.reset()


def user_key(scope: Scope, settings: Settings) -> str | None:
    """The `sub` of a validly signed bearer token, else None (anonymous or bad token)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None
            from alawael.auth.tokens import decode_access_token
            from alawael.shared.errors import AppError

            try:
                sub = decode_access_token(settings, token.strip()).get("sub")
            except AppError:
                return None
            return sub if isinstance(sub, str) else None
    return None


def wants_graphql_response(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept":
            return b"application/graphql-response+json" in value
    return False


def refusal_body(decision: Decision, *, graphql: bool) -> bytes:
    if decision.unavailable:
        code = ErrorCode.SERVICE_UNAVAILABLE.value
        message = "Rate limiting is unavailable; try again shortly."
    else:
        code = ErrorCode.RATE_LIMITED.value
        message = f"Too many requests; retry in {max(decision.reset_after, 1)} seconds."
    details: dict[str, Any] = {"retryAfter": max(decision.reset_after, 1)}
    if graphql:
        return orjson.dumps(
            {"errors": [{"message": message, "extensions": {"code": code, **details}}]}
        )
    return orjson.dumps({"error": {"code": code, "message": message, "details": details}})


class RateLimitMiddleware:
    """Pure ASGI: one check before the app runs, headers added to the response start."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "websocket" and self.settings.rate_limit_enabled:
            await self._websocket(scope, receive, send)
            return
        if (
            scope["type"] != "http"
            or path in EXEMPT_PATHS
            or scope.get("method") == "OPTIONS"
            or not self.settings.rate_limit_enabled
        ):
            await self.app(scope, receive, send)
            return
        limiter: RateLimiter | None = getattr(scope["app"].state, "rate_limiter", None)
        if limiter is None:
            await self.app(scope, receive, send)
            return
        if CHARGED in scope:  # charged once already, in the same round trip as a cache read
            decision = scope[CHARGED]
        else:
            ip = client_ip(scope, self.settings)
            user = user_key(scope, self.settings)
            buckets = [("user", user) if user else ("ip", ip)]  # as operations.rate_buckets
            decision = await limiter.check(buckets)
        if decision is None:
            await self.app(scope, receive, send)
            return
        if not decision.allowed:
            await send_refusal(send, decision, graphql=path in GRAPHQL_PATHS, scope=scope)
            return
        extra = decision.headers()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(n.lower() == b"ratelimit-limit" for n, _ in headers):
                    headers.extend(extra)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter: RateLimiter | None = getattr(scope["app"].state, "rate_limiter", None)
        decision = None
        if limiter is not None:
            decision = await limiter.check([("ws_connect", client_ip(scope, self.settings))])
        if decision is None or decision.allowed:
            await self.app(scope, receive, send)
            return
        message = await receive()  # the handshake's websocket.connect
        if message["type"] != "websocket.connect":
            return
        if "websocket.http.response" in scope.get("extensions", {}):
            body = refusal_body(decision, graphql=False)
            status = 503 if decision.unavailable else 429
            headers = [(b"content-type", b"application/json")]
            headers.extend(decision.headers())
            await send(
                {"type": "websocket.http.response.start", "status": status, "headers": headers}
            )
            await send({"type": "websocket.http.response.body", "body": body})
            return
        await send({"type": "websocket.close", "code": 1008, "reason": "Too many connections"})


async def send_refusal(send: Send, decision: Decision, *, graphql: bool, scope: Scope) -> None:
    body = refusal_body(decision, graphql=graphql)
    media = (
        b"application/graphql-response+json; charset=utf-8"
        if graphql and wants_graphql_response(scope)
        else b"application/json"
    )
    status = 503 if decision.unavailable else 429
    headers = [(b"content-type", media), (b"content-length", str(len(body)).encode())]
    headers.extend(decision.headers() if not decision.unavailable else [(b"retry-after", b"1")])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

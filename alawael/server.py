"""`create_app(settings)`: routes, middleware and the lifespan that owns every client."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alawael.cache import Cache, MemoryCache
from alawael.config import Settings, load_settings
from alawael.context import Resources
from alawael.db import EmbeddedMongo, ensure_indexes, make_client
from alawael.events import EventHub, MemoryEventHub
from alawael.graphql_app import ERPGraphQL
from alawael.rest import health
from alawael.rest.errors import EXCEPTION_HANDLERS
from alawael.schema import build_schema

log = logging.getLogger(__name__)

# Optional subsystems (metrics, analytics writer, scheduler, ...) register a factory here;
# each is entered after the clients exist and exited before they close.
Subsystem = Callable[[Resources], AbstractAsyncContextManager[None]]
SUBSYSTEMS: list[Subsystem] = []


class RequestIdMiddleware:
    """Accepts `X-Request-ID` (if sane) or makes one; stores it on the scope and returns it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


def _make_cache(settings: Settings, redis: object | None) -> Cache:
    if redis is not None:
        from alawael.cache_redis import RedisCache  # type: ignore[import-not-found,unused-ignore]

        return RedisCache(redis, settings)  # type: ignore[no-any-return,unused-ignore]
    return MemoryCache()


def _make_events(settings: Settings, redis: object | None) -> EventHub:
    if redis is not None:
        from alawael.events_redis import RedisEventHub  # type: ignore[import-not-found,unused-ignore]

        return RedisEventHub(redis, settings)  # type: ignore[no-any-return,unused-ignore]
    return MemoryEventHub(settings.subscriber_queue_size)


@contextlib.asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Start (or connect to) MongoDB and Redis, yield the worker's Resources, close them."""
    embedded: EmbeddedMongo | None = None
    uri = settings.mongodb_uri
    mode = "embedded" if settings.embedded_db_running else "external"
    if uri is None:
        # Single-process use (e.g. `uvicorn --factory`): own the embedded server here.
        embedded = EmbeddedMongo(settings.embedded_db_path)
        uri = await asyncio.to_thread(embedded.start)
        mode = "embedded"
    client = make_client(uri, timeout_ms=settings.mongodb_timeout_ms)
    redis = None
    if settings.redis_url:
        from redis.asyncio import Redis

        redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    res = Resources(
        settings=settings,
        client=client,
        db=client[settings.mongodb_db],
        cache=_make_cache(settings, redis),
        events=_make_events(settings, redis),
        redis=redis,
        mongo_mode=mode,
    )
    index_task = asyncio.create_task(_ensure_indexes_until_done(res))
    try:
        await res.events.start()
        async with contextlib.AsyncExitStack() as stack:
            for subsystem in SUBSYSTEMS:
                await stack.enter_async_context(subsystem(res))
            yield res
    finally:
        index_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await index_task
        await res.events.close()
        await res.cache.close()
        if redis is not None:
            await redis.aclose()
        await client.close()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


async def _ensure_indexes_until_done(res: Resources) -> None:
    """Index creation must not stop a worker from starting while MongoDB is briefly away:
    retry in the background (readiness reports the outage meanwhile)."""
    delay = 0.5
    while True:
        try:
            await ensure_indexes(res.db)
            return
        except Exception as exc:
            log.warning("index creation failed, retrying: %s", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    schema = build_schema(settings)
    graphql = ERPGraphQL(schema, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_resources(settings) as res:
            app.state.resources = res
            yield

    routes: list[BaseRoute] = [
        *health.routes,
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        ),
        Middleware(GZipMiddleware, minimum_size=settings.gzip_min_bytes),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.settings = settings
    app.state.schema = schema
    return app


def app_factory() -> Starlette:
    """Entry point for `uvicorn --factory alawael.server:app_factory` (and for workers)."""
    from alawael.observability import configure_logging

    settings = load_settings()
    configure_logging(settings)
    return create_app(settings)

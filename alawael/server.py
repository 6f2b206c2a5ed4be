"""`create_app(settings)`: routes, middleware and the lifespan that owns every client."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alawael.config import Settings, load_settings
from alawael.infra import metrics
from alawael.infra.access_log import AccessLogMiddleware, WebSocketRegistry
from alawael.infra.analytics_writer import analytics_subsystem
from alawael.infra.backup.status import BackupStatus
from alawael.infra.cache import Cache, MemoryCache, NullCache
from alawael.infra.cache_bumps import AnnouncingCache, following_bumps
from alawael.infra.cache_redis import RedisCache
from alawael.infra.db import EmbeddedMongo, make_client, running_embedded_uri, scans_before_limit
from alawael.infra.events import EventHub, MemoryEventHub
from alawael.infra.events_redis import RedisEventHub
from alawael.infra.heap import settle_heap
from alawael.infra.http import GRAPHQL_PATHS
from alawael.infra.indexes import ensure_indexes
from alawael.infra.mail import mail_subsystem
from alawael.infra.process_metrics import process_metrics_subsystem
from alawael.infra.resources import Resources
from alawael.infra.tasks import stop_task
from alawael.jobs import jobs_subsystem
from alawael.protect.hardening import HardeningMiddleware
from alawael.protect.ratelimit import RateLimiter, RateLimitMiddleware
from alawael.realtime.session_keeper import session_keeper_subsystem
from alawael.rest import health
from alawael.rest.errors import EXCEPTION_HANDLERS
from alawael.rest.routes import routes as rest_routes
from alawael.schema.app import ERPGraphQL
from alawael.schema.build import build_schema
from alawael.schema.cached_answer import CachedAnswerMiddleware
from alawael.services.search_backfill import backfill_search_keys
from alawael.services.users.bootstrap import admin_bootstrap

log = logging.getLogger(__name__)

# Optional subsystems (metrics, analytics writer, scheduler, ...) register a factory here;
# each is entered after the clients exist and exited before they close.
Subsystem = Callable[[Resources], AbstractAsyncContextManager[None]]
SUBSYSTEMS: list[Subsystem] = []
SUBSYSTEMS.append(admin_bootstrap)  # the first admin, from ADMIN_EMAIL / ADMIN_PASSWORD
SUBSYSTEMS.append(analytics_subsystem)  # batched API analytics writer (flushed on exit)
SUBSYSTEMS.append(jobs_subsystem)  # scheduled jobs, one runner across workers
SUBSYSTEMS.append(process_metrics_subsystem)  # worker memory and Redis reachability
SUBSYSTEMS.append(mail_subsystem)  # queued outgoing mail, sent in the background
SUBSYSTEMS.append(session_keeper_subsystem)  # subscribers' session checks kept fresh


# What a client-sent X-Request-ID may look like: UUIDs, trace ids and the like. It is written
# into logs, Sentry and the audit trail, so anything else (markup, quotes, control or
# non-ASCII characters, a 10 KB value) is replaced by an id of ours.
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


class RequestIdMiddleware:
    """Accepts `X-Request-ID` (if sane) or makes one; stores it on the scope and returns it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


def _make_cache(settings: Settings, redis: Redis | None) -> Cache:
    if not settings.cache_enabled:
        return NullCache()
    if redis is not None:
        return RedisCache(redis, settings)
    return MemoryCache()


def _make_events(settings: Settings, redis: Redis | None) -> EventHub:
    if redis is not None:
        return RedisEventHub(redis, settings)
    return MemoryEventHub(settings.subscriber_queue_size)


@contextlib.asynccontextmanager
async def open_resources(settings: Settings, *, cli: bool = False) -> AsyncIterator[Resources]:
    """Start (or connect to) MongoDB and Redis, yield the worker's Resources, close them.

    `cli`: a command-line process (seed, create-admin) rather than a server worker. Without
    Redis its cache bumps are announced through MongoDB, and a server worker follows them
    (alawael.infra.cache_bumps), so what the CLI writes shows in the running server at once."""
    embedded: EmbeddedMongo | None = None
    uri = settings.mongodb_uri
    mode = "embedded" if settings.embedded_db_running else "external"
    if uri is None:
        # A CLI command beside a running `alawael serve` uses that server's database (its
        # files are locked to it); otherwise (CLI alone, `uvicorn --factory`) own one here.
        uri = await asyncio.to_thread(running_embedded_uri, settings.embedded_db_path)
        if uri is None:
            embedded = EmbeddedMongo(settings.embedded_db_path)
            uri = await asyncio.to_thread(embedded.start)
        mode = "embedded"
    client = make_client(
        uri, timeout_ms=settings.mongodb_timeout_ms, listeners=[metrics.MongoCommandMetrics()]
    )
    redis: Redis | None = None
    if settings.redis_url:
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialWithJitterBackoff

        # redis-py's default (10 retries, backoff up to 1 s) makes one command against a dead
        # Redis take seconds; requests must fail over to MongoDB fast (cache, rate limits).
        redis = Redis.from_url(
            settings.redis_url,
            socket_timeout=2,
            socket_connect_timeout=2,
            retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), retries=2),
        )
    db = client[settings.mongodb_db]
    cache = _make_cache(settings, redis)
    if redis is None and cli:
        cache = AnnouncingCache(cache, db)
    res = Resources(
        settings=settings,
        client=client,
        db=db,
        cache=cache,
        events=_make_events(settings, redis),
        redis=redis,
        mongo_mode=mode,
    )
    # One attempt before serving: SecantusDB 0.7 can deadlock when an insert implicitly
    # creates a collection while createIndexes is creating the same one (both commands hang;
    # found by the auth tests). Only when MongoDB is away does creation move to the background.
    indexes_ready = await _ensure_indexes_once(res)
    index_task = asyncio.create_task(
        asyncio.sleep(0) if indexes_ready else _ensure_indexes_until_done(res)
    )
    try:
        await res.events.start()
        async with contextlib.AsyncExitStack() as stack:
            if isinstance(cache, MemoryCache) and not cli:
                await stack.enter_async_context(following_bumps(db, cache))
            for subsystem in SUBSYSTEMS:
                await stack.enter_async_context(subsystem(res))
            yield res
    finally:
        await stop_task(index_task)
        await res.events.close()
        await res.cache.close()
        if redis is not None:
            await redis.aclose()
        await client.close()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


async def _ensure_indexes_once(res: Resources) -> bool:
    try:
        await ensure_indexes(res.db, then=backfill_search_keys)
        res.scan_windows = await scans_before_limit(res.client)
    except Exception as exc:
        log.warning("index creation failed at start-up; retrying in the background: %s", exc)
        return False
    return True


async def _ensure_indexes_until_done(res: Resources) -> None:
    """Index creation must not stop a worker from starting while MongoDB is briefly away:
    retry in the background (readiness reports the outage meanwhile)."""
    delay = 0.5
    while True:
        try:
            await ensure_indexes(res.db, then=backfill_search_keys)
            res.scan_windows = await scans_before_limit(res.client)
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
        from alawael.infra.shutdown import install_going_away

        metrics.install_hooks()
        async with open_resources(settings) as res:
            app.state.resources = res
            # Rate limits share the worker's Redis pool (memory storage without Redis).
            app.state.rate_limiter = (
                RateLimiter(settings, res.redis) if settings.rate_limit_enabled else None
            )
            undo_signals = install_going_away(websockets)
            try:
                yield
            finally:
                undo_signals()
        metrics.mark_worker_dead()

    routes: list[BaseRoute] = [
        *health.routes,
        *rest_routes,  # the /api/... shim, its OpenAPI document and docs page
    ]
    for path in GRAPHQL_PATHS:  # /graphql, and /api/graphql for proxies that forward /api/*
        routes += [Route(path, graphql, methods=["GET", "POST"]), WebSocketRoute(path, graphql)]
    routes.append(Route("/metrics", metrics.metrics_endpoint, methods=["GET"]))
    if settings.env.value == "test":
        from alawael.devtools import testing_routes

        routes.extend(testing_routes.routes)
    if os.environ.get("BENCH_ROUTES") == "1":  # `make bench` only (alawael.devtools.bench_routes)
        from alawael.devtools import bench_routes

        routes.extend(bench_routes.routes())
    websockets = WebSocketRegistry()
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(AccessLogMiddleware, websockets=websockets),
        Middleware(HardeningMiddleware, settings=settings),  # security headers, 413
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=[
                "X-Request-ID",
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
            ],
            max_age=600,
        ),
        # Operation-cache hits as stored bytes, rate limit and lookup in one Redis round trip
        # (alawael.schema.cached_answer); everything else goes on with the body replayed.
        Middleware(CachedAnswerMiddleware, settings=settings),
        # Inside CORS, so a browser can read a 429 and its headers.
        Middleware(RateLimitMiddleware, settings=settings),
        # Level 6 (zlib's default) instead of Starlette's 9: half the CPU on a 44 KB dashboard
        # response (0.27 vs 0.57 ms, measured for `make bench`) for a few % larger bodies.
        Middleware(GZipMiddleware, minimum_size=settings.gzip_min_bytes, compresslevel=6),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.settings = settings
    app.state.schema = schema
    app.state.websockets = websockets
    # The backup status is read from BACKUP_DIR at scrape time: backups and drills run by the
    # job runner in another worker, or by the CLI, show the same way, and survive restarts.
    app.state.metrics_collectors = (
        [BackupStatus(settings.backup_dir)] if settings.backup_dir is not None else []
    )
    return app


def app_factory() -> Starlette:
    """Entry point for `uvicorn --factory alawael.server:app_factory` (and for workers)."""
    from alawael.infra.observability import configure_logging, init_sentry

    settings = load_settings()
    configure_logging(settings)
    init_sentry(settings)
    app = create_app(settings)
    # Per worker process, after the schema is built: not in create_app, which tests call
    # many times in one process (each freeze would pin that test's app for good).
    settle_heap(settings)
    return app

"""`follow()`: the loop behind every GraphQL subscription resolver.

For each event on the subscription's channels it
1. builds a fresh per-event Context whose loaders are shared by every local subscriber of
   that event (never the connection's loaders, which would go stale);
2. re-checks that the subscriber's session and user are still live (batched per event), and
   ends the connection with 4403 when they are not;
3. calls `render(ctx, delivery)`, the domain re-read done *as the subscriber* through the
   services' visibility rules; `None`, NOT_FOUND or FORBIDDEN mean "not for you", so
   nothing is sent. Renders usually go through `delivery.memo((name, scope), ...)` so
   subscribers sharing a scope share one re-read;
4. yields the result; while Strawberry executes the selection on it, nested resolvers read
   through the event's loaders (`OPERATION_LOADERS`).

A subscriber whose bounded queue overflows is dropped and its socket closed with 4008.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from pymongo.errors import PyMongoError
from starlette.websockets import WebSocket, WebSocketState

from alawael.auth.permissions import Actor
from alawael.context import OPERATION_LOADERS, Context
from alawael.infra.fanout import Delivery, SlowConsumer
from alawael.infra.realtime_metrics import SUBSCRIPTIONS_ACTIVE
from alawael.infra.resources import Resources
from alawael.realtime.liveness import still_allowed
from alawael.realtime.render_gate import lead_or_follow
from alawael.realtime.session_keeper import watch_session
from alawael.realtime.shared_render import (
    SHARED_RENDER,
    FrameTemplate,
    RenderShare,
    express_frame,
    subscribed_render_key,
)
from alawael.shared.errors import AppError, ErrorCode, ServiceUnavailable, Unauthenticated

if TYPE_CHECKING:
    from alawael.loaders import Loaders

log = logging.getLogger("alawael.realtime")

T = TypeVar("T")

SLOW_CONSUMER_CLOSE = (4008, "Slow consumer: too many undelivered events")
SESSION_ENDED_CLOSE = (4403, "Forbidden: session revoked or user deactivated")

# Errors that mean "this event is not for this subscriber": skip it silently.
_NOT_FOR_YOU = {ErrorCode.NOT_FOUND, ErrorCode.FORBIDDEN}

Render = Callable[[Context, Delivery], Awaitable[T | None]]
Initial = Callable[[Context], Awaitable[T | None]]

# Close tasks started from the hub's synchronous dispatch: kept referenced until done.
_closing: set[asyncio.Task[None]] = set()


def scope_of(actor: Actor | None) -> str:
    """Who may share a re-read: all staff see the same orders, each customer only theirs."""
    if actor is None:
        return "anonymous"
    return "staff" if actor.is_staff else f"user:{actor.user_id}"


def websocket_of(ctx: Context) -> WebSocket | None:
    return ctx.response if isinstance(ctx.response, WebSocket) else None


async def close_socket(ws: WebSocket, code: int, reason: str) -> None:
    """Close once; a second close (another subscription of the same connection, or the
    client having gone) is not an error."""
    if ws.application_state == WebSocketState.DISCONNECTED:
        return
    try:
        await ws.close(code=code, reason=reason)
    except Exception as exc:  # already closing or the peer vanished
        log.debug("closing websocket failed: %s", exc)


def _schedule_close(ws: WebSocket | None, code: int, reason: str) -> None:
    if ws is None:
        return
    task = asyncio.get_running_loop().create_task(close_socket(ws, code, reason))
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def event_context(ctx: Context, delivery: Delivery) -> tuple[Context, Loaders]:
    """A fresh Context for one event, with the loaders every subscriber of it shares."""
    from alawael.loaders import Loaders

    loaders = delivery.shared("loaders", lambda: Loaders(ctx.resources.db))
    fresh = ctx.fresh()
    fresh._loaders = loaders
    return fresh, loaders


async def _park_until_cancelled() -> None:
    # The socket is closing: Strawberry's handler notices and cancels this operation. Sending
    # a "complete" now would only race the close.
    await asyncio.Event().wait()


async def follow(
    ctx: Context,
    channels: Iterable[str],
    render: Render[T],
    *,
    initial: Initial[T] | None = None,
    coalesce_seconds: float = 0.0,
    name: str = "subscription",
    share: Hashable | None = None,
) -> AsyncGenerator[T, None]:
    """Yield `render(...)` for each event on `channels` that this subscriber may see.

    `initial` (optional) is yielded first, on subscribe. With `coalesce_seconds`, bursts are
    folded: at most one render per window, for the latest event of the burst.
    `share` (optional): the feed's visibility scope when every subscriber in it gets the
    same value per event; their selections are then executed and encoded once
    (alawael.realtime.shared_render).
    """
    res = ctx.resources
    user = ctx.user
    ws = websocket_of(ctx)
    loop = asyncio.get_running_loop()

    def on_overflow() -> None:
        _schedule_close(ws, *SLOW_CONSUMER_CLOSE)

    SUBSCRIPTIONS_ACTIVE.inc()
    # Its session check kept fresh between events; a session found over closes the socket.
    unwatch = watch_session(res, user, lambda: _schedule_close(ws, *SESSION_ENDED_CLOSE))
    try:
        async with res.events.listen(channels, on_overflow=on_overflow) as sub:
            last_emit = float("-inf")
            # Who shares this subscriber's renders: known from the executor at subscribe
            # time, and (re)learned from every shared render.
            key = subscribed_render_key() if share is not None else None
            role = user.role if user is not None else None
            group: Hashable | None = ((name, share, role), key) if key is not None else None
            # How this subscriber's shared frames look, learned from the first one it sent.
            template: FrameTemplate | None = None
            if initial is not None:
                value = await initial(ctx.fresh())
                if value is not None:
                    last_emit = loop.time()
                    yield value
            while True:
                try:
                    delivery = await sub.get()
                    if coalesce_seconds > 0:
                        wait = last_emit + coalesce_seconds - loop.time()
                        if wait > 0:
                            await asyncio.sleep(wait)
                        queued = sub.drain()
                        if queued:
                            delivery = queued[-1]
                        if sub.overflowed:
                            raise SlowConsumer
                except SlowConsumer:
                    if ws is None:
                        raise ServiceUnavailable(
                            "Too many undelivered events; subscribe again."
                        ) from None
                    await close_socket(ws, *SLOW_CONSUMER_CLOSE)
                    await _park_until_cancelled()
                    return

                ectx, loaders = event_context(ctx, delivery)
                OPERATION_LOADERS.set(loaders)
                if user is not None and not await _live(res, user, delivery, name):
                    log.info(
                        "ending subscriptions of a revoked session or inactive user",
                        extra={"user_id": user.user_id, "subscription": name},
                    )
                    if ws is None:
                        raise Unauthenticated("Session revoked or user deactivated.")
                    await close_socket(ws, *SESSION_ENDED_CLOSE)
                    await _park_until_cancelled()
                    return
                # Shared renders: the group's leader renders first (alawael.realtime.render_gate).
                gate = await lead_or_follow(delivery, group) if group is not None else None
                try:
                    value = await _render_safely(render, ectx, delivery, name)
                    if value is None:
                        OPERATION_LOADERS.set(None)
                        continue
                    last_emit = loop.time()
                    if (
                        gate is None
                        and group is not None
                        and template is not None
                        and ws is not None
                    ):
                        # A follower of a shared render: its frame is the group's, with its
                        # own operation id; sent here, past execution and Strawberry.
                        frame = express_frame(delivery, group, template)
                        if frame is not None and await _send_frame(ws, frame):
                            OPERATION_LOADERS.set(None)
                            continue
                    if share is not None:
                        marked = RenderShare(delivery, (name, share, role), gate)
                        SHARED_RENDER.set(marked)
                        yield value
                        group = marked.group()
                        template = marked.template or template
                    else:
                        yield value
                finally:
                    if gate is not None:
                        gate.open()
                SHARED_RENDER.set(None)
                OPERATION_LOADERS.set(None)
    finally:
        unwatch()
        SHARED_RENDER.set(None)
        OPERATION_LOADERS.set(None)
        SUBSCRIPTIONS_ACTIVE.dec()


async def _send_frame(ws: WebSocket, frame: str) -> bool:
    """Send a prepared frame; False if the socket refused it (closing or gone): the caller
    then takes the normal path, where Strawberry meets and reports the same failure."""
    try:
        await ws.send_text(frame)
    except Exception as exc:
        log.debug("express frame not sent: %s", exc)
        return False
    return True


async def _live(res: Resources, user: Actor, delivery: Delivery, name: str) -> bool:
    try:
        return await still_allowed(res, user, delivery)
    except PyMongoError as exc:
        # The database is away: nobody can be re-checked, and nothing can be re-read
        # either. Keep the subscription; the render below will skip the event.
        log.warning("liveness check failed: %s", exc, extra={"subscription": name})
        return True


async def _render_safely(
    render: Render[T], ctx: Context, delivery: Delivery, name: str
) -> T | None:
    try:
        return await render(ctx, delivery)
    except AppError as exc:
        if exc.code in _NOT_FOR_YOU:
            return None
        if exc.code is ErrorCode.SERVICE_UNAVAILABLE:
            log.warning("subscription event skipped: %s", exc.message, extra={"subscription": name})
            return None
        raise
    except Exception:
        # A bug or an outage while re-reading one event: log it (Sentry receives it through
        # logging) and keep the subscription; the next event may well succeed.
        log.exception(
            "error while rendering a subscription event",
            extra={"subscription": name, "channel": delivery.channel, "event": delivery.event},
        )
        return None


def memo_by_scope(
    delivery: Delivery, key: str, actor: Actor | None, compute: Callable[[], Awaitable[Any]]
) -> Awaitable[Any]:
    """Share one re-read per (event, key, scope) among this worker's subscribers."""
    return delivery.memo((key, scope_of(actor)), compute)

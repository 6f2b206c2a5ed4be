"""Shared resources (built once per worker in the lifespan) and the per-request Context."""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from alawael.auth.permissions import Actor
from alawael.cache import Cache
from alawael.config import Settings
from alawael.db import Db, Document
from alawael.errors import AppError
from alawael.events import EventHub

if TYPE_CHECKING:
    from pymongo import AsyncMongoClient
    from redis.asyncio import Redis

    from alawael.auth.socket_identity import SocketIdentity
    from alawael.loaders import Loaders


@dataclass
class Resources:
    """Clients and hubs of one worker. Created in the lifespan, reached through the context:
    no module-level connections, no hidden state between workers."""

    settings: Settings
    client: AsyncMongoClient[Document]
    db: Db
    cache: Cache
    events: EventHub
    redis: Redis | None = None
    started_at: float = field(default_factory=time.time)
    mongo_mode: str = "external"  # "external" or "embedded"
    extras: dict[str, Any] = field(default_factory=dict)  # optional subsystems by name


# The loaders of the operation or subscription event running in this task. A WebSocket's
# Context lives as long as the connection, so its own `_loaders` would go stale across
# events: the subscription machinery (alawael.realtime.stream) sets fresh loaders here per
# event and per WebSocket operation, and nested resolvers read through them.
OPERATION_LOADERS: ContextVar[Loaders | None] = ContextVar("operation_loaders", default=None)


@dataclass
class Context:
    """What a resolver sees as `info.context`. Loaders are built per operation (and per
    subscription event), never once per WebSocket connection, so they cannot go stale."""

    resources: Resources
    user: Actor | None = None
    request: Request | WebSocket | None = None
    response: Response | WebSocket | None = None
    request_id: str | None = None
    connection_params: dict[str, Any] | None = None
    # Why `user` is None although a token was sent (invalid, expired, revoked): permission
    # checks and `me` report it as UNAUTHENTICATED instead of treating the caller as anonymous.
    auth_error: AppError | None = None
    # WebSocket only: the connection's identity, re-checked before every operation
    # (alawael.realtime.socket_guard).
    identity: SocketIdentity | None = None
    _loaders: Loaders | None = None

    @property
    def loaders(self) -> Loaders:
        current = OPERATION_LOADERS.get()
        if current is not None:
            return current
        if self._loaders is None:
            from alawael.loaders import Loaders

            self._loaders = Loaders(self.resources.db)
        return self._loaders

    def fresh(self) -> Context:
        """A copy with new loaders: used once per subscription event."""
        return Context(
            resources=self.resources,
            user=self.user,
            request=self.request,
            response=self.response,
            request_id=self.request_id,
            connection_params=self.connection_params,
            auth_error=self.auth_error,
            identity=self.identity,
        )

    @property
    def settings(self) -> Settings:
        return self.resources.settings

    @property
    def db(self) -> Db:
        return self.resources.db

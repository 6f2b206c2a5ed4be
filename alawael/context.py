"""The per-request Context; the worker's Resources (alawael.infra.resources) re-exported."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from alawael.auth.permissions import Actor
from alawael.config import Settings
from alawael.infra.db import Db
from alawael.infra.resources import Resources
from alawael.shared.errors import AppError

__all__ = ["OPERATION_LOADERS", "Context", "Resources"]

if TYPE_CHECKING:
    from alawael.auth.socket_identity import SocketIdentity
    from alawael.loaders import Loaders


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

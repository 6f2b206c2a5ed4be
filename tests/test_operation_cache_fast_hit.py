"""Operation-cache hits answered as stored bytes in front of the view
(alawael.schema.cached_answer): the same answer as the view's, gzip included; the rate limit
still counts every hit; a revoked token or another caller never gets someone's cached answer."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis as redis_sync
from bson import ObjectId

from alawael.auth.permissions import Role
from alawael.auth.sessions import revoke_session
from alawael.infra.resources import Resources
from alawael.schema import app as graphql_app
from alawael.server import create_app
from alawael.services import orders
from tests.conftest import make_settings
from tests.support.rest import add_product
from tests.support.ws import signed_in_token

# Large enough (several products) to pass GZIP_MIN_BYTES, so gzip and Vary are exercised.
PRODUCTS = (
    "query Catalogue($n: Int) { products(first: $n) { edges { node { id sku name "
    "description category price currency stock archived createdAt } } } }"
)
ORDERS = "{ orders(first: 20) { edges { node { number customer { email } } } } }"
GQL = "application/graphql-response+json"
# Headers that differ per request whatever serves it.
PER_REQUEST = {"x-request-id", "ratelimit-remaining", "ratelimit-reset", "content-length"}


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """A db of this module's own: rate-limit budgets are counted exactly."""
    url = f"{redis_server_url}/11"
    redis_sync.Redis.from_url(url).flushdb()
    return url


class Served:
    def __init__(self, client: httpx.AsyncClient, res: Resources) -> None:
        self.client = client
        self.res = res
        self.view_calls = 0


@pytest.fixture
async def served(
    mongo_uri: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Served]:
    settings = make_settings(
        mongo_uri,
        redis_url=redis_url,
        rate_limit_enabled=True,
        rate_limit_default="1000/minute",
        rate_limit_user="1000/minute",
        gzip_min_bytes=200,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        res: Resources = app.state.resources
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            out = Served(client, res)
            # Count operations that reach the view: a fast-path hit never does.
            original = graphql_app.ERPGraphQL.execute_single

            async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
                out.view_calls += 1
                return await original(self, *args, **kwargs)

            monkeypatch.setattr(graphql_app.ERPGraphQL, "execute_single", counting)
            for i in range(6):
                await add_product(res, sku=f"FH-{i}", price_cents=100 + i, stock=5 + i)
            yield out
        await res.client.drop_database(settings.mongodb_db)


async def raw_post(
    client: httpx.AsyncClient,
    body: dict[str, Any],
    headers: dict[str, str],
    path: str = "/graphql",
) -> tuple[httpx.Response, bytes]:
    """The response and its body exactly as sent (not decompressed)."""
    async with client.stream("POST", path, json=body, headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, raw


def comparable(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in PER_REQUEST}


@pytest.mark.parametrize("accept", ["application/json", GQL])
async def test_a_hit_sends_the_views_bytes_and_gzip_that_decompresses_to_them(
    served: Served, accept: str
) -> None:
    body = {"query": PRODUCTS, "operationName": "Catalogue", "variables": {"n": 6}}
    plain = {"Accept": accept, "Accept-Encoding": "identity"}
    zipped = {"Accept": accept, "Accept-Encoding": "gzip"}

    # Misses, answered by the view: one plain (another variable: its own cache entry), one
    # compressed by the GZip middleware as it goes out.
    live, _ = await raw_post(served.client, {**body, "variables": {"n": 5}}, plain)
    live_gzip, live_gzip_bytes = await raw_post(served.client, body, zipped)
    assert served.view_calls == 2
    assert live.status_code == live_gzip.status_code == 200
    assert live_gzip.headers["content-encoding"] == "gzip"
    answer = gzip.decompress(live_gzip_bytes)
    assert "errors" not in json.loads(answer)
    assert len(json.loads(answer)["data"]["products"]["edges"]) == 6

    hit, hit_bytes = await raw_post(served.client, body, plain)
    hit_gzip, hit_gzip_bytes = await raw_post(served.client, body, zipped)
    assert served.view_calls == 2  # both answered in front of the view, from stored bytes

    assert hit_bytes == answer
    assert gzip.decompress(hit_gzip_bytes) == answer
    assert comparable(hit) == comparable(live)
    assert comparable(hit_gzip) == comparable(live_gzip)


async def test_every_hit_is_charged_to_the_rate_limit(mongo_uri: str, redis_url: str) -> None:
    settings = make_settings(
        mongo_uri, redis_url=redis_url, rate_limit_enabled=True, rate_limit_default="4/minute"
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        res: Resources = app.state.resources
        await add_product(res, sku="RL-1")
        transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            body = {"query": PRODUCTS, "variables": {"n": 1}}
            answers = [await client.post("/graphql", json=body) for _ in range(5)]
        await res.client.drop_database(settings.mongodb_db)
    assert [r.status_code for r in answers] == [200, 200, 200, 200, 429]
    assert [r.headers["ratelimit-remaining"] for r in answers[:4]] == ["3", "2", "1", "0"]
    assert answers[3].json() == answers[1].json()  # hits, and charged like the miss
    assert answers[4].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "retry-after" in answers[4].headers


async def test_a_revoked_token_gets_no_cached_answer(served: Served) -> None:
    token, _, session_id = await signed_in_token(served.res, Role.STAFF)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"query": ORDERS}  # signed-in callers only
    first = await served.client.post("/graphql", json=body, headers=headers)
    again = await served.client.post("/graphql", json=body, headers=headers)
    assert first.json()["data"]["orders"] is not None
    assert again.json() == first.json()
    calls = served.view_calls

    await revoke_session(served.res, ObjectId(str(session_id)), reason="test")
    refused = await served.client.post("/graphql", json=body, headers=headers)
    assert served.view_calls == calls + 1  # the view answered, not the cache
    assert [e["extensions"]["code"] for e in refused.json()["errors"]] == ["UNAUTHENTICATED"]
    assert refused.json().get("data") is None


async def test_hits_are_kept_apart_per_caller(served: Served) -> None:
    product, _ = await add_product(served.res, sku="SEP-1", price_cents=900, stock=50)
    callers = []
    for _ in range(2):
        token, customer, _ = await signed_in_token(served.res, Role.CUSTOMER)
        order = await orders.place_order(
            served.res, customer, [orders.OrderLine(product.id, 1)], note=None
        )
        callers.append(({"Authorization": f"Bearer {token}"}, order.number))
    staff_token, _, _ = await signed_in_token(served.res, Role.STAFF)
    everyone = {number for _, number in callers}

    def numbers(response: httpx.Response) -> set[str]:
        edges = response.json()["data"]["orders"]["edges"]
        return {e["node"]["number"] for e in edges}

    for _ in range(2):  # the second round is served from the cache
        staff = await served.client.post(
            "/graphql", json={"query": ORDERS}, headers={"Authorization": f"Bearer {staff_token}"}
        )
        assert numbers(staff) == everyone
        for headers, number in callers:
            mine = await served.client.post("/graphql", json={"query": ORDERS}, headers=headers)
            assert numbers(mine) == {number}
        anonymous = await served.client.post("/graphql", json={"query": ORDERS})
        assert "data" not in anonymous.json() or not anonymous.json()["data"]
    # Round two reached the view only for the anonymous caller (an error is never cached).
    assert served.view_calls == 4 + 1


async def test_the_api_path_gets_the_same_fast_hits(served: Served) -> None:
    """GraphQL at /api/graphql (for deployments forwarding only /api/*) is the same app: a
    query cached through one path is a stored-bytes hit through the other."""
    body = {"query": PRODUCTS, "operationName": "Catalogue", "variables": {"n": 4}}
    plain = {"Accept": "application/json", "Accept-Encoding": "identity"}
    live, live_bytes = await raw_post(served.client, body, plain, path="/graphql")
    assert live.status_code == 200
    assert served.view_calls == 1
    hit, hit_bytes = await raw_post(served.client, body, plain, path="/api/graphql")
    assert served.view_calls == 1  # answered in front of the view
    assert hit_bytes == live_bytes
    assert comparable(hit) == comparable(live)

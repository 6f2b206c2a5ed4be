"""Automatic persisted queries (Apollo protocol) and safelist mode."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from alawael.server import create_app
from tests.conftest import make_settings

QUERY = "query Info { serverInfo { name } }"
OTHER = "query Version { serverInfo { version } }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def test_apq_miss_register_hit(client: httpx.AsyncClient) -> None:
    miss = await client.post("/graphql", json={"extensions": apq(sha(QUERY))})
    error = miss.json()["errors"][0]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    register = await client.post("/graphql", json={"query": QUERY, "extensions": apq(sha(QUERY))})
    assert register.json()["data"] == {"serverInfo": {"name": "alawael"}}

    hit = await client.post("/graphql", json={"extensions": apq(sha(QUERY))})
    assert hit.json()["data"] == {"serverInfo": {"name": "alawael"}}


async def test_apq_hash_mismatch_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": QUERY, "extensions": apq(sha(OTHER))})
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "data" not in response.json()
    # ... and nothing was stored under the wrong hash.
    again = await client.post("/graphql", json={"extensions": apq(sha(OTHER))})
    assert again.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_apq_unsupported_version(client: httpx.AsyncClient) -> None:
    ext = {"persistedQuery": {"version": 2, "sha256Hash": sha(QUERY)}}
    response = await client.post("/graphql", json={"query": QUERY, "extensions": ext})
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_apq_over_get(client: httpx.AsyncClient) -> None:
    params = {"extensions": json.dumps(apq(sha(QUERY)))}
    # A browser-like Accept must not turn an APQ GET into the GraphiQL page.
    headers = {"Accept": "*/*"}
    miss = await client.get("/graphql", params=params, headers=headers)
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    await client.get("/graphql", params={**params, "query": QUERY}, headers=headers)
    hit = await client.get("/graphql", params=params, headers=headers)
    assert hit.json()["data"] == {"serverInfo": {"name": "alawael"}}


async def test_apq_is_shared_through_redis(mongo_uri: str, redis_url: str) -> None:
    """Registered on instance A, found by instance B."""
    apps = [create_app(make_settings(mongo_uri, redis_url=redis_url)) for _ in range(2)]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        a, b = (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=x), base_url="http://t")
            for x in apps
        )
        async with a, b:
            await a.post("/graphql", json={"query": QUERY, "extensions": apq(sha(QUERY))})
            hit = await b.post("/graphql", json={"extensions": apq(sha(QUERY))})
            assert hit.json()["data"] == {"serverInfo": {"name": "alawael"}}


@pytest.fixture
async def safelist_client(mongo_uri: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    path = tmp_path / "safelist.json"
    path.write_text(json.dumps({sha(QUERY): QUERY}))
    settings = make_settings(mongo_uri, graphql_safelist_only=True, graphql_safelist_file=path)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_safelist_allows_only_registered_documents(
    safelist_client: httpx.AsyncClient,
) -> None:
    by_hash = await safelist_client.post("/graphql", json={"extensions": apq(sha(QUERY))})
    assert by_hash.json()["data"] == {"serverInfo": {"name": "alawael"}}
    by_text = await safelist_client.post("/graphql", json={"query": QUERY})
    assert by_text.json()["data"] == {"serverInfo": {"name": "alawael"}}

    for body in (
        {"query": OTHER},
        {"extensions": apq(sha(OTHER))},
        {"query": OTHER, "extensions": apq(sha(OTHER))},  # APQ registration is off too
    ):
        response = await safelist_client.post(
            "/graphql", json=body, headers={"Accept": "application/graphql-response+json"}
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"

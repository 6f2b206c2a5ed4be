"""GraphQL limits (depth, aliases, tokens, cost, batch), the cost report, the validation
cache, production introspection, and GraphQL-over-HTTP media types and status codes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import strawberry
from strawberry.extensions.validation_cache import _get_validate_cache

from alawael.protect.graphql_limits import CACHE_SIZE, DEFAULT_LIST_SIZE, schema_extensions
from alawael.server import create_app
from tests.conftest import make_settings

GQL = "application/graphql-response+json"

SERVER_INFO = "query Info { serverInfo { name version } }"
BAD_SYNTAX = "query { serverInfo { name "
UNKNOWN_FIELD = "query { noSuchField }"
INTROSPECTION = "query { __schema { queryType { name } } }"
MUTATION = "mutation { __typename }"


@strawberry.type
class Item:
    id: int

    @strawberry.field
    def children(self, first: int | None = None) -> list[Item]:
        return [Item(id=self.id * 10 + i) for i in range(min(first or 2, 3))]

    @strawberry.field
    def tags(self) -> list[str]:
        return ["a"]


@strawberry.type
class LimitsQuery:
    @strawberry.field
    def item(self) -> Item:
        return Item(id=1)

    @strawberry.field
    def items(self, first: int | None = None) -> list[Item]:
        return [Item(id=i) for i in range(min(first or 2, 3))]


def limits_schema(**overrides: Any) -> strawberry.Schema:
    settings = make_settings("mongodb://unused", **overrides)
    return strawberry.Schema(
        query=LimitsQuery, extensions=schema_extensions(settings, production=False)
    )


def nested(depth: int) -> str:
    """A query whose longest path has `depth` fields (the leaf counts)."""
    inner = "id"
    for _ in range(depth - 2):
        inner = f"children {{ {inner} }}"
    return f"{{ item {{ {inner} }} }}"


async def test_depth_limit() -> None:
    schema = limits_schema(graphql_max_depth=4)
    assert not (await schema.execute(nested(4))).errors
    result = await schema.execute(nested(5))
    assert result.errors
    assert result.errors[0].extensions["code"] == "QUERY_TOO_COMPLEX"
    assert "depth 5" in result.errors[0].message


async def test_depth_counts_through_fragments() -> None:
    schema = limits_schema(graphql_max_depth=3)
    query = "{ item { ...F } } fragment F on Item { children { children { id } } }"
    result = await schema.execute(query)
    assert result.errors
    assert "depth 4" in result.errors[0].message


async def test_alias_limit() -> None:
    schema = limits_schema(graphql_max_aliases=3)
    ok = "{ a: item { id } b: item { id } c: item { id } }"
    assert not (await schema.execute(ok)).errors
    result = await schema.execute("{ a: item { id } b: item { id } c: item { id } d: item { id } }")
    assert result.errors
    assert "4 aliases" in result.errors[0].message


async def test_token_limit() -> None:
    schema = limits_schema(graphql_max_tokens=20)
    assert not (await schema.execute("{ item { id } }")).errors
    result = await schema.execute("{ " + " ".join(f"a{i}: item {{ id }}" for i in range(6)) + " }")
    assert result.errors
    assert "tokens" in result.errors[0].message


async def test_cost_multiplies_by_first_and_is_reported() -> None:
    schema = limits_schema(graphql_max_cost=1000)
    # items(first: 10): 1 + 10 * (id 1 + children(first: 5): 1 + 5 * id 1) = 1 + 10 * 7 = 71
    result = await schema.execute("{ items(first: 10) { id children(first: 5) { id } } }")
    assert not result.errors
    assert result.extensions == {"cost": {"requested": 71, "limit": 1000}}
    # A variable counts like a literal.
    result = await schema.execute(
        "query Q($n: Int) { items(first: $n) { id } }", variable_values={"n": 40}
    )
    assert result.extensions["cost"]["requested"] == 41


async def test_cost_uses_default_list_size_when_first_is_absent() -> None:
    schema = limits_schema()
    result = await schema.execute("{ item { tags } }")
    # item 1 + tags (a list of scalars): 1 + DEFAULT_LIST_SIZE * 0 = 1
    assert result.extensions["cost"]["requested"] == 2
    result = await schema.execute("{ item { children { id } } }")
    assert result.extensions["cost"]["requested"] == 1 + 1 + DEFAULT_LIST_SIZE


async def test_cost_over_the_limit_is_refused_before_execution() -> None:
    schema = limits_schema(graphql_max_cost=500)
    result = await schema.execute("{ items(first: 100) { children(first: 100) { id } } }")
    assert result.data is None
    assert result.errors[0].extensions["code"] == "QUERY_TOO_COMPLEX"
    assert result.errors[0].extensions["cost"] == 1 + 100 * (1 + 100)
    assert result.extensions["cost"]["limit"] == 500


async def test_validation_cache_hits_on_repeated_documents() -> None:
    """The rules are built once, so the second identical request is a validation-cache hit
    (strawberry#4635: per-request rule classes make every lookup a miss)."""
    schema = limits_schema()
    cache = _get_validate_cache(CACHE_SIZE)
    query = "{ item { id children(first: 2) { id } } } # validation-cache-probe"
    await schema.execute(query)
    hits = cache.cache_info().hits
    await schema.execute(query)
    assert cache.cache_info().hits == hits + 1


# --- over HTTP, on the real app ---------------------------------------------------------
@pytest.fixture
async def prod_client(mongo_uri: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(mongo_uri, env="production", jwt_secret="x" * 40)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            yield c
        await app.state.resources.client.drop_database(settings.mongodb_db)


async def test_production_disables_introspection_but_not_typename(
    prod_client: httpx.AsyncClient,
) -> None:
    response = await prod_client.post("/graphql", json={"query": INTROSPECTION})
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "introspection" in response.json()["errors"][0]["message"].lower()
    response = await prod_client.post("/graphql", json={"query": "{ __typename }"})
    assert response.json()["data"] == {"__typename": "Query"}


async def test_development_allows_introspection(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": INTROSPECTION})
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


@pytest.mark.parametrize(
    ("query", "status", "has_data"),
    [(SERVER_INFO, 200, True), (BAD_SYNTAX, 400, False), (UNKNOWN_FIELD, 400, False)],
)
async def test_graphql_response_json_status_codes(
    client: httpx.AsyncClient, query: str, status: int, has_data: bool
) -> None:
    response = await client.post("/graphql", json={"query": query}, headers={"Accept": GQL})
    assert response.status_code == status
    assert response.headers["content-type"].startswith(GQL)
    assert ("data" in response.json()) is has_data


@pytest.mark.parametrize("query", [SERVER_INFO, BAD_SYNTAX, UNKNOWN_FIELD])
async def test_legacy_json_clients_always_get_200(client: httpx.AsyncClient, query: str) -> None:
    response = await client.post(
        "/graphql", json={"query": query}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


async def test_too_complex_over_http_is_400_with_cost(client: httpx.AsyncClient) -> None:
    aliases = " ".join(f"a{i}: serverInfo {{ name }}" for i in range(31))
    response = await client.post(
        "/graphql", json={"query": f"{{ {aliases} }}"}, headers={"Accept": GQL}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    ok = await client.post("/graphql", json={"query": SERVER_INFO}, headers={"Accept": GQL})
    assert ok.json()["extensions"]["cost"]["requested"] == 3


async def test_get_runs_queries_and_refuses_mutations(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": SERVER_INFO}, headers={"Accept": GQL})
    assert response.status_code == 200
    assert response.json()["data"]["serverInfo"]["name"] == "alawael"
    response = await client.get("/graphql", params={"query": MUTATION}, headers={"Accept": GQL})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["message"]


async def test_batches_run_up_to_the_limit(client: httpx.AsyncClient) -> None:
    batch = [{"query": SERVER_INFO}] * 10
    response = await client.post("/graphql", json=batch)
    assert response.status_code == 200
    assert len(response.json()) == 10
    response = await client.post("/graphql", json=[{"query": SERVER_INFO}] * 11)
    assert response.status_code == 400
    assert "Too many operations" in response.json()["errors"][0]["message"]

"""GraphQL-over-HTTP request parameters of the wrong type are the client's 400 with a code,
never a 500 (red-team finding: `"operationName": {}` answered 500)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

Q = "{ __typename }"

BAD_BODIES: list[Any] = [
    {"query": Q, "operationName": {}},
    {"query": Q, "operationName": []},
    {"query": Q, "operationName": 5},
    {"query": Q, "operationName": True},
    {"query": 5},
    {"query": Q, "variables": []},
    {"query": Q, "extensions": "x"},
    # batches: every operation is checked, not only a single one
    [5],
    ["{ __typename }"],
    [{"query": Q, "operationName": {}}],
    [{"query": Q, "variables": [1]}],
    [{"query": ["x"]}],
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=[repr(b)[:40] for b in BAD_BODIES])
@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_wrongly_typed_parameters_are_a_400_with_a_code(
    client: httpx.AsyncClient, body: Any, accept: str
) -> None:
    response = await client.post("/graphql", json=body, headers={"Accept": accept})
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"
    assert "Traceback" not in response.text


async def test_a_good_batch_and_a_named_operation_still_run(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json=[{"query": "query A { __typename } query B { __typename }", "operationName": "B"}],
    )
    assert response.status_code == 200
    assert [r["data"] for r in response.json()] == [{"__typename": "Query"}]

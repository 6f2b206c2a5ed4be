from __future__ import annotations

import httpx

SERVER_INFO = "query { serverInfo { name version environment uptimeSeconds database realtime } }"


async def test_server_info_over_http(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": SERVER_INFO})
    assert response.status_code == 200
    info = response.json()["data"]["serverInfo"]
    assert info["name"] == "alawael"
    assert info["environment"] == "test"
    assert info["realtime"] == "in-process"
    assert info["uptimeSeconds"] >= 0


async def test_query_via_get(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ serverInfo { name } }"})
    assert response.json()["data"]["serverInfo"]["name"] == "alawael"


async def test_validation_error_has_a_code(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ nope }"})
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_parse_error_has_a_code(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ serverInfo { "})
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"

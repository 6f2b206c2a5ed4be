"""GraphQL is also served at /api/graphql (for CDNs and load balancers that forward only
/api/*), over real HTTP and WebSocket, under the same rules as /graphql: authentication,
persisted queries, depth limits, rate limits (with GraphQL-shaped refusals)."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from alawael.auth.permissions import Role
from tests.support.ws import LEGACY, TRANSPORT, codes_of, gql_socket, running_app, signed_in_token

PATHS = ("/graphql", "/api/graphql")
ME = "{ me { id role } }"
OWN_ORDERS = "{ orders(first: 1) { edges { node { id } } } }"
DEEP = (
    "{ me { orders { edges { node { customer { orders { edges { node { customer { id } } } } } }"
    " } } } }"
)
APQ_QUERY = "query Info { serverInfo { name } }"


def _apq() -> dict[str, object]:
    digest = hashlib.sha256(APQ_QUERY.encode()).hexdigest()
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def test_both_paths_answer_over_http_under_the_same_rules(mongo_uri: str) -> None:
    async with running_app(mongo_uri, graphql_max_depth=6) as served:
        token, _, _ = await signed_in_token(served.resources, Role.CUSTOMER)
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=served.http) as client:
            for path in PATHS:
                me = await client.post(path, json={"query": ME}, headers=auth)
                assert me.status_code == 200, path
                assert me.json()["data"]["me"]["role"] == "CUSTOMER", path
                over_get = await client.get(path, params={"query": ME}, headers=auth)
                assert over_get.json()["data"]["me"]["id"] == me.json()["data"]["me"]["id"]

                anonymous = await client.post(path, json={"query": OWN_ORDERS})
                assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
                bad = await client.post(
                    path, json={"query": OWN_ORDERS}, headers={"Authorization": "Bearer x"}
                )
                assert bad.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
                deep = await client.post(path, json={"query": DEEP}, headers=auth)
                assert deep.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX", path
                assert "depth" in deep.json()["errors"][0]["message"]

            # Persisted queries: one registry behind both paths.
            miss = await client.post("/api/graphql", json={"extensions": _apq()})
            assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
            registered = await client.post(
                "/graphql", json={"query": APQ_QUERY, "extensions": _apq()}
            )
            assert registered.json()["data"] == {"serverInfo": {"name": "alawael"}}
            hit = await client.post("/api/graphql", json={"extensions": _apq()})
            assert hit.json()["data"] == {"serverInfo": {"name": "alawael"}}


async def test_rate_limit_refusals_are_graphql_shaped_on_both_paths(mongo_uri: str) -> None:
    async with (
        running_app(mongo_uri, rate_limit_enabled=True, rate_limit_default="4/minute") as served,
        httpx.AsyncClient(base_url=served.http) as client,
    ):
        answers = [
            await client.post(path, json={"query": APQ_QUERY})
            for path in ("/graphql", "/api/graphql", "/graphql", "/api/graphql")
        ]
        assert [a.status_code for a in answers] == [200] * 4  # one budget for both
        refused = await client.post("/api/graphql", json={"query": APQ_QUERY})
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert "Retry-After" in refused.headers


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
async def test_websocket_at_api_graphql(mongo_uri: str, protocol: str) -> None:
    async with running_app(mongo_uri) as served:
        token, _, _ = await signed_in_token(served.resources, Role.CUSTOMER)
        url = served.ws.replace("/graphql", "/api/graphql")
        assert url.endswith("/api/graphql")
        async with gql_socket(url, token, protocol=protocol) as sock:
            answer = await sock.request("subscription { unreadNotificationCount }")
            assert answer["payload"]["data"] == {"unreadNotificationCount": 0}
            staff_only = await sock.request("subscription { orderPlaced { id } }")
            assert codes_of(staff_only) == ["FORBIDDEN"]
        async with gql_socket(url, protocol=protocol) as anonymous:
            refused = await anonymous.request("subscription { unreadNotificationCount }")
            assert codes_of(refused) == ["UNAUTHENTICATED"]

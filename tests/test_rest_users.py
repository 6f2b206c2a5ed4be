"""REST endpoints 5-7: /api/users/me, /api/users, /api/users/{id}."""

from __future__ import annotations

import httpx
from bson import ObjectId

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.schema.node import to_global_id
from tests.support.graphql import make_user
from tests.support.rest import signed_in


async def test_me(client: httpx.AsyncClient, resources: Resources) -> None:
    actor, headers = await signed_in(resources, Role.STAFF)
    response = await client.get("/api/users/me", headers=headers)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["id"] == to_global_id("User", actor.user_id)
    assert data["role"] == "STAFF"
    assert "passwordHash" not in data
    assert (await client.get("/api/users/me")).status_code == 401
    expired = await client.get("/api/users/me", headers={"Authorization": "Bearer x.y.z"})
    assert expired.status_code == 401


async def test_list_users_for_managers_with_filters_and_cursor(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    _, headers = await signed_in(resources, Role.MANAGER)
    for i in range(3):
        await make_user(resources, Role.CUSTOMER, name=f"Customer {i}")
    first = await client.get("/api/users?role=CUSTOMER&limit=2", headers=headers)
    assert first.status_code == 200
    body = first.json()
    assert [u["role"] for u in body["data"]] == ["CUSTOMER", "CUSTOMER"]
    assert body["meta"]["hasMore"] is True
    assert body["meta"]["limit"] == 2
    rest = await client.get(
        "/api/users",
        params={"role": "CUSTOMER", "cursor": body["meta"]["nextCursor"]},
        headers=headers,
    )
    assert len(rest.json()["data"]) == 1
    assert rest.json()["meta"] == {"limit": 20, "hasMore": False, "nextCursor": None}
    found = await client.get("/api/users?search=customer%201", headers=headers)
    assert [u["name"] for u in found.json()["data"]] == ["Customer 1"]


async def test_list_users_refusals(client: httpx.AsyncClient, resources: Resources) -> None:
    _, customer = await signed_in(resources, Role.CUSTOMER)
    _, manager = await signed_in(resources, Role.MANAGER)
    assert (await client.get("/api/users")).status_code == 401
    forbidden = await client.get("/api/users", headers=customer)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["message"] == "Missing permission: users:read"
    for query in ("limit=101", "role=KING", "unknown=1", "limit=abc", "role=ADMIN&role=STAFF"):
        response = await client.get(f"/api/users?{query}", headers=manager)
        assert response.status_code == 422, query
        assert response.json()["error"]["code"] == "BAD_USER_INPUT"
    bad_cursor = await client.get("/api/users?cursor=!!!", headers=manager)
    assert bad_cursor.status_code == 422


async def test_get_user(client: httpx.AsyncClient, resources: Resources) -> None:
    me, customer = await signed_in(resources, Role.CUSTOMER)
    _, manager = await signed_in(resources, Role.MANAGER)
    other = await make_user(resources, Role.CUSTOMER)
    own = await client.get(f"/api/users/{to_global_id('User', me.user_id)}", headers=customer)
    assert own.status_code == 200
    other_id = to_global_id("User", other.user_id)
    assert (await client.get(f"/api/users/{other_id}", headers=customer)).status_code == 403
    assert (await client.get(f"/api/users/{other_id}", headers=manager)).status_code == 200
    missing = to_global_id("User", ObjectId())
    assert (await client.get(f"/api/users/{missing}", headers=manager)).status_code == 404
    assert (await client.get("/api/users/not-an-id", headers=manager)).status_code == 404
    wrong_type = to_global_id("Product", other.user_id)
    assert (await client.get(f"/api/users/{wrong_type}", headers=manager)).status_code == 404
    assert (await client.get(f"/api/users/{other_id}")).status_code == 401

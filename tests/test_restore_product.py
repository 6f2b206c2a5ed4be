"""Archived products can be restored (managers), through GraphQL and REST: audited, and the
catalogue caches forget the archived state at once."""

from __future__ import annotations

import httpx
from bson import ObjectId

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.schema.node import to_global_id
from tests.support.graphql import execute
from tests.support.rest import add_product, signed_in

RESTORE = """
mutation ($id: ID!) {
  restoreProduct(id: $id) { product { sku archived stock } errors { code field } }
}
"""
ARCHIVE = "mutation ($id: ID!) { archiveProduct(id: $id) { product { archived } } }"
CATALOGUE = "{ products { edges { node { sku } } } }"


async def _skus(resources: Resources) -> list[str]:
    result = await execute(resources, CATALOGUE)  # a shopper, through the resolver cache
    return [edge["node"]["sku"] for edge in result.data["products"]["edges"]]


async def test_restore_through_graphql(resources: Resources) -> None:
    manager, _ = await signed_in(resources, Role.MANAGER)
    product, gid = await add_product(resources, sku="BACK-1", stock=7)
    assert await _skus(resources) == ["BACK-1"]  # now cached
    await execute(resources, ARCHIVE, {"id": gid}, user=manager)
    assert await _skus(resources) == []

    restored = await execute(resources, RESTORE, {"id": gid}, user=manager)
    assert restored.errors is None
    assert restored.data["restoreProduct"] == {
        "product": {"sku": "BACK-1", "archived": False, "stock": 7},
        "errors": [],
    }
    assert await _skus(resources) == ["BACK-1"]  # the cache scope was bumped
    entry = await resources.db.audit_trail.find_one({"action": "restoreProduct"})
    assert entry is not None
    assert entry["entityId"] == product.id
    assert entry["before"] == {"archived": True}
    assert entry["after"] == {"archived": False}
    assert str(entry["userId"]) == manager.user_id

    again = await execute(resources, RESTORE, {"id": gid}, user=manager)
    assert again.data["restoreProduct"]["product"]["archived"] is False  # a no-op, no error
    missing = await execute(
        resources, RESTORE, {"id": to_global_id("Product", ObjectId())}, user=manager
    )
    assert missing.data["restoreProduct"]["errors"] == [{"code": "NOT_FOUND", "field": "id"}]


async def test_restore_is_refused_to_customers_and_staff_on_both_doors(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    manager, _ = await signed_in(resources, Role.MANAGER)
    product, gid = await add_product(resources, sku="KEEP-1")
    await execute(resources, ARCHIVE, {"id": gid}, user=manager)

    for role in (Role.CUSTOMER, Role.STAFF):
        actor, headers = await signed_in(resources, role)
        result = await execute(resources, RESTORE, {"id": gid}, user=actor)
        assert result.errors, role
        assert result.errors[0].extensions["code"] == "FORBIDDEN"
        response = await client.post(f"/api/products/{gid}/restore", headers=headers)
        assert response.status_code == 403, role
        assert response.json()["error"]["code"] == "FORBIDDEN"
    anonymous = await execute(resources, RESTORE, {"id": gid})
    assert anonymous.errors
    assert anonymous.errors[0].extensions["code"] == "UNAUTHENTICATED"
    assert (await client.post(f"/api/products/{gid}/restore")).status_code == 401
    stored = await resources.db.products.find_one({"_id": product.id})
    assert stored is not None
    assert stored["archived"] is True
    assert await resources.db.audit_trail.count_documents({"action": "restoreProduct"}) == 0


async def test_restore_through_rest(client: httpx.AsyncClient, resources: Resources) -> None:
    _, manager = await signed_in(resources, Role.MANAGER)
    product, gid = await add_product(resources, sku="REST-1", stock=3)
    assert (await client.get(f"/api/products/{gid}")).status_code == 200  # cached
    assert (await client.delete(f"/api/products/{gid}", headers=manager)).status_code == 200
    assert (await client.get(f"/api/products/{gid}")).status_code == 404

    restored = await client.post(f"/api/products/{product.id}/restore", headers=manager)
    assert restored.status_code == 200, restored.text
    assert restored.json()["data"]["archived"] is False
    assert restored.json()["data"]["id"] == gid
    shown = await client.get(f"/api/products/{gid}")
    assert shown.status_code == 200
    assert shown.json()["data"]["stock"] == 3
    listed = await client.get("/api/products")
    assert [p["sku"] for p in listed.json()["data"]] == ["REST-1"]
    missing = await client.post(f"/api/products/{ObjectId()}/restore", headers=manager)
    assert missing.status_code == 404

from __future__ import annotations

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.schema.node import to_global_id
from alawael.services import products
from tests.support.graphql import execute, make_user

AUDIT = """
query($filter: AuditFilter, $first: Int) {
  auditTrail(filter: $filter, first: $first) {
    totalCount
    edges { node { action entity entityId role before after user { id } timestamp } }
  }
}
"""


async def test_audit_trail_filters_and_permission(resources: Resources) -> None:
    admin = await make_user(resources, Role.ADMIN)
    manager = await make_user(resources, Role.MANAGER)
    a = await products.create_product(
        resources, manager, products.ProductData(sku="A", name="A", price_cents=100, stock=20)
    )
    await products.adjust_stock(resources, manager, a.id, -2, "count")
    b = await products.create_product(
        resources, admin, products.ProductData(sku="B", name="B", price_cents=100)
    )
    a_gid = to_global_id("Product", a.id)

    everything = await execute(resources, AUDIT, {}, user=admin)
    assert everything.errors is None, everything.errors
    edges = everything.data["auditTrail"]["edges"]
    assert [e["node"]["action"] for e in edges] == ["createProduct", "adjustStock", "createProduct"]
    assert edges[0]["node"]["entityId"] == to_global_id("Product", b.id)
    adjust = edges[1]["node"]
    assert adjust["before"] == {"stock": 20}
    assert adjust["after"] == {"stock": 18, "delta": -2, "reason": "count"}
    assert adjust["user"]["id"] == to_global_id("User", manager.user_id)
    assert adjust["role"] == "MANAGER"

    async def actions(flt: dict[str, object]) -> list[str]:
        result = await execute(resources, AUDIT, {"filter": flt}, user=admin)
        assert result.errors is None, result.errors
        return [e["node"]["action"] for e in result.data["auditTrail"]["edges"]]

    assert await actions({"entityId": a_gid}) == ["adjustStock", "createProduct"]
    assert await actions({"userId": to_global_id("User", admin.user_id)}) == ["createProduct"]
    assert await actions({"entity": "order"}) == []
    assert await actions({"from": "2100-01-01T00:00:00+00:00"}) == []
    assert len(await actions({"to": "2100-01-01T00:00:00+00:00"})) == 3

    denied = await execute(resources, AUDIT, {}, user=manager)
    assert denied.errors[0].extensions["code"] == "FORBIDDEN"
    anonymous = await execute(resources, AUDIT, {})
    assert anonymous.errors[0].extensions["code"] == "UNAUTHENTICATED"

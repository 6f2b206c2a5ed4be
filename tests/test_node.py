from __future__ import annotations

from bson import ObjectId

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.schema.node import to_global_id
from alawael.services import products
from tests.support.graphql import execute, make_user

NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Product { sku }
    ... on User { email }
  }
}
"""
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"


async def test_node_dispatches_by_type_and_hides_what_you_cannot_see(
    resources: Resources,
) -> None:
    manager = await make_user(resources, Role.MANAGER)
    customer = await make_user(resources, Role.CUSTOMER)
    live = await products.create_product(
        resources, manager, products.ProductData(sku="LIVE", name="L", price_cents=1)
    )
    old = await products.create_product(
        resources, manager, products.ProductData(sku="OLD", name="O", price_cents=1)
    )
    await products.archive_product(resources, manager, old.id)
    live_id = to_global_id("Product", live.id)
    old_id = to_global_id("Product", old.id)

    found = await execute(resources, NODE, {"id": live_id})
    assert found.data["node"] == {"__typename": "Product", "id": live_id, "sku": "LIVE"}
    assert (await execute(resources, NODE, {"id": old_id}, user=customer)).data["node"] is None
    assert (await execute(resources, NODE, {"id": old_id}, user=manager)).data["node"]["sku"] == (
        "OLD"
    )
    me = to_global_id("User", customer.user_id)
    mine = await execute(resources, NODE, {"id": me}, user=customer)
    assert mine.data["node"]["__typename"] == "User"
    missing = to_global_id("Order", ObjectId())
    assert (await execute(resources, NODE, {"id": missing}, user=manager)).data["node"] is None
    unknown_type = to_global_id("Spaceship", ObjectId())
    assert (await execute(resources, NODE, {"id": unknown_type})).data["node"] is None
    malformed = await execute(resources, NODE, {"id": "!!!"})
    assert malformed.errors[0].extensions["code"] == "BAD_USER_INPUT"

    many = await execute(resources, NODES, {"ids": [live_id, old_id, live_id]}, user=customer)
    assert many.data["nodes"] == [{"id": live_id}, None, {"id": live_id}]
    too_many = await execute(resources, NODES, {"ids": [live_id] * 101})
    assert too_many.errors[0].extensions["code"] == "BAD_USER_INPUT"

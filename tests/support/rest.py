"""REST test helpers: a signed-in user's bearer headers, and seeded products."""

from __future__ import annotations

from bson import ObjectId

from alawael.auth.permissions import Actor, Role
from alawael.auth.sessions import create_session
from alawael.auth.tokens import issue_access_token
from alawael.context import Resources
from alawael.records.products import ProductRecord
from alawael.schema.node import to_global_id
from alawael.services import products
from tests.support.graphql import make_user

# The actor test set-up writes products as (the service checks products:manage).
SETUP_MANAGER = Actor(user_id="0" * 24, role=Role.MANAGER)


async def bearer(resources: Resources, actor: Actor) -> dict[str, str]:
    """Authorization headers for `actor`, backed by a live session."""
    session, _ = await create_session(
        resources, ObjectId(actor.user_id), user_agent="tests", ip=None
    )
    token = issue_access_token(
        resources.settings, user_id=actor.user_id, role=actor.role, session_id=str(session["_id"])
    )
    return {"Authorization": f"Bearer {token}"}


async def signed_in(resources: Resources, role: Role) -> tuple[Actor, dict[str, str]]:
    actor = await make_user(resources, role)
    return actor, await bearer(resources, actor)


async def add_product(
    resources: Resources,
    *,
    sku: str = "SKU-1",
    price_cents: int = 1250,
    stock: int = 10,
    category: str = "tools",
    name: str | None = None,
) -> tuple[ProductRecord, str]:
    """Create a product through the service; returns (record, global id)."""
    data = products.ProductData(
        sku=sku,
        name=name or f"Product {sku}",
        description="",
        category=category,
        price_cents=price_cents,
        currency="SAR",
        stock=stock,
        low_stock_threshold=2,
    )
    # A manager creates products: the service checks products:manage itself.
    product = await products.create_product(resources, SETUP_MANAGER, data)
    return product, to_global_id("Product", product.id)

"""Defence in depth (issue 15): every service entry point checks who calls it, whatever
door (GraphQL over HTTP or WebSocket, REST, the CLI, a job) called it. Table-driven: each
entry point is called as each role, and the outcome must match the README's permission
table: UNAUTHENTICATED for anonymous callers of anything that needs a sign-in, FORBIDDEN for
roles without the permission, and past the check (success or a domain error such as
NOT_FOUND) for the others.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId

from alawael.auth.permissions import Actor, Role
from alawael.context import Resources
from alawael.services import (
    analytics,
    audit,
    flags,
    invitations,
    notifications,
    orders,
    products,
    self_service,
    users,
)
from alawael.services.pagination import PageArgs
from alawael.shared.errors import AppError, ErrorCode
from tests.support.graphql import make_user
from tests.support.rest import add_product

ANON = "anonymous"
ROLES = [ANON, "CUSTOMER", "STAFF", "MANAGER", "ADMIN"]
# The README's table, by who may: (anonymous, customer, staff, manager, admin).
EVERYONE = {ANON, "CUSTOMER", "STAFF", "MANAGER", "ADMIN"}
SIGNED_IN = {"CUSTOMER", "STAFF", "MANAGER", "ADMIN"}
STAFF_UP = {"STAFF", "MANAGER", "ADMIN"}
MANAGER_UP = {"MANAGER", "ADMIN"}
ADMIN = {"ADMIN"}


@dataclass
class World:
    res: Resources
    product: ObjectId
    order: ObjectId
    customer: Actor
    target: ObjectId  # a user to administer


Call = Callable[[World, Actor | None], Awaitable[Any]]
NOW = datetime.now(UTC)
DAY = timedelta(days=1)


def _product_data() -> products.ProductData:
    return products.ProductData(sku=f"S-{ObjectId()}", name="N", price_cents=100, stock=3)


def _flag(key: str = "matrix-flag") -> flags.FlagInput:
    return flags.FlagInput(key=key, description="", enabled=True, rollout_percentage=50)


ENTRY_POINTS: dict[str, tuple[set[str], Call]] = {
    # products
    "products.list_products": (
        EVERYONE,
        lambda w, a: products.list_products(w.res, a, products.ProductFilter(), args=PageArgs()),
    ),
    "products.get_product": (EVERYONE, lambda w, a: products.get_product(w.res, a, w.product)),
    "products.list_categories": (EVERYONE, lambda w, a: products.list_categories(w.res, a)),
    "products.create_product": (
        MANAGER_UP,
        lambda w, a: products.create_product(w.res, a, _product_data()),
    ),
    "products.update_product": (
        MANAGER_UP,
        lambda w, a: products.update_product(
            w.res, a, w.product, products.ProductData(name="Renamed")
        ),
    ),
    "products.adjust_stock": (
        MANAGER_UP,
        lambda w, a: products.adjust_stock(w.res, a, w.product, 1, "count"),
    ),
    "products.archive_product": (
        MANAGER_UP,
        lambda w, a: products.archive_product(w.res, a, w.product),
    ),
    # orders
    "orders.list_orders": (
        SIGNED_IN,
        lambda w, a: orders.list_orders(w.res, a, orders.OrderFilter(), args=PageArgs()),
    ),
    "orders.place_order": (
        SIGNED_IN,
        lambda w, a: orders.place_order(w.res, a, [orders.OrderLine(w.product, 1)]),
    ),
    "orders.update_order_status": (
        STAFF_UP,
        lambda w, a: orders.update_order_status(w.res, a, w.order, orders.OrderStatus.CONFIRMED),
    ),
    # notifications
    "notifications.list_notifications": (
        SIGNED_IN,
        lambda w, a: notifications.list_notifications(w.res, a, unread_only=False, args=PageArgs()),
    ),
    "notifications.mark_all_read": (
        SIGNED_IN,
        lambda w, a: notifications.mark_all_read(w.res, a),
    ),
    # users
    "users.list_users": (MANAGER_UP, lambda w, a: users.list_users(w.res, a)),
    "users.get_user(other)": (MANAGER_UP, lambda w, a: users.get_user(w.res, a, w.target)),
    "users.set_user_role": (
        ADMIN,
        lambda w, a: users.set_user_role(w.res, a, w.target, Role.STAFF),
    ),
    "users.set_user_active": (
        ADMIN,
        lambda w, a: users.set_user_active(w.res, a, w.target, True),
    ),
    "users.logout_all": (SIGNED_IN, lambda w, a: users.logout_all(w.res, a)),
    # account self-service and invitations
    "self_service.update_me": (
        SIGNED_IN,
        lambda w, a: self_service.update_me(w.res, a, {"locale": "ar"}),
    ),
    "self_service.change_password": (
        SIGNED_IN,
        lambda w, a: self_service.change_password(
            w.res, a, current_password="wrong", new_password="a brand new passphrase"
        ),
    ),
    "invitations.invite_user": (
        ADMIN,
        lambda w, a: invitations.invite_user(
            w.res, a, email=f"invited-{ObjectId()}@example.com", name="I", role=Role.STAFF
        ),
    ),
    # analytics and audit
    "analytics.sales_summary_for": (
        MANAGER_UP,
        lambda w, a: analytics.sales_summary_for(
            w.res, a, NOW - DAY, NOW, analytics.Granularity.DAY
        ),
    ),
    "analytics.api_usage": (
        MANAGER_UP,
        lambda w, a: analytics.api_usage(w.res, a, NOW - DAY, NOW),
    ),
    "audit.list_entries": (
        ADMIN,
        lambda w, a: audit.list_entries(w.res.db, a, audit.AuditFilter(), PageArgs()),
    ),
    # feature flags
    "flags.evaluate_all": (EVERYONE, lambda w, a: flags.evaluate_all(w.res, a)),
    "flags.list_flags": (ADMIN, lambda w, a: flags.list_flags(w.res, a, PageArgs())),
    "flags.set_feature_flag": (ADMIN, lambda w, a: flags.set_feature_flag(w.res, a, _flag())),
    "flags.delete_feature_flag": (
        ADMIN,
        lambda w, a: flags.delete_feature_flag(w.res, a, "matrix-flag"),
    ),
}


async def outcome(call: Awaitable[Any]) -> str:
    """UNAUTHENTICATED, FORBIDDEN, or "allowed" (got past the check: a result, or a domain
    error such as NOT_FOUND or INVALID_TRANSITION)."""
    try:
        await call
    except AppError as exc:
        if exc.code in (ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN):
            return exc.code.value
    return "allowed"


def expected(role: str, allowed: set[str]) -> str:
    if role in allowed:
        return "allowed"
    return "UNAUTHENTICATED" if role == ANON else "FORBIDDEN"


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
async def test_every_service_entry_point_checks_its_caller(
    resources: Resources, entry: str
) -> None:
    allowed, call = ENTRY_POINTS[entry]
    doc, _ = await add_product(resources, sku=f"M-{ObjectId()}", stock=50)
    product: ObjectId = doc.id
    customer = await make_user(resources, Role.CUSTOMER)
    order = await orders.place_order(resources, customer, [orders.OrderLine(product, 1)])
    target = await make_user(resources, Role.CUSTOMER)
    # A second admin, so demoting or deactivating never meets the last-admin guard.
    await make_user(resources, Role.ADMIN)
    world = World(resources, product, order.id, customer, ObjectId(target.user_id))
    actors: dict[str, Actor | None] = {ANON: None}
    for role in ROLES[1:]:
        actors[role] = await make_user(resources, Role(role))
    if entry == "flags.delete_feature_flag":
        admin = actors["ADMIN"]
        await flags.set_feature_flag(resources, admin, _flag())
    got = {role: await outcome(call(world, actors[role])) for role in ROLES}
    assert got == {role: expected(role, allowed) for role in ROLES}, entry

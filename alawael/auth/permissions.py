"""Roles and the one permission table. The README reproduces this table.

Resolvers declare the permission they need (`HasPermission(Permission.MANAGE_PRODUCTS)`);
nothing else decides who may do what. Ownership rules ("a customer sees only their own
orders") live in the services, which receive the Actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from alawael.shared.errors import Forbidden, Unauthenticated


class Role(StrEnum):
    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    STAFF = "STAFF"
    CUSTOMER = "CUSTOMER"


class Permission(StrEnum):
    PLACE_ORDERS = "orders:place"
    VIEW_OWN_ORDERS = "orders:read:own"
    VIEW_ALL_ORDERS = "orders:read:all"
    MANAGE_ORDERS = "orders:manage"
    MANAGE_PRODUCTS = "products:manage"
    VIEW_ANALYTICS = "analytics:read"
    VIEW_USERS = "users:read"
    MANAGE_USERS = "users:manage"
    MANAGE_FLAGS = "flags:manage"
    VIEW_AUDIT = "audit:read"
    READ_OWN_NOTIFICATIONS = "notifications:read:own"


_CUSTOMER = frozenset(
    {Permission.PLACE_ORDERS, Permission.VIEW_OWN_ORDERS, Permission.READ_OWN_NOTIFICATIONS}
)
_STAFF = _CUSTOMER | {Permission.VIEW_ALL_ORDERS, Permission.MANAGE_ORDERS}
_MANAGER = _STAFF | {
    Permission.MANAGE_PRODUCTS,
    Permission.VIEW_ANALYTICS,
    Permission.VIEW_USERS,
}
_ADMIN = _MANAGER | {Permission.MANAGE_USERS, Permission.MANAGE_FLAGS, Permission.VIEW_AUDIT}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CUSTOMER: _CUSTOMER,
    Role.STAFF: frozenset(_STAFF),
    Role.MANAGER: frozenset(_MANAGER),
    Role.ADMIN: frozenset(_ADMIN),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is calling: the authenticated user, as the access token and session say."""

    user_id: str
    role: Role
    session_id: str | None = None

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    @property
    def is_staff(self) -> bool:
        return self.can(Permission.VIEW_ALL_ORDERS)


def require(actor: Actor | None, permission: Permission) -> Actor:
    """The services' own check of a declared permission. Doors declare it too (GraphQL
    permission classes, REST `access=`), but the services also serve the CLI, jobs and
    every future door: a rule held only at a door is a hole in the others."""
    if actor is None:
        raise Unauthenticated()
    if not actor.can(permission):
        raise Forbidden(
            f"Missing permission: {permission.value}", details={"permission": permission.value}
        )
    return actor

"""Role x operation matrix over every root query and mutation of the schema.

The fields are read from the schema itself, so a new field without a row in ACCESS fails
this test instead of slipping through unreviewed. Each field is called with generated
arguments (the caller's own id for ids) as anonymous and as every role; the outcome must be
UNAUTHENTICATED (anonymous), FORBIDDEN (role too low) or "allowed" (anything else:
data, or a domain error such as NOT_FOUND or BAD_USER_INPUT raised after authorization).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    is_leaf_type,
)
from graphql.pyutils import Undefined

from alawael.auth.permissions import Actor, Role
from alawael.context import Resources
from alawael.schema import schema
from alawael.schema.node import to_global_id
from alawael.services import users
from tests.support.graphql import execute, make_user

# Who may call each root field: the lowest role allowed (roles nest: CUSTOMER < STAFF <
# MANAGER < ADMIN), ANYONE for public fields. Ownership rules (a customer sees only their
# own orders) are services' business and tested with each domain.
ANYONE = "ANYONE"
ACCESS: dict[str, dict[str, str]] = {
    "Query": {
        "serverInfo": ANYONE,
        "me": ANYONE,
        "user": Role.CUSTOMER,  # yourself; anyone else needs users:read
        "users": Role.MANAGER,
        "featureFlags": Role.ADMIN,
        "flag": ANYONE,
        "evaluatedFlags": ANYONE,
        "salesSummary": Role.MANAGER,
        "apiUsage": Role.MANAGER,
        "product": ANYONE,
        "productBySku": ANYONE,
        "products": ANYONE,
        "categories": ANYONE,
        "order": Role.CUSTOMER,
        "orders": Role.CUSTOMER,
        "notifications": Role.CUSTOMER,
        "unreadNotificationCount": Role.CUSTOMER,
        "auditTrail": Role.ADMIN,
        "node": ANYONE,  # each node type applies its own rule
        "nodes": ANYONE,
    },
    "Mutation": {
        "register": ANYONE,
        "login": ANYONE,
        "refreshToken": ANYONE,
        "logout": Role.CUSTOMER,
        "logoutAll": Role.CUSTOMER,
        "setUserRole": Role.ADMIN,
        "setUserActive": Role.ADMIN,
        "setFeatureFlag": Role.ADMIN,
        "deleteFeatureFlag": Role.ADMIN,
        "createProduct": Role.MANAGER,
        "updateProduct": Role.MANAGER,
        "archiveProduct": Role.MANAGER,
        "adjustStock": Role.MANAGER,
        "placeOrder": Role.CUSTOMER,
        "updateOrderStatus": Role.STAFF,
        "cancelOrder": Role.CUSTOMER,
        "markNotificationRead": Role.CUSTOMER,
        "markAllNotificationsRead": Role.CUSTOMER,
    },
}
LEVELS = [ANYONE, Role.CUSTOMER, Role.STAFF, Role.MANAGER, Role.ADMIN]
CALLERS: list[Role | None] = [None, Role.CUSTOMER, Role.STAFF, Role.MANAGER, Role.ADMIN]
PASSWORD = "correct horse battery"
LOGIN_EMAIL = "matrix@example.com"

# Literal values for scalars; ids are the caller's own User id (see module docstring).
SCALARS = {
    "Int": "1",
    "Float": "1.0",
    "String": '"x"',
    "Boolean": "true",
    "DateTime": '"2026-01-01T00:00:00+00:00"',
    "Date": '"2026-01-01"',
    "Money": '"1.00"',
}


def literal(type_: GraphQLInputType, own_id: str) -> str:
    """A GraphQL literal of `type_` with only the required parts filled in."""
    if isinstance(type_, GraphQLNonNull):
        return literal(type_.of_type, own_id)
    if isinstance(type_, GraphQLList):
        return "[]"
    if isinstance(type_, GraphQLEnumType):
        return str(next(iter(type_.values)))
    if isinstance(type_, GraphQLInputObjectType):
        parts = [
            f"{name}: {literal(field.type, own_id)}"
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        ]
        return "{" + ", ".join(parts) + "}"
    assert isinstance(type_, GraphQLScalarType)
    if type_.name == "ID":
        return f'"{own_id}"'
    return SCALARS.get(type_.name, '"x"')


def operation(kind: str, name: str, field: GraphQLField, args: str | None, own_id: str) -> str:
    if args is None:
        required = [
            f"{arg_name}: {literal(arg.type, own_id)}"
            for arg_name, arg in field.args.items()
            if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
        ]
        args = ", ".join(required)
    call = f"{name}({args})" if args else name
    selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
    return f"{kind.lower()} {{ {call}{selection} }}"


# Fields whose generated arguments would fail authentication for reasons of their own
# (bad credentials): give them real ones, so the row tests the field's access rule.
async def _login_args(res: Resources, actor: Actor | None) -> str:
    return f'input: {{email: "{LOGIN_EMAIL}", password: "{PASSWORD}"}}'


async def _refresh_args(res: Resources, actor: Actor | None) -> str:
    signed_in = await users.authenticate(res, email=LOGIN_EMAIL, password=PASSWORD)
    return f'refreshToken: "{signed_in.refresh_token}"'


ARGS: dict[str, Callable[[Resources, Actor | None], Awaitable[str]]] = {
    "login": _login_args,
    "refreshToken": _refresh_args,
}


def expected(minimum: str, caller: Role | None) -> str:
    if minimum == ANYONE:
        return "allowed"
    if caller is None:
        return "UNAUTHENTICATED"
    return "allowed" if LEVELS.index(caller) >= LEVELS.index(minimum) else "FORBIDDEN"


def outcome(result: Any, name: str) -> str:
    for error in result.errors or ():
        code = (error.extensions or {}).get("code")
        if error.path and error.path[0] == name and code in ("UNAUTHENTICATED", "FORBIDDEN"):
            return str(code)
    return "allowed"


def root_fields() -> dict[str, dict[str, GraphQLField]]:
    gql = schema._schema
    out: dict[str, dict[str, GraphQLField]] = {}
    for kind, type_ in (("Query", gql.query_type), ("Mutation", gql.mutation_type)):
        assert isinstance(type_, GraphQLObjectType)
        out[kind] = dict(type_.fields)
    return out


def test_every_root_field_has_a_row() -> None:
    fields = root_fields()
    for kind in ("Query", "Mutation"):
        missing = sorted(set(fields[kind]) - set(ACCESS[kind]))
        stale = sorted(set(ACCESS[kind]) - set(fields[kind]))
        assert not missing, f"add {kind} fields to ACCESS in {__file__}: {missing}"
        assert not stale, f"remove {kind} fields no longer in the schema from ACCESS: {stale}"


async def test_role_operation_matrix(resources: Resources) -> None:
    await users.create_user(resources, None, email=LOGIN_EMAIL, password=PASSWORD, name="Matrix")
    actors = {role: await make_user(resources, role) for role in Role}
    mismatches: list[str] = []
    for kind, fields in root_fields().items():
        for name, field in fields.items():
            for role in CALLERS:
                actor = actors[role] if role is not None else None
                own_id = to_global_id("User", actor.user_id if actor else "0" * 24)
                args = await ARGS[name](resources, actor) if name in ARGS else None
                query = operation(kind, name, field, args, own_id)
                result = await execute(resources, query, user=actor)
                got = outcome(result, name)
                want = expected(ACCESS[kind][name], role)
                if got != want:
                    who = role.value if role else "anonymous"
                    mismatches.append(f"{kind}.{name} as {who}: {got}, expected {want}")
    assert not mismatches, "\n".join(mismatches)

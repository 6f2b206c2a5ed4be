"""Role x operation matrix over every root query and mutation of the schema, through every
door: the schema itself, GraphQL over HTTP, GraphQL over WebSocket (graphql-transport-ws,
a real uvicorn socket) and REST (for the operations that have an endpoint).

The fields are read from the schema itself, so a new field without a row in ACCESS fails
this test instead of slipping through unreviewed. Each field is called with generated
arguments (the caller's own id for ids) as anonymous and as every role; the outcome must be
UNAUTHENTICATED (anonymous), FORBIDDEN (role too low) or "allowed" (anything else:
data, or a domain error such as NOT_FOUND or BAD_USER_INPUT raised after authorization).
Callers on HTTP, WebSocket and REST carry a real access token backed by a fresh session
(a fresh one per call: logout and logoutAll end the session they run on).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
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
from alawael.schema.build import exported_schema
from alawael.schema.node import to_global_id
from alawael.services import users
from tests.support.graphql import execute, make_user
from tests.support.rest import bearer
from tests.support.ws import gql_socket, serving

schema = exported_schema()

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
        "orderByNumber": Role.CUSTOMER,  # own orders; anyone's for staff
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
        "restoreProduct": Role.MANAGER,
        "adjustStock": Role.MANAGER,
        "placeOrder": Role.CUSTOMER,
        "updateOrderStatus": Role.STAFF,
        "cancelOrder": Role.CUSTOMER,
        "markNotificationRead": Role.CUSTOMER,
        "markAllNotificationsRead": Role.CUSTOMER,
        # Account self-service (alawael.schema.self_service).
        "updateMe": Role.CUSTOMER,
        "changePassword": Role.CUSTOMER,
        "requestPasswordReset": ANYONE,
        "resetPassword": ANYONE,
        "createUser": Role.ADMIN,
        "acceptInvitation": ANYONE,
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


def outcome(errors: list[dict[str, Any]], name: str) -> str:
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        path = error.get("path")
        if path and path[0] == name and code in ("UNAUTHENTICATED", "FORBIDDEN"):
            return str(code)
    return "allowed"


# --- the doors: each runs one operation as `actor` and returns its GraphQL errors ------
Door = Callable[[str, Actor | None], Awaitable[list[dict[str, Any]]]]


async def _token(res: Resources, actor: Actor | None) -> dict[str, str]:
    return await bearer(res, actor) if actor is not None else {}


def schema_door(res: Resources) -> Door:
    async def run(query: str, actor: Actor | None) -> list[dict[str, Any]]:
        result = await execute(res, query, user=actor)
        return [e.formatted for e in result.errors or ()]  # type: ignore[misc]

    return run


def http_door(res: Resources, client: httpx.AsyncClient) -> Door:
    async def run(query: str, actor: Actor | None) -> list[dict[str, Any]]:
        response = await client.post(
            "/graphql", json={"query": query}, headers=await _token(res, actor)
        )
        errors: list[dict[str, Any]] = response.json().get("errors") or []
        return errors

    return run


def websocket_door(res: Resources, url: str) -> Door:
    async def run(query: str, actor: Actor | None) -> list[dict[str, Any]]:
        token = (await _token(res, actor)).get("Authorization", " ").split(" ", 1)[1] or None
        async with gql_socket(url, token) as ws:
            answer = await ws.request(query)
        if answer["type"] == "error":
            return list(answer["payload"])
        return list(answer["payload"].get("errors") or [])

    return run


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


async def run_matrix(res: Resources, door: Door) -> list[str]:
    await users.create_user(res, None, email=LOGIN_EMAIL, password=PASSWORD, name="Matrix")
    actors = {role: await make_user(res, role) for role in Role}
    mismatches: list[str] = []
    for kind, fields in root_fields().items():
        for name, field in fields.items():
            for role in CALLERS:
                actor = actors[role] if role is not None else None
                own_id = to_global_id("User", actor.user_id if actor else "0" * 24)
                args = await ARGS[name](res, actor) if name in ARGS else None
                query = operation(kind, name, field, args, own_id)
                got = outcome(await door(query, actor), name)
                want = expected(ACCESS[kind][name], role)
                if got != want:
                    who = role.value if role else "anonymous"
                    mismatches.append(f"{kind}.{name} as {who}: {got}, expected {want}")
    return mismatches


async def test_role_operation_matrix_in_the_schema(resources: Resources) -> None:
    mismatches = await run_matrix(resources, schema_door(resources))
    assert not mismatches, "\n".join(mismatches)


async def test_role_operation_matrix_over_http(
    resources: Resources, client: httpx.AsyncClient
) -> None:
    mismatches = await run_matrix(resources, http_door(resources, client))
    assert not mismatches, "\n".join(mismatches)


async def test_role_operation_matrix_over_websocket(resources: Resources, app: Any) -> None:
    async with serving(app) as port:
        url = f"ws://127.0.0.1:{port}/graphql"
        mismatches = await run_matrix(resources, websocket_door(resources, url))
    assert not mismatches, "\n".join(mismatches)


# --- REST: the operations that have an endpoint, with the same ACCESS rows --------------
@dataclass(frozen=True)
class RestCall:
    field: str  # "Kind.field" whose ACCESS row applies
    method: str
    path: str  # "{id}" is the caller's own User global id (a wrong type: 404, after auth)
    body: dict[str, Any] | None = None
    minimum: str | None = None  # where REST's rule differs from the GraphQL field's


LOGIN_BODY = {"email": LOGIN_EMAIL, "password": PASSWORD}
REST_CALLS = [
    RestCall(
        "Mutation.register",
        "POST",
        "/api/auth/register",
        {"email": "x", "password": "x", "name": "x"},
    ),
    RestCall(
        "Mutation.login", "POST", "/api/auth/login", {"email": LOGIN_EMAIL, "password": PASSWORD}
    ),
    RestCall("Mutation.refreshToken", "POST", "/api/auth/refresh", {"refreshToken": "x.y"}),
    RestCall("Mutation.logout", "POST", "/api/auth/logout"),
    # GraphQL `me` answers null to anonymous callers; REST /users/me needs a user.
    RestCall("Query.me", "GET", "/api/users/me", minimum=Role.CUSTOMER),
    RestCall("Query.users", "GET", "/api/users"),
    RestCall("Query.user", "GET", "/api/users/{id}"),
    RestCall("Query.salesSummary", "GET", "/api/analytics/summary"),
    RestCall("Query.evaluatedFlags", "GET", "/api/feature-flags"),
    RestCall("Mutation.setFeatureFlag", "PUT", "/api/feature-flags/matrix-flag", {}),
    RestCall("Query.products", "GET", "/api/products"),
    RestCall("Query.product", "GET", "/api/products/{id}"),
    RestCall("Mutation.createProduct", "POST", "/api/products", {}),
    RestCall("Mutation.updateProduct", "PUT", "/api/products/{id}", {}),
    RestCall("Mutation.archiveProduct", "DELETE", "/api/products/{id}"),
    RestCall("Mutation.restoreProduct", "POST", "/api/products/{id}/restore"),
    RestCall("Mutation.adjustStock", "POST", "/api/products/{id}/stock", {}),
    RestCall("Query.productBySku", "GET", "/api/products/by-sku/X"),
    RestCall("Query.categories", "GET", "/api/categories"),
    RestCall("Query.orderByNumber", "GET", "/api/orders/by-number/ORD-000001"),
    RestCall("Query.orders", "GET", "/api/orders"),
    RestCall("Query.order", "GET", "/api/orders/{id}"),
    RestCall("Mutation.placeOrder", "POST", "/api/orders", {}),
    RestCall("Mutation.updateOrderStatus", "PATCH", "/api/orders/{id}/status", {}),
    RestCall("Mutation.cancelOrder", "POST", "/api/orders/{id}/cancel", {}),
    RestCall("Query.notifications", "GET", "/api/notifications"),
    RestCall("Mutation.markNotificationRead", "POST", "/api/notifications/{id}/read"),
    RestCall("Query.unreadNotificationCount", "GET", "/api/notifications/unread-count"),
    RestCall("Mutation.markAllNotificationsRead", "POST", "/api/notifications/read-all"),
    RestCall("Mutation.updateMe", "PATCH", "/api/users/me", {}),
    RestCall("Mutation.changePassword", "POST", "/api/auth/password", {}),
    RestCall("Mutation.requestPasswordReset", "POST", "/api/auth/password-reset", {}),
    RestCall("Mutation.resetPassword", "POST", "/api/auth/password-reset/confirm", {}),
    RestCall("Mutation.createUser", "POST", "/api/users", {}),
    RestCall("Mutation.acceptInvitation", "POST", "/api/auth/invitation/accept", {}),
]


def rest_outcome(status: int) -> str:
    return {401: "UNAUTHENTICATED", 403: "FORBIDDEN"}.get(status, "allowed")


async def test_role_operation_matrix_over_rest(
    resources: Resources, client: httpx.AsyncClient
) -> None:
    await users.create_user(resources, None, email=LOGIN_EMAIL, password=PASSWORD, name="Matrix")
    actors = {role: await make_user(resources, role) for role in Role}
    mismatches: list[str] = []
    for call in REST_CALLS:
        kind, name = call.field.split(".")
        minimum = call.minimum or ACCESS[kind][name]
        for role in CALLERS:
            actor = actors[role] if role is not None else None
            own_id = to_global_id("User", actor.user_id if actor else "0" * 24)
            body = call.body
            if call.field == "Mutation.refreshToken":
                signed_in = await users.authenticate(resources, **LOGIN_BODY)
                body = {"refreshToken": signed_in.refresh_token}
            response = await client.request(
                call.method,
                call.path.replace("{id}", own_id),
                json=body,
                headers=await _token(resources, actor),
            )
            assert response.status_code < 500, (call, role, response.text)
            got, want = rest_outcome(response.status_code), expected(minimum, role)
            if got != want:
                who = role.value if role else "anonymous"
                mismatches.append(f"{call.method} {call.path} as {who}: {got}, expected {want}")
    assert not mismatches, "\n".join(mismatches)


def test_every_rest_call_names_a_field() -> None:
    fields = root_fields()
    for call in REST_CALLS:
        kind, name = call.field.split(".")
        assert name in fields[kind], call

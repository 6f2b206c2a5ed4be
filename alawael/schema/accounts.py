"""Accounts: `me`, `user`, `users`; register / login / refreshToken / logout / logoutAll and
admin user management. Resolvers only translate; `alawael.services.users` decides."""

from __future__ import annotations

from typing import Any

import strawberry
from bson import ObjectId
from strawberry.types import Info

from alawael.auth.current import client_ip, require_actor
from alawael.auth.permissions import Permission
from alawael.auth.permissions import Role as RoleValue
from alawael.context import Context
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.schema.connection import Connection, build_connection
from alawael.schema.errors import UserError, run_mutation
from alawael.schema.node import from_global_id, register_node
from alawael.schema.permissions import HasPermission, IsAuthenticated
from alawael.schema.users import User
from alawael.services import users
from alawael.services.pagination import PageArgs
from alawael.services.search import HELP as SEARCH_HELP
from alawael.services.users import AuthResult, UserSort
from alawael.shared.errors import Forbidden, Unauthenticated

# The service's enum is the GraphQL enum: one definition of the sort orders.
strawberry.enum(
    UserSort,
    name="UserSort",
    description="CREATED_AT: newest first; NAME and EMAIL: A to Z.",
)


@strawberry.input(description="Narrow the user list; all given conditions must hold.")
class UserFilter:
    role: RoleValue | None = None
    search: str | None = strawberry.field(
        default=None, description=SEARCH_HELP.format(fields="name or email")
    )
    active: bool | None = None


@strawberry.input
class RegisterInput:
    email: str
    password: str = strawberry.field(
        description="At least 10 characters, and not containing the email address."
    )
    name: str
    phone: str | None = None


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.type(description="A signed-in session: the user and their tokens.")
class AuthTokens:
    user: User | None = None
    access_token: str | None = strawberry.field(
        default=None, description="Send as `Authorization: Bearer <accessToken>`."
    )
    refresh_token: str | None = strawberry.field(
        default=None,
        description="Opaque and single-use: exchange it with `refreshToken` for a new pair.",
    )
    expires_in: int | None = strawberry.field(
        default=None, description="Seconds until the access token expires."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RegisterPayload(AuthTokens):
    pass


@strawberry.type
class LoginPayload(AuthTokens):
    pass


@strawberry.type
class RefreshTokenPayload(AuthTokens):
    pass


@strawberry.type
class LogoutPayload:
    revoked: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LogoutAllPayload:
    revoked_sessions: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SetUserRolePayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SetUserActivePayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _res(info: Info[Context, None]) -> Resources:
    return info.context.resources


def _client(info: Info[Context, None]) -> dict[str, Any]:
    """Where the request comes from, for throttling and the session record."""
    ctx = info.context
    request = ctx.request
    if request is None:  # schema-level calls (tests, scripts)
        return {"ip": "unknown", "user_agent": None, "request_id": ctx.request_id}
    return {
        "ip": client_ip(request, ctx.settings),
        "user_agent": request.headers.get("user-agent"),
        "request_id": ctx.request_id,
    }


def _signed_in(result: AuthResult) -> dict[str, Any]:
    return {
        "user": User.from_doc(result.user),
        "access_token": result.access_token,
        "refresh_token": result.refresh_token,
        "expires_in": result.expires_in,
    }


def _user(doc: Document) -> dict[str, Any]:
    return {"user": User.from_doc(doc)}


async def _user_by_id(info: Info[Context, None], oid: ObjectId) -> User | None:
    doc = await users.get_user(
        _res(info), info.context.user, oid, load=info.context.loaders.user_by_id.load
    )
    return User.from_doc(doc) if doc else None


async def _node_user(info: Info[Context, None], oid: ObjectId) -> User | None:
    # node(id) answers null for what is missing *or not yours* (the Relay convention here);
    # user(id) says FORBIDDEN instead.
    try:
        return await _user_by_id(info, oid)
    except (Forbidden, Unauthenticated):
        return None


register_node("User", _node_user)


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The caller; null when anonymous.")
    async def me(self, info: Info[Context, None]) -> User | None:
        if info.context.user is None and info.context.auth_error is None:
            return None
        return await _user_by_id(info, ObjectId(require_actor(info.context).user_id))

    @strawberry.field(
        description="A user by id: yourself, or anyone with users:read.",
        permission_classes=[IsAuthenticated],
    )
    async def user(self, info: Info[Context, None], id: strawberry.ID) -> User | None:
        return await _user_by_id(info, from_global_id(id, "User"))

    @strawberry.field(
        description="Users, newest first by default (users:read).",
        permission_classes=[HasPermission(Permission.VIEW_USERS)],
    )
    async def users(
        self,
        info: Info[Context, None],
        filter: UserFilter | None = None,
        sort: UserSort = UserSort.CREATED_AT,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[User]:
        f = filter or UserFilter()
        page = await users.list_users(
            _res(info),
            info.context.user,
            filter=users.UserFilter(role=f.role, search=f.search, active=f.active),
            sort=sort,
            page=PageArgs(first=first, after=after, last=last, before=before),
        )
        return build_connection(page, User.from_doc)  # type: ignore[no-any-return]


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="Create a CUSTOMER account and sign it in.")
    async def register(self, info: Info[Context, None], input: RegisterInput) -> RegisterPayload:
        async def action() -> dict[str, Any]:
            kw = _client(info)
            return _signed_in(
                await users.register(
                    _res(info),
                    email=input.email,
                    password=input.password,
                    name=input.name,
                    phone=input.phone,
                    **kw,
                )
            )

        return await run_mutation(RegisterPayload, action)

    @strawberry.mutation(
        description="Sign in. Failures are UNAUTHENTICATED errors; repeated failures per "
        "account or IP are RATE_LIMITED (extensions.retryAfter)."
    )
    async def login(self, info: Info[Context, None], input: LoginInput) -> LoginPayload:
        async def action() -> dict[str, Any]:
            return _signed_in(
                await users.authenticate(
                    _res(info), email=input.email, password=input.password, **_client(info)
                )
            )

        return await run_mutation(LoginPayload, action)

    @strawberry.mutation(
        description="Exchange a refresh token for a new access token and refresh token. "
        "A refresh token works once; reusing one revokes its whole session."
    )
    async def refresh_token(
        self, info: Info[Context, None], refresh_token: str
    ) -> RefreshTokenPayload:
        async def action() -> dict[str, Any]:
            return _signed_in(
                await users.refresh(_res(info), refresh_token=refresh_token, **_client(info))
            )

        return await run_mutation(RefreshTokenPayload, action)

    @strawberry.mutation(
        description="Revoke the current session.", permission_classes=[IsAuthenticated]
    )
    async def logout(self, info: Info[Context, None]) -> LogoutPayload:
        async def action() -> dict[str, Any]:
            revoked = await users.logout(
                _res(info), info.context.user, request_id=info.context.request_id
            )
            return {"revoked": revoked}

        return await run_mutation(LogoutPayload, action)

    @strawberry.mutation(
        description="Revoke every session of the caller, on every device.",
        permission_classes=[IsAuthenticated],
    )
    async def logout_all(self, info: Info[Context, None]) -> LogoutAllPayload:
        async def action() -> dict[str, Any]:
            count = await users.logout_all(
                _res(info), info.context.user, request_id=info.context.request_id
            )
            return {"revoked_sessions": count}

        return await run_mutation(LogoutAllPayload, action)

    @strawberry.mutation(
        description="Change a user's role (users:manage). The last active admin cannot be "
        "demoted (CONFLICT).",
        permission_classes=[HasPermission(Permission.MANAGE_USERS)],
    )
    async def set_user_role(
        self, info: Info[Context, None], id: strawberry.ID, role: RoleValue
    ) -> SetUserRolePayload:
        async def action() -> dict[str, Any]:
            oid = from_global_id(id, "User")
            return _user(
                await users.set_user_role(
                    _res(info), info.context.user, oid, role, request_id=info.context.request_id
                )
            )

        return await run_mutation(SetUserRolePayload, action)

    @strawberry.mutation(
        description="Activate or deactivate a user (users:manage). Deactivation revokes "
        "their sessions; the last active admin cannot be deactivated (CONFLICT).",
        permission_classes=[HasPermission(Permission.MANAGE_USERS)],
    )
    async def set_user_active(
        self, info: Info[Context, None], id: strawberry.ID, active: bool
    ) -> SetUserActivePayload:
        async def action() -> dict[str, Any]:
            oid = from_global_id(id, "User")
            return _user(
                await users.set_user_active(
                    _res(info), info.context.user, oid, active, request_id=info.context.request_id
                )
            )

        return await run_mutation(SetUserActivePayload, action)

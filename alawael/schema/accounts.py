"""Accounts: `me`, `user`, `users`; register / login / refreshToken / logout / logoutAll and
admin user management. Resolvers only translate; `alawael.services.users` decides."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import strawberry
from bson import ObjectId
from strawberry.types import Info

from alawael.auth.permissions import Permission
from alawael.auth.permissions import Role as RoleValue
from alawael.context import Context
from alawael.records.users import UserRecord
from alawael.resolvers import accounts as r
from alawael.schema.connection import Connection, build_connection
from alawael.schema.errors import UserError, run_mutation
from alawael.schema.node import register_node
from alawael.schema.permissions import HasPermission, IsAuthenticated
from alawael.schema.users import User
from alawael.services.pagination import PageArgs
from alawael.services.search import HELP as SEARCH_HELP
from alawael.services.users import AuthResult, UserSort

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


def _signed_in(result: AuthResult) -> dict[str, Any]:
    return {
        "user": User.from_record(result.user),
        "access_token": result.access_token,
        "refresh_token": result.refresh_token,
        "expires_in": result.expires_in,
    }


async def _user(result: Awaitable[UserRecord]) -> dict[str, Any]:
    return {"user": User.from_record(await result)}


async def _node_user(info: Info[Context, None], oid: ObjectId) -> User | None:
    return User.maybe(await r.user_node(info, oid))


register_node("User", _node_user)


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The caller; null when anonymous.")
    async def me(self, info: Info[Context, None]) -> User | None:
        return User.maybe(await r.me(info))

    @strawberry.field(
        description="A user by id: yourself, or anyone with users:read.",
        permission_classes=[IsAuthenticated],
    )
    async def user(self, info: Info[Context, None], id: strawberry.ID) -> User | None:
        return User.maybe(await r.user(info, id))

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
        args = PageArgs(first=first, after=after, last=last, before=before)
        return build_connection(await r.users_page(info, filter, sort, args), User.from_record)


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="Create a CUSTOMER account and sign it in.")
    async def register(self, info: Info[Context, None], input: RegisterInput) -> RegisterPayload:
        async def action() -> dict[str, Any]:
            return _signed_in(
                await r.register(
                    info,
                    email=input.email,
                    password=input.password,
                    name=input.name,
                    phone=input.phone,
                )
            )

        return await run_mutation(RegisterPayload, action)

    @strawberry.mutation(
        description="Sign in. Failures are UNAUTHENTICATED errors; repeated failures per "
        "account or IP are RATE_LIMITED (extensions.retryAfter)."
    )
    async def login(self, info: Info[Context, None], input: LoginInput) -> LoginPayload:
        async def action() -> dict[str, Any]:
            return _signed_in(await r.login(info, email=input.email, password=input.password))

        return await run_mutation(LoginPayload, action)

    @strawberry.mutation(
        description="Exchange a refresh token for a new access token and refresh token. "
        "A refresh token works once; reusing one revokes its whole session."
    )
    async def refresh_token(
        self, info: Info[Context, None], refresh_token: str
    ) -> RefreshTokenPayload:
        async def action() -> dict[str, Any]:
            return _signed_in(await r.refresh(info, refresh_token))

        return await run_mutation(RefreshTokenPayload, action)

    @strawberry.mutation(
        description="Revoke the current session.", permission_classes=[IsAuthenticated]
    )
    async def logout(self, info: Info[Context, None]) -> LogoutPayload:
        async def action() -> dict[str, Any]:
            return {"revoked": await r.logout(info)}

        return await run_mutation(LogoutPayload, action)

    @strawberry.mutation(
        description="Revoke every session of the caller, on every device.",
        permission_classes=[IsAuthenticated],
    )
    async def logout_all(self, info: Info[Context, None]) -> LogoutAllPayload:
        async def action() -> dict[str, Any]:
            return {"revoked_sessions": await r.logout_all(info)}

        return await run_mutation(LogoutAllPayload, action)

    @strawberry.mutation(
        description="Change a user's role (users:manage). The last active admin cannot be "
        "demoted (CONFLICT).",
        permission_classes=[HasPermission(Permission.MANAGE_USERS)],
    )
    async def set_user_role(
        self, info: Info[Context, None], id: strawberry.ID, role: RoleValue
    ) -> SetUserRolePayload:
        return await run_mutation(
            SetUserRolePayload, lambda: _user(r.set_user_role(info, id, role))
        )

    @strawberry.mutation(
        description="Activate or deactivate a user (users:manage). Deactivation revokes "
        "their sessions; the last active admin cannot be deactivated (CONFLICT).",
        permission_classes=[HasPermission(Permission.MANAGE_USERS)],
    )
    async def set_user_active(
        self, info: Info[Context, None], id: strawberry.ID, active: bool
    ) -> SetUserActivePayload:
        return await run_mutation(
            SetUserActivePayload, lambda: _user(r.set_user_active(info, id, active))
        )

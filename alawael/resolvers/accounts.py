"""Account resolvers: GraphQL arguments in, `alawael.services.users` calls, records out."""

from __future__ import annotations

from typing import Any, Protocol

from bson import ObjectId
from strawberry.types import Info

from alawael.auth.current import client_ip, require_actor
from alawael.auth.permissions import Role
from alawael.records.users import UserRecord
from alawael.services import users
from alawael.services.pagination import Page, PageArgs
from alawael.services.users import AuthResult, UserSort
from alawael.shared.errors import Forbidden, Unauthenticated
from alawael.shared.ids import from_global_id


class UserFilterInput(Protocol):
    """The shape read from alawael.schema.accounts' input (declared here: no import cycle)."""

    @property
    def role(self) -> Role | None: ...
    @property
    def search(self) -> str | None: ...
    @property
    def active(self) -> bool | None: ...


def _client(info: Info) -> dict[str, Any]:
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


async def user_by_id(info: Info, oid: ObjectId) -> UserRecord | None:
    ctx = info.context
    return await users.get_user(ctx.resources, ctx.user, oid, load=ctx.loaders.user_by_id.load)


async def user_node(info: Info, oid: ObjectId) -> UserRecord | None:
    # node(id) answers null for what is missing *or not yours* (the Relay convention here);
    # user(id) says FORBIDDEN instead.
    try:
        return await user_by_id(info, oid)
    except (Forbidden, Unauthenticated):
        return None


async def me(info: Info) -> UserRecord | None:
    if info.context.user is None and info.context.auth_error is None:
        return None
    return await user_by_id(info, ObjectId(require_actor(info.context).user_id))


async def user(info: Info, gid: str) -> UserRecord | None:
    return await user_by_id(info, from_global_id(gid, "User"))


async def users_page(
    info: Info, flt: UserFilterInput | None, sort: UserSort, args: PageArgs
) -> Page[UserRecord]:
    ctx = info.context
    return await users.list_users(
        ctx.resources,
        ctx.user,
        filter=users.UserFilter(
            role=flt.role if flt else None,
            search=flt.search if flt else None,
            active=flt.active if flt else None,
        ),
        sort=sort,
        page=args,
    )


async def register(
    info: Info, *, email: str, password: str, name: str, phone: str | None
) -> AuthResult:
    return await users.register(
        info.context.resources,
        email=email,
        password=password,
        name=name,
        phone=phone,
        **_client(info),
    )


async def login(info: Info, *, email: str, password: str) -> AuthResult:
    return await users.authenticate(
        info.context.resources, email=email, password=password, **_client(info)
    )


async def refresh(info: Info, refresh_token: str) -> AuthResult:
    return await users.refresh(info.context.resources, refresh_token=refresh_token, **_client(info))


async def logout(info: Info) -> bool:
    ctx = info.context
    return await users.logout(ctx.resources, ctx.user, request_id=ctx.request_id)


async def logout_all(info: Info) -> int:
    ctx = info.context
    return await users.logout_all(ctx.resources, ctx.user, request_id=ctx.request_id)


async def set_user_role(info: Info, gid: str, role: Role) -> UserRecord:
    ctx = info.context
    oid = from_global_id(gid, "User")
    return await users.set_user_role(ctx.resources, ctx.user, oid, role, request_id=ctx.request_id)


async def set_user_active(info: Info, gid: str, active: bool) -> UserRecord:
    ctx = info.context
    oid = from_global_id(gid, "User")
    return await users.set_user_active(
        ctx.resources, ctx.user, oid, active, request_id=ctx.request_id
    )

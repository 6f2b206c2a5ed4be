"""Endpoints 5-7: the caller, the user list and one user (alawael.services.users)."""

from __future__ import annotations

from bson import ObjectId

from alawael.auth.permissions import Permission
from alawael.rest.models import UserListQuery, UserOut
from alawael.rest.routing import Call, Paged, endpoint, page_args
from alawael.services import users
from alawael.shared.errors import NotFound, Unauthenticated

TAG = "Users"


@endpoint("GET", "/api/users/me", summary="The caller", tag=TAG, access="user", response=UserOut)
async def get_me(call: Call) -> UserOut:
    if call.actor is None:  # pragma: no cover - the access check ran first
        raise Unauthenticated()
    doc = await users.get_user(call.res, call.actor, ObjectId(call.actor.user_id))
    if doc is None:  # deleted since the token was issued
        raise Unauthenticated("This account no longer exists.")
    return UserOut.from_record(doc)


@endpoint(
    "GET",
    "/api/users",
    summary="List users (managers and admins)",
    tag=TAG,
    access=Permission.VIEW_USERS,
    query=UserListQuery,
    response=UserOut,
    many=True,
)
async def list_users(call: Call) -> Paged:
    """Newest first; filter by role, active state, or text in name and email."""
    q = call.query_as(UserListQuery)
    page = await users.list_users(
        call.res,
        call.actor,
        filter=users.UserFilter(role=q.role, search=q.search, active=q.active),
        page=page_args(q),
    )
    return Paged([UserOut.from_record(item) for item in page.items], page, q.limit)


@endpoint(
    "GET",
    "/api/users/{id}",
    summary="One user: yourself, or anyone for managers and admins",
    tag=TAG,
    access="user",
    response=UserOut,
    errors=(403, 404),
    path_params={"id": "A User id (the global id the API returns, or a raw 24-hex ObjectId)."},
)
async def get_user(call: Call) -> UserOut:
    doc = await users.get_user(call.res, call.actor, call.oid("User"))
    if doc is None:
        raise NotFound("No such user.", field="id")
    return UserOut.from_record(doc)

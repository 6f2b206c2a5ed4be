"""Finding users: who may see whom, one user, and filtered, sorted pages of users."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bson import ObjectId

from alawael.auth.permissions import Actor, Permission, Role, require
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.records.users import UserRecord
from alawael.services import search
from alawael.services.pagination import Page, PageArgs, page_of_docs
from alawael.services.search_pages import count_matching, paginate_matching
from alawael.services.users.validation import MAX_SEARCH, PUBLIC
from alawael.shared.errors import Forbidden, Unauthenticated


class UserSort(StrEnum):
    CREATED_AT = "CREATED_AT"  # newest first
    NAME = "NAME"  # A-Z
    EMAIL = "EMAIL"  # A-Z


_SORTS: dict[UserSort, tuple[str, int]] = {
    UserSort.CREATED_AT: ("createdAt", -1),
    UserSort.NAME: ("name", 1),
    UserSort.EMAIL: ("email", 1),
}


@dataclass(frozen=True)
class UserFilter:
    role: Role | None = None
    search: str | None = None
    active: bool | None = None

    def query(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.role is not None:
            query["role"] = self.role.value
        if self.active is not None:
            query["active"] = self.active
        # The search text is not part of this query: search_pages ranks by it.
        return query

    def terms(self) -> list[str] | None:
        return search.search_terms(self.search, max_length=MAX_SEARCH)


def can_view_user(actor: Actor | None, user_id: ObjectId) -> None:
    """Self, or VIEW_USERS. Raises before any lookup, so the answer reveals nothing about
    which ids exist."""
    if actor is None:
        raise Unauthenticated()
    if actor.user_id != str(user_id) and not actor.can(Permission.VIEW_USERS):
        raise Forbidden(f"Missing permission: {Permission.VIEW_USERS.value}")


Loader = Callable[[ObjectId], Awaitable[UserRecord | None]]


async def get_user(
    res: Resources, actor: Actor | None, user_id: ObjectId, *, load: Loader | None = None
) -> UserRecord | None:
    """One user, or None. Pass the request's DataLoader as `load`
    so several lookups in one query share a batch."""
    can_view_user(actor, user_id)
    if load is not None:
        return await load(user_id)
    doc = await res.db.users.find_one({"_id": user_id}, PUBLIC)
    return None if doc is None else UserRecord.from_doc(doc)


async def list_users(
    res: Resources,
    actor: Actor | None,
    *,
    filter: UserFilter | None = None,
    sort: UserSort = UserSort.CREATED_AT,
    page: PageArgs | None = None,
) -> Page[UserRecord]:
    """A keyset page of users (VIEW_USERS). Pages are cached under the `users` scope; the
    result does not depend on who asks among those allowed to ask."""
    require(actor, Permission.VIEW_USERS)
    filter = filter or UserFilter()
    page = page or PageArgs()
    query = filter.query()
    terms = filter.terms()
    sort_field, direction = _SORTS[sort]
    key = [query, terms, sort.value, page.first, page.after, page.last, page.before]

    async def compute() -> Document:
        found = await paginate_matching(
            res.db,
            "users",
            query,
            terms,
            sort_field=sort_field,
            direction=direction,
            args=page,
            projection=PUBLIC,
        )
        return {"docs": found.items, "next": found.has_next_page, "prev": found.has_previous_page}

    cached = await res.cache.get_or_compute(
        "users.page", key, scopes=["users"], ttl=res.settings.cache_ttl_seconds, compute=compute
    )

    async def count() -> int:
        async def compute_count() -> int:
            return await count_matching(res.db, "users", query, terms)

        total = await res.cache.get_or_compute(
            "users.count",
            [query, terms],
            scopes=["users"],
            ttl=res.settings.cache_ttl_seconds,
            compute=compute_count,
        )
        return int(total)

    return page_of_docs(
        cached["docs"],
        sort_field,
        has_next_page=cached["next"],
        has_previous_page=cached["prev"],
        count=count,
    ).map(UserRecord.from_doc)

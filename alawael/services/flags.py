"""Feature flags: definitions in `feature_flags`, evaluated per caller in Python.

Definitions are few and read on almost every page load, so they are cached as one list
(scope "flags") and evaluated for each caller from that list: no per-user cache entries,
and a write is visible everywhere as soon as it bumps the scope.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from alawael.auth.permissions import Actor, Permission, Role, require
from alawael.infra.clock import utcnow
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.records.flags import FlagRecord
from alawael.services.audited import Author, Change, audited_write
from alawael.services.pagination import Page, PageArgs, paginate
from alawael.shared.errors import BadUserInput, NotFound

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")
MAX_DESCRIPTION = 500
MAX_ALLOWED_USERS = 1000
CHANNEL = "flags"
SCOPE = "flags"


@dataclass(frozen=True)
class FlagInput:
    key: str
    description: str
    enabled: bool
    rollout_percentage: int
    allowed_roles: Sequence[Role] = ()
    allowed_user_ids: Sequence[ObjectId] = ()


def bucket_of(key: str, user_id: str) -> int:
    """The caller's stable bucket 0-99 for this flag. Hashing the key in as well means a
    user who is in the first 10% of one flag is not automatically in every 10% rollout."""
    digest = hashlib.sha256(f"{key}:{user_id}".encode()).hexdigest()
    return int(digest[:8], 16) % 100


def evaluate(flag: FlagRecord, actor: Actor | None) -> bool:
    """Is `flag` on for `actor`? Order matters: disabled beats everything, an explicit user
    grant beats role targeting, and role targeting beats the percentage rollout."""
    if not flag.enabled:
        return False
    roles = flag.allowed_roles
    rollout = flag.rollout_percentage
    if actor is None:
        # No id means no stable bucket: anonymous callers only see flags that are on for
        # every signed-in user without role targeting.
        return rollout >= 100 and not roles
    if ObjectId(actor.user_id) in flag.allowed_user_ids:
        return True
    if roles and actor.role not in roles:
        return False
    return bucket_of(flag.key, actor.user_id) < rollout


async def flag_definitions(res: Resources) -> list[FlagRecord]:
    """Every flag definition, sorted by key, through the cache."""

    async def compute() -> list[Document]:
        return await res.db.feature_flags.find({}).sort("key", 1).to_list(None)

    value: list[Document] = await res.cache.get_or_compute(
        "flags:all",
        [],
        scopes=[SCOPE],
        ttl=res.settings.flags_cache_ttl_seconds,
        compute=compute,
    )
    return [FlagRecord.from_doc(doc) for doc in value]


async def evaluate_flag(res: Resources, actor: Actor | None, key: str) -> bool:
    """Unknown flags are off: a client asking for a flag that was deleted (or not yet
    created) keeps the old behaviour instead of failing."""
    for flag in await flag_definitions(res):
        if flag.key == key:
            return evaluate(flag, actor)
    return False


def visible_definition(actor: Actor | None, flag: FlagRecord | None) -> FlagRecord | None:
    """A flag definition, for those who may see definitions (node(id) answers null to the
    rest, like any node the caller may not read)."""
    return flag if flag is not None and sees_definitions(actor) else None


def sees_definitions(actor: Actor | None) -> bool:
    """Flag definitions (targeting, rollout) are for flag managers; others get only
    whether each flag is on for them."""
    return actor is not None and actor.can(Permission.MANAGE_FLAGS)


async def evaluate_all(res: Resources, actor: Actor | None) -> list[tuple[str, bool]]:
    return [(flag.key, evaluate(flag, actor)) for flag in await flag_definitions(res)]


async def get_flag_by_key(res: Resources, key: str) -> FlagRecord | None:
    doc = await res.db.feature_flags.find_one({"key": key})
    return None if doc is None else FlagRecord.from_doc(doc)


def _validate(data: FlagInput) -> None:
    if not KEY_PATTERN.match(data.key):
        raise BadUserInput(
            "A flag key is 2-64 characters: a lower-case letter, then lower-case letters, "
            "digits, '_', '.' or '-'.",
            field="key",
        )
    if len(data.description) > MAX_DESCRIPTION:
        raise BadUserInput(
            f"The description is at most {MAX_DESCRIPTION} characters.", field="description"
        )
    if not 0 <= data.rollout_percentage <= 100:
        raise BadUserInput(
            "rolloutPercentage must be between 0 and 100.", field="rolloutPercentage"
        )
    if len(data.allowed_user_ids) > MAX_ALLOWED_USERS:
        raise BadUserInput(
            f"At most {MAX_ALLOWED_USERS} allowed users; use a role or a rollout instead.",
            field="allowedUserIds",
        )


async def _check_users_exist(res: Resources, ids: list[ObjectId]) -> None:
    if not ids:
        return
    found = await res.db.users.count_documents({"_id": {"$in": ids}})
    if found != len(ids):
        raise BadUserInput("Some allowed users do not exist.", field="allowedUserIds")


async def set_feature_flag(
    res: Resources, actor: Actor | None, data: FlagInput, *, request_id: str | None = None
) -> FlagRecord:
    """Create or replace the flag `data.key`; returns the stored definition."""
    require(actor, Permission.MANAGE_FLAGS)
    _validate(data)
    user_ids = list(dict.fromkeys(data.allowed_user_ids))  # de-duplicated, order kept
    await _check_users_exist(res, user_ids)
    roles = sorted({role.value for role in data.allowed_roles})
    now = utcnow()

    async def change(session: AsyncClientSession) -> Change[Document]:
        # The definition and its audit entry commit together; `before` is read in the same
        # snapshot, so it is exactly what was replaced.
        before = await res.db.feature_flags.find_one({"key": data.key}, session=session)
        after: Document | None = await res.db.feature_flags.find_one_and_update(
            {"key": data.key},
            {
                "$set": {
                    "description": data.description,
                    "enabled": data.enabled,
                    "rolloutPercentage": data.rollout_percentage,
                    "allowedRoles": roles,
                    "allowedUserIds": user_ids,
                    "updatedAt": now,
                },
                "$setOnInsert": {"key": data.key, "createdAt": now},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if after is None:  # cannot happen: an upsert returning the new document has one
            raise RuntimeError(f"upsert of flag {data.key!r} returned nothing")
        return Change(after, after["_id"], before=before, after=after)

    after = await audited_write(
        res,
        Author(actor, request_id),
        action="setFeatureFlag",
        entity="feature_flag",
        change=change,
        scopes=[SCOPE],
    )
    await res.events.publish(CHANNEL, {"key": data.key, "deleted": False})
    return FlagRecord.from_doc(after)


async def delete_feature_flag(
    res: Resources, actor: Actor | None, key: str, *, request_id: str | None = None
) -> FlagRecord:
    """Delete the flag `key`; returns the deleted definition (NOT_FOUND if there was none)."""
    require(actor, Permission.MANAGE_FLAGS)

    async def change(session: AsyncClientSession) -> Change[Document]:
        before: Document | None = await res.db.feature_flags.find_one_and_delete(
            {"key": key}, session=session
        )
        if before is None:
            raise NotFound(f"No feature flag {key!r}.", field="key")
        return Change(before, before["_id"], before=before, after=None)

    before = await audited_write(
        res,
        Author(actor, request_id),
        action="deleteFeatureFlag",
        entity="feature_flag",
        change=change,
        scopes=[SCOPE],
    )
    await res.events.publish(CHANNEL, {"key": key, "deleted": True})
    return FlagRecord.from_doc(before)


async def list_flags(res: Resources, actor: Actor | None, args: PageArgs) -> Page[FlagRecord]:
    """The admin listing (flags:manage): full definitions, straight from the database (always
    fresh), as keyset pages ordered by key."""
    require(actor, Permission.MANAGE_FLAGS)
    page = await paginate(res.db, "feature_flags", {}, sort_field="key", direction=1, args=args)
    return page.map(FlagRecord.from_doc)

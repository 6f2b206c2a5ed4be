"""Administering users: roles and deactivation, never leaving the company without an admin."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from alawael.auth import sessions
from alawael.auth.permissions import Actor, Permission, Role, require
from alawael.infra.clock import utcnow
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.records.users import UserRecord
from alawael.services.audited import Author, Change, audited_write
from alawael.services.users.validation import PUBLIC, user_scopes
from alawael.shared.errors import Conflict, NotFound


async def update_user(
    res: Resources,
    actor: Actor | None,
    user_id: ObjectId,
    changes: dict[str, Any],
    *,
    action: str,
    request_id: str | None,
    system: str | None = None,
) -> UserRecord:
    """Apply `changes` in a transaction that refuses to leave no active admin.

    The guard: a transaction that takes an admin away first writes one shared counter
    document, so two such transactions conflict and run one after the other; the second
    then counts the admins the first left behind (plain count-then-update would let two
    admins demote each other at the same moment)."""

    async def change(session: AsyncClientSession) -> Change[Document]:
        before = await res.db.users.find_one({"_id": user_id}, PUBLIC, session=session)
        if before is None:
            raise NotFound("User not found.", field="id")
        was_admin = before["role"] == Role.ADMIN.value and before.get("active", True)
        stays_admin = (
            changes.get("role", before["role"]) == Role.ADMIN.value
            and changes.get("active", before.get("active", True)) is True
        )
        if was_admin and not stays_admin:
            await res.db.counters.update_one(
                {"_id": "adminGuard"}, {"$inc": {"seq": 1}}, upsert=True, session=session
            )
            admins = await res.db.users.count_documents(
                {"role": Role.ADMIN.value, "active": True}, session=session
            )
            if admins <= 1:
                raise Conflict(
                    "This is the last active admin; promote another admin first.",
                    field="role" if "role" in changes else "active",
                )
        after = await res.db.users.find_one_and_update(
            {"_id": user_id},
            {"$set": {**changes, "updatedAt": utcnow()}},
            projection=PUBLIC,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert after is not None
        return Change(after, user_id, before=before, after=after)

    after = await audited_write(
        res,
        Author(actor, request_id, system),
        action=action,
        entity="user",
        change=change,
        scopes=user_scopes(user_id),
    )
    # This worker applies the new role / deactivation at once; others within
    # session_check_ttl_seconds.
    sessions.session_checks(res).forget_user(str(user_id))
    return UserRecord.from_doc(after)


async def set_user_role(
    res: Resources,
    actor: Actor | None,
    user_id: ObjectId,
    role: Role,
    *,
    request_id: str | None = None,
) -> UserRecord:
    """Change a user's role (MANAGE_USERS). Sessions stay; the new role applies to the
    user's next request."""
    require(actor, Permission.MANAGE_USERS)
    return await update_user(
        res, actor, user_id, {"role": role.value}, action="setUserRole", request_id=request_id
    )


async def set_user_active(
    res: Resources,
    actor: Actor | None,
    user_id: ObjectId,
    active: bool,
    *,
    request_id: str | None = None,
) -> UserRecord:
    """(De)activate a user (MANAGE_USERS). Deactivation also revokes all their sessions."""
    require(actor, Permission.MANAGE_USERS)
    after = await update_user(
        res, actor, user_id, {"active": active}, action="setUserActive", request_id=request_id
    )
    if not active:
        await sessions.revoke_user_sessions(res, user_id, reason="deactivated")
    return after

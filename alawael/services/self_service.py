"""What a signed-in user changes about their own account: profile and password.

Both doors (GraphQL `updateMe` / `changePassword`, REST `PATCH /api/users/me` /
`POST /api/auth/password`) call these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from alawael.auth import passwords, sessions
from alawael.auth.permissions import Actor
from alawael.auth.throttle import login_throttle
from alawael.infra.clock import utcnow
from alawael.infra.db import Document
from alawael.infra.http import UNKNOWN as UNKNOWN_IP
from alawael.infra.resources import Resources
from alawael.records.users import UserRecord
from alawael.services import search
from alawael.services.audited import Author, Change, audited_write
from alawael.services.users import PUBLIC, user_scopes, validate_name, validate_phone
from alawael.shared.errors import BadUserInput, NotFound, Unauthenticated
from alawael.shared.locale import Locale, is_locale

WRONG_PASSWORD = "The current password is not correct."
EDITABLE = ("name", "phone", "locale")


def _me(actor: Actor | None) -> ObjectId:
    if actor is None:
        raise Unauthenticated()
    return ObjectId(actor.user_id)


def validate_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Only the given fields change; `phone: null` clears the phone, a null name or
    locale is refused (they cannot be empty)."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in EDITABLE:
            raise BadUserInput(f"`{key}` cannot be changed here.", field=key)
        if key == "name":
            if value is None:
                raise BadUserInput("Name is required.", field="name")
            out["name"] = validate_name(value)
        elif key == "phone":
            out["phone"] = validate_phone(value)
        else:
            if not is_locale(value):
                raise BadUserInput("Locale must be `en` or `ar`.", field="locale")
            out["locale"] = Locale(value).value
    return out


async def _rekey(res: Resources, user: Document, session: AsyncClientSession) -> None:
    """A new name changes the user's search keys and those of their orders (orders are
    found by their customer's name), in the rename's transaction."""
    await res.db.users.update_one(
        {"_id": user["_id"]}, {"$set": search.user_keys(user)}, session=session
    )
    orders = res.db.orders.find({"userId": user["_id"]}, {"number": 1}, session=session)
    name = user.get("name")
    rekeyed = [
        UpdateOne({"_id": order["_id"]}, {"$set": search.order_keys(order["number"], name)})
        for order in await orders.to_list(None)
    ]
    if rekeyed:  # one round trip for all of them, not one per order
        await res.db.orders.bulk_write(rekeyed, ordered=False, session=session)


async def update_me(
    res: Resources,
    actor: Actor | None,
    changes: Mapping[str, Any],
    *,
    request_id: str | None = None,
) -> UserRecord:
    """Change the caller's name, phone and/or locale; returns the user."""
    uid = _me(actor)
    values = validate_changes(changes)
    if not values:
        current = await res.db.users.find_one({"_id": uid}, PUBLIC)
        if current is None:
            raise NotFound("User not found.")
        return UserRecord.from_doc(current)

    async def change(session: AsyncClientSession) -> Change[Document]:
        # BEFORE from the update itself: the audited "before" is exactly what was replaced.
        before = await res.db.users.find_one_and_update(
            {"_id": uid},
            {"$set": {**values, "updatedAt": utcnow()}},
            projection=PUBLIC,
            return_document=ReturnDocument.BEFORE,
            session=session,
        )
        if before is None:
            raise NotFound("User not found.")
        if "name" in values:
            await _rekey(res, {**before, **values}, session)
        return Change(
            {**before, **values}, uid, before={k: before.get(k) for k in values}, after=values
        )

    after = await audited_write(
        res,
        Author(actor, request_id),
        action="updateMe",
        entity="user",
        change=change,
        scopes=user_scopes(uid),
    )
    return UserRecord.from_doc(after)


async def change_password(
    res: Resources,
    actor: Actor | None,
    *,
    current_password: str,
    new_password: str,
    ip: str | None = None,
    request_id: str | None = None,
) -> int:
    """Set a new password after checking the current one; every *other* session of the
    user is revoked (a thief's session ends; this device stays signed in). Returns how
    many sessions were revoked. Wrong current passwords pay the login throttle, so a
    stolen access token cannot be used to guess the password."""
    uid = _me(actor)
    assert actor is not None
    user = await res.db.users.find_one({"_id": uid})
    if user is None:
        raise Unauthenticated()
    throttle = login_throttle(res)
    where = ip or UNKNOWN_IP
    await throttle.charge_call(where)
    await throttle.check(user["email"], where)
    candidate = current_password[: passwords.MAX_LENGTH + 1]
    if len(current_password) > passwords.MAX_LENGTH or not await passwords.verify_password(
        res.settings, user.get("passwordHash"), candidate
    ):
        await throttle.record_failure(user["email"], where)
        raise BadUserInput(WRONG_PASSWORD, field="currentPassword")
    passwords.check_policy(new_password, user["email"])
    new_hash = await passwords.hash_password(res.settings, new_password)
    keep = ObjectId(actor.session_id) if actor.session_id else None

    async def change(session: AsyncClientSession) -> Change[int]:
        # The new password and the end of the other sessions commit together: a crash in
        # between must not leave a thief's session alive after the password changed.
        await res.db.users.update_one(
            {"_id": uid},
            {"$set": {"passwordHash": new_hash, "updatedAt": utcnow()}},
            session=session,
        )
        revoked = await sessions.revoke_user_sessions(
            res, uid, reason="password-changed", keep=keep, session=session
        )
        return Change(
            revoked, uid, before=None, after={"passwordChanged": True, "revokedSessions": revoked}
        )

    revoked = await audited_write(
        res,
        Author(actor, request_id),
        action="changePassword",
        entity="user",
        change=change,
        scopes=user_scopes(uid),
    )
    sessions.session_checks(res).forget_user(str(uid))
    return revoked

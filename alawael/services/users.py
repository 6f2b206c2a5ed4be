"""Users and their sign-in: registration, login, token refresh, logout, and administration.

GraphQL resolvers, the REST shim and the CLI all call these functions; they hold every rule
(who may see or change whom, the password policy, the last-admin guard, throttling).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from alawael.auth import passwords, sessions
from alawael.auth.permissions import Actor, Permission, Role, require
from alawael.auth.throttle import login_throttle
from alawael.auth.tokens import issue_access_token
from alawael.infra.clock import utcnow
from alawael.infra.db import Document
from alawael.infra.http import UNKNOWN as UNKNOWN_IP
from alawael.infra.resources import Resources
from alawael.services import audit, search
from alawael.services.pagination import Page, PageArgs
from alawael.services.search_pages import count_matching, paginate_matching
from alawael.shared.errors import (
    BadUserInput,
    Conflict,
    Forbidden,
    NotFound,
    Unauthenticated,
)

# Never hand the password hash to callers (resolvers, cache, audit).
PUBLIC = {"passwordHash": 0}
INVALID_LOGIN = "Invalid email or password."
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
MAX_NAME = 100
MAX_SEARCH = 100


# --- validation ------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    # Uniqueness is case-insensitive: the stored form is lower-cased.
    return email.strip().lower()


def validate_email(email: str) -> str:
    value = normalize_email(email)
    if len(value) > 254 or not _EMAIL.match(value):
        raise BadUserInput("Enter a valid email address.", field="email")
    return value


def validate_name(name: str) -> str:
    value = " ".join(name.split())
    if not value:
        raise BadUserInput("Name is required.", field="name")
    if len(value) > MAX_NAME:
        raise BadUserInput(f"Name must be at most {MAX_NAME} characters.", field="name")
    return value


def validate_phone(phone: str | None) -> str | None:
    if phone is None or not phone.strip():
        return None
    value = phone.strip()
    if not _PHONE.match(value):
        raise BadUserInput("Enter a valid phone number.", field="phone")
    return value


# Services re-check the declared permission: the REST shim and the CLI call them too.
_require = require


async def _bump(res: Resources, user_id: ObjectId) -> None:
    await res.cache.bump("users", f"user:{user_id}")


# --- creating users --------------------------------------------------------------------


async def create_user(
    res: Resources,
    actor: Actor | None,
    *,
    email: str,
    password: str,
    name: str,
    phone: str | None = None,
    role: Role = Role.CUSTOMER,
    action: str = "createUser",
    audit_as_self: bool = False,
    request_id: str | None = None,
) -> Document:
    """Validate and insert a user; returns the document without its password hash."""
    email = validate_email(email)
    name = validate_name(name)
    phone = validate_phone(phone)
    passwords.check_policy(password, email)
    # A cheap look first gives a clear CONFLICT without paying for a hash; the unique index
    # on email still decides races between concurrent sign-ups.
    if await res.db.users.find_one({"email": email}, {"_id": 1}) is not None:
        raise Conflict("An account with this email already exists.", field="email")
    now = utcnow()
    doc: Document = {
        "_id": ObjectId(),
        "email": email,
        "name": name,
        "phone": phone,
        "role": role.value,
        "active": True,
        "passwordHash": await passwords.hash_password(res.settings, password),
        "createdAt": now,
        "updatedAt": now,
    }
    try:
        await res.db.users.insert_one({**doc, **search.user_keys(doc)})
    except DuplicateKeyError as exc:
        raise Conflict("An account with this email already exists.", field="email") from exc
    public = {k: v for k, v in doc.items() if k != "passwordHash"}
    # Sign-up is done by the new user; the CLI and bootstrap by the system (None).
    who = Actor(user_id=str(doc["_id"]), role=role) if audit_as_self else actor
    await audit.record(
        res.db,
        who,
        action=action,
        entity="user",
        entity_id=doc["_id"],
        before=None,
        after=public,
        request_id=request_id,
    )
    await _bump(res, doc["_id"])
    return public


# --- signing in ------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthResult:
    user: Document
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token is valid


async def _start_session(
    res: Resources,
    user: Document,
    *,
    ip: str | None,
    user_agent: str | None,
    action: str,
    request_id: str | None,
) -> AuthResult:
    session, refresh = await sessions.create_session(res, user["_id"], user_agent=user_agent, ip=ip)
    role = Role(user["role"])
    actor = Actor(user_id=str(user["_id"]), role=role, session_id=str(session["_id"]))
    access = issue_access_token(
        res.settings, user_id=actor.user_id, role=role, session_id=str(session["_id"])
    )
    await audit.record(
        res.db,
        actor,
        action=action,
        entity="session",
        entity_id=session["_id"],
        before=None,
        after=session,  # the recorder drops refreshHash/previousHashes
        request_id=request_id,
    )
    return AuthResult(user, access, refresh, res.settings.access_token_ttl_seconds)


async def register(
    res: Resources,
    *,
    email: str,
    password: str,
    name: str,
    phone: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
) -> AuthResult:
    """Public sign-up: always a CUSTOMER account, signed in straight away. Every call pays
    the per-IP auth budget, whichever door and document shape it came through."""
    await login_throttle(res).charge_call(ip or UNKNOWN_IP)
    user = await create_user(
        res,
        None,
        email=email,
        password=password,
        name=name,
        phone=phone,
        role=Role.CUSTOMER,
        action="register",
        audit_as_self=True,
        request_id=request_id,
    )
    return await _start_session(
        res, user, ip=ip, user_agent=user_agent, action="login", request_id=request_id
    )


async def authenticate(
    res: Resources,
    *,
    email: str,
    password: str,
    ip: str = "unknown",
    user_agent: str | None = None,
    request_id: str | None = None,
) -> AuthResult:
    """Log in. Unknown e-mail and wrong password give the same error after the same work
    (a dummy hash is verified), so the answer reveals nothing about who has an account."""
    email = normalize_email(email)
    throttle = login_throttle(res)
    await throttle.charge_call(ip)
    await throttle.check(email, ip)
    user = await res.db.users.find_one({"email": email})
    stored = user.get("passwordHash") if user is not None else None
    candidate = password[: passwords.MAX_LENGTH + 1]
    ok = await passwords.verify_password(res.settings, stored, candidate)
    if not ok or user is None or len(password) > passwords.MAX_LENGTH:
        await throttle.record_failure(email, ip)
        raise Unauthenticated(INVALID_LOGIN)
    if not user.get("active", True):
        # Only someone who knows the password learns that the account is deactivated.
        raise Unauthenticated("This account has been deactivated.")
    await throttle.reset_account(email, ip)
    if stored is not None and passwords.needs_rehash(res.settings, stored):
        new_hash = await passwords.hash_password(res.settings, password)
        await res.db.users.update_one({"_id": user["_id"]}, {"$set": {"passwordHash": new_hash}})
    public = {k: v for k, v in user.items() if k != "passwordHash"}
    return await _start_session(
        res, public, ip=ip, user_agent=user_agent, action="login", request_id=request_id
    )


async def refresh(
    res: Resources,
    *,
    refresh_token: str,
    ip: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
) -> AuthResult:
    """Rotate the refresh token and issue a new access token for the same session."""
    await login_throttle(res).charge_call(ip or UNKNOWN_IP)
    session, new_refresh = await sessions.rotate_session(
        res, refresh_token, user_agent=user_agent, ip=ip
    )
    user = await res.db.users.find_one({"_id": session["userId"]}, PUBLIC)
    if user is None or not user.get("active", True):
        await sessions.revoke_session(res, session["_id"], reason="user-inactive")
        raise Unauthenticated(sessions.REVOKED)
    role = Role(user["role"])
    actor = Actor(user_id=str(user["_id"]), role=role, session_id=str(session["_id"]))
    access = issue_access_token(
        res.settings, user_id=actor.user_id, role=role, session_id=actor.session_id or ""
    )
    await audit.record(
        res.db,
        actor,
        action="refreshToken",
        entity="session",
        entity_id=session["_id"],
        before=None,
        after={"lastUsedAt": session["lastUsedAt"], "ip": ip},
        request_id=request_id,
    )
    return AuthResult(user, access, new_refresh, res.settings.access_token_ttl_seconds)


async def logout(res: Resources, actor: Actor | None, *, request_id: str | None = None) -> bool:
    """Revoke the caller's current session (its refresh token and, within seconds, its
    access tokens)."""
    if actor is None:
        raise Unauthenticated()
    if actor.session_id is None:
        return False
    sid = ObjectId(actor.session_id)
    revoked = await sessions.revoke_session(res, sid, reason="logout")
    await audit.record(
        res.db,
        actor,
        action="logout",
        entity="session",
        entity_id=sid,
        before={"revoked": not revoked},
        after={"revoked": True},
        request_id=request_id,
    )
    return revoked


async def logout_all(res: Resources, actor: Actor | None, *, request_id: str | None = None) -> int:
    """Revoke every session of the caller; returns how many were live."""
    if actor is None:
        raise Unauthenticated()
    uid = ObjectId(actor.user_id)
    count = await sessions.revoke_user_sessions(res, uid, reason="logout-all")
    await audit.record(
        res.db,
        actor,
        action="logoutAll",
        entity="user",
        entity_id=uid,
        before=None,
        after={"revokedSessions": count},
        request_id=request_id,
    )
    return count


# --- reading users ---------------------------------------------------------------------


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


Loader = Callable[[ObjectId], Awaitable[Document | None]]


async def get_user(
    res: Resources, actor: Actor | None, user_id: ObjectId, *, load: Loader | None = None
) -> Document | None:
    """One user (without password hash), or None. Pass the request's DataLoader as `load`
    so several lookups in one query share a batch."""
    can_view_user(actor, user_id)
    if load is not None:
        return await load(user_id)
    return await res.db.users.find_one({"_id": user_id}, PUBLIC)


async def list_users(
    res: Resources,
    actor: Actor | None,
    *,
    filter: UserFilter | None = None,
    sort: UserSort = UserSort.CREATED_AT,
    page: PageArgs | None = None,
) -> Page:
    """A keyset page of users (VIEW_USERS). Pages are cached under the `users` scope; the
    result does not depend on who asks among those allowed to ask."""
    _require(actor, Permission.VIEW_USERS)
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
        return {"docs": found.docs, "next": found.has_next_page, "prev": found.has_previous_page}

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

    return Page(
        docs=cached["docs"],
        sort_field=sort_field,
        has_next_page=cached["next"],
        has_previous_page=cached["prev"],
        count=count,
    )


# --- administering users ---------------------------------------------------------------


async def _update_user(
    res: Resources,
    actor: Actor | None,
    user_id: ObjectId,
    changes: dict[str, Any],
    *,
    action: str,
    request_id: str | None,
    system: str | None = None,
) -> Document:
    """Apply `changes` in a transaction that refuses to leave no active admin.

    The guard: a transaction that takes an admin away first writes one shared counter
    document, so two such transactions conflict and run one after the other; the second
    then counts the admins the first left behind (plain count-then-update would let two
    admins demote each other at the same moment)."""

    async def txn(session: AsyncClientSession) -> tuple[Document, Document]:
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
        await audit.record(
            res.db,
            actor,
            action=action,
            entity="user",
            entity_id=user_id,
            before=before,
            after=after,
            session=session,
            request_id=request_id,
            system=system,
        )
        return before, after

    async with res.client.start_session() as session:
        _, after = await session.with_transaction(txn)
    await _bump(res, user_id)
    # This worker applies the new role / deactivation at once; others within
    # session_check_ttl_seconds.
    sessions.session_checks(res).forget_user(str(user_id))
    return after


async def set_user_role(
    res: Resources,
    actor: Actor | None,
    user_id: ObjectId,
    role: Role,
    *,
    request_id: str | None = None,
) -> Document:
    """Change a user's role (MANAGE_USERS). Sessions stay; the new role applies to the
    user's next request."""
    _require(actor, Permission.MANAGE_USERS)
    return await _update_user(
        res, actor, user_id, {"role": role.value}, action="setUserRole", request_id=request_id
    )


async def set_user_active(
    res: Resources,
    actor: Actor | None,
    user_id: ObjectId,
    active: bool,
    *,
    request_id: str | None = None,
) -> Document:
    """(De)activate a user (MANAGE_USERS). Deactivation also revokes all their sessions."""
    _require(actor, Permission.MANAGE_USERS)
    after = await _update_user(
        res, actor, user_id, {"active": active}, action="setUserActive", request_id=request_id
    )
    if not active:
        await sessions.revoke_user_sessions(res, user_id, reason="deactivated")
    return after


class AdminEmailTaken(Conflict):
    """The admin e-mail belongs to an account that is not an active admin. Creating an admin
    never takes such an account over: it may have been registered by someone else (who then
    holds its password), or be an admin who was demoted or deactivated on purpose."""

    def __init__(self, existing: Document) -> None:
        state = "active" if existing.get("active", True) else "deactivated"
        super().__init__(
            f"{existing['email']} belongs to an existing account that is not an active admin "
            f"({state} {existing['role']}); it was left unchanged (not promoted, not "
            "reactivated, password untouched). "
            f"If it is yours, run `alawael promote-admin --email {existing['email']}`.",
            field="email",
        )
        self.existing = existing


async def create_admin(res: Resources, email: str, password: str, name: str) -> Document:
    """Create an admin account; an active admin with this e-mail is returned unchanged
    (idempotent, so every start and every worker may call it; the unique e-mail index lets
    exactly one concurrent insert win). Any other account with the e-mail raises
    AdminEmailTaken: only `promote_admin`, an explicit operator action, changes it."""
    email = validate_email(email)
    passwords.check_policy(password, email)
    name = validate_name(name)
    existing = await res.db.users.find_one({"email": email}, PUBLIC)
    if existing is None:
        try:
            return await create_user(
                res,
                None,
                email=email,
                password=password,
                name=name,
                role=Role.ADMIN,
                action="createAdmin",
            )
        except Conflict:
            existing = await res.db.users.find_one({"email": email}, PUBLIC)
            if existing is None:
                raise
    if existing["role"] == Role.ADMIN.value and existing.get("active", True):
        return existing
    raise AdminEmailTaken(existing)


async def promote_admin(
    res: Resources, email: str, *, by: str = "cli"
) -> tuple[Document, Document | None]:
    """Make the existing account with this e-mail an active ADMIN; its password stays its
    own. An operator's action (the CLI), never reachable from a network door: it takes no
    Actor, and the audit entry names `by` as the actor. Returns (after, before), before None
    when the account already was an active admin (nothing changed, nothing audited)."""
    email = validate_email(email)
    existing = await res.db.users.find_one({"email": email}, PUBLIC)
    if existing is None:
        raise NotFound(f"No account with the email {email}.", field="email")
    if existing["role"] == Role.ADMIN.value and existing.get("active", True):
        return existing, None
    after = await _update_user(
        res,
        None,
        existing["_id"],
        {"role": Role.ADMIN.value, "active": True},
        action="promoteAdmin",
        request_id=None,
        system=by,
    )
    return after, existing

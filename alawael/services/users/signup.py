"""Creating accounts: sign-up, staff and admin creation, and the operator's promotion."""

from __future__ import annotations

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from alawael.auth import passwords
from alawael.auth.permissions import Actor, Role
from alawael.infra.clock import utcnow
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.records.users import UserRecord
from alawael.services import search
from alawael.services.audited import Author, Change, audited_write
from alawael.services.users.admin import update_user
from alawael.services.users.validation import (
    PUBLIC,
    user_scopes,
    validate_email,
    validate_name,
    validate_phone,
)
from alawael.shared.errors import Conflict, NotFound

EMAIL_TAKEN = "An account with this email already exists."


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
) -> UserRecord:
    """Validate and insert a user (and its audit entry, in one transaction)."""
    email = validate_email(email)
    name = validate_name(name)
    phone = validate_phone(phone)
    passwords.check_policy(password, email)
    # A cheap look first gives a clear CONFLICT without paying for a hash; the unique index
    # on email still decides races between concurrent sign-ups.
    if await res.db.users.find_one({"email": email}, {"_id": 1}) is not None:
        raise Conflict(EMAIL_TAKEN, field="email")
    doc = new_user_doc(
        email, name, phone, role, await passwords.hash_password(res.settings, password)
    )
    # Sign-up is done by the new user; the CLI and bootstrap by the system (None).
    who = Actor(user_id=str(doc["_id"]), role=role) if audit_as_self else actor
    return await insert_user(res, Author(who, request_id), doc, action=action)


def new_user_doc(
    email: str,
    name: str,
    phone: str | None,
    role: Role,
    password_hash: str | None,
    **extra: object,
) -> Document:
    """A new user's document from validated fields (`password_hash` None: an invited account
    that has no password yet)."""
    now = utcnow()
    return {
        "_id": ObjectId(),
        "email": email,
        "name": name,
        "phone": phone,
        "role": role.value,
        "active": True,
        "passwordHash": password_hash,
        **extra,
        "createdAt": now,
        "updatedAt": now,
    }


async def insert_user(res: Resources, author: Author, doc: Document, *, action: str) -> UserRecord:
    """Insert a new user with its search keys and its audit entry (without the hash) in one
    transaction; a taken e-mail is CONFLICT (the unique index decides races)."""
    public = {k: v for k, v in doc.items() if k != "passwordHash"}

    async def change(session: AsyncClientSession) -> Change[None]:
        try:
            await res.db.users.insert_one({**doc, **search.user_keys(doc)}, session=session)
        except DuplicateKeyError as exc:
            raise Conflict(EMAIL_TAKEN, field="email") from exc
        return Change(None, doc["_id"], before=None, after=public)

    await audited_write(
        res, author, action=action, entity="user", change=change, scopes=user_scopes(doc["_id"])
    )
    return UserRecord.from_doc(public)


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


async def create_admin(res: Resources, email: str, password: str, name: str) -> UserRecord:
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
        return UserRecord.from_doc(existing)
    raise AdminEmailTaken(existing)


async def promote_admin(
    res: Resources, email: str, *, by: str = "cli"
) -> tuple[UserRecord, UserRecord | None]:
    """Make the existing account with this e-mail an active ADMIN; its password stays its
    own. An operator's action (the CLI), never reachable from a network door: it takes no
    Actor, and the audit entry names `by` as the actor. Returns (after, before), before None
    when the account already was an active admin (nothing changed, nothing audited)."""
    email = validate_email(email)
    existing = await res.db.users.find_one({"email": email}, PUBLIC)
    if existing is None:
        raise NotFound(f"No account with the email {email}.", field="email")
    if existing["role"] == Role.ADMIN.value and existing.get("active", True):
        return UserRecord.from_doc(existing), None
    after = await update_user(
        res,
        None,
        existing["_id"],
        {"role": Role.ADMIN.value, "active": True},
        action="promoteAdmin",
        request_id=None,
        system=by,
    )
    return after, UserRecord.from_doc(existing)

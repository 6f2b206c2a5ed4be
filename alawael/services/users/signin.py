"""Signing in and out: login, token refresh, logout, and the session each starts."""

from __future__ import annotations

from dataclasses import dataclass

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from alawael.auth import passwords, sessions
from alawael.auth.permissions import Actor, Role
from alawael.auth.throttle import login_throttle
from alawael.auth.tokens import issue_access_token
from alawael.infra.http import UNKNOWN as UNKNOWN_IP
from alawael.infra.resources import Resources
from alawael.records.users import UserRecord
from alawael.services.audited import Author, Change, audited_write, record_audit
from alawael.services.users.signup import create_user
from alawael.services.users.validation import PUBLIC, normalize_email
from alawael.shared.errors import Unauthenticated

INVALID_LOGIN = "Invalid email or password."


@dataclass(frozen=True)
class AuthResult:
    user: UserRecord
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token is valid


async def _start_session(
    res: Resources,
    user: UserRecord,
    *,
    ip: str | None,
    user_agent: str | None,
    action: str,
    request_id: str | None,
) -> AuthResult:
    sid = ObjectId()
    actor = Actor(user_id=str(user.id), role=user.role, session_id=str(sid))

    async def change(session: AsyncClientSession) -> Change[str]:
        doc, refresh = await sessions.create_session(
            res, user.id, user_agent=user_agent, ip=ip, sid=sid, session=session
        )
        # The audit recorder drops refreshHash/previousHashes.
        return Change(refresh, sid, before=None, after=doc)

    refresh = await audited_write(
        res, Author(actor, request_id), action=action, entity="session", change=change
    )
    access = issue_access_token(
        res.settings, user_id=actor.user_id, role=user.role, session_id=str(sid)
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
        res,
        UserRecord.from_doc(public),
        ip=ip,
        user_agent=user_agent,
        action="login",
        request_id=request_id,
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
    # The rotation itself is one atomic update (see sessions.rotate_session); its audit
    # entry follows it, as a record of a change already made.
    await record_audit(
        res,
        Author(actor, request_id),
        action="refreshToken",
        entity="session",
        entity_id=session["_id"],
        after={"lastUsedAt": session["lastUsedAt"], "ip": ip},
    )
    return AuthResult(
        UserRecord.from_doc(user), access, new_refresh, res.settings.access_token_ttl_seconds
    )


async def logout(res: Resources, actor: Actor | None, *, request_id: str | None = None) -> bool:
    """Revoke the caller's current session (its refresh token and, within seconds, its
    access tokens)."""
    if actor is None:
        raise Unauthenticated()
    if actor.session_id is None:
        return False
    sid = ObjectId(actor.session_id)

    async def change(session: AsyncClientSession) -> Change[bool]:
        revoked = await sessions.revoke_session(res, sid, reason="logout", session=session)
        return Change(revoked, sid, before={"revoked": not revoked}, after={"revoked": True})

    revoked = await audited_write(
        res, Author(actor, request_id), action="logout", entity="session", change=change
    )
    sessions.session_checks(res).forget(str(sid))
    return revoked


async def logout_all(res: Resources, actor: Actor | None, *, request_id: str | None = None) -> int:
    """Revoke every session of the caller; returns how many were live."""
    if actor is None:
        raise Unauthenticated()
    uid = ObjectId(actor.user_id)

    async def change(session: AsyncClientSession) -> Change[int]:
        count = await sessions.revoke_user_sessions(res, uid, reason="logout-all", session=session)
        return Change(count, uid, before=None, after={"revokedSessions": count})

    count = await audited_write(
        res, Author(actor, request_id), action="logoutAll", entity="user", change=change
    )
    sessions.session_checks(res).forget_user(str(uid))
    return count

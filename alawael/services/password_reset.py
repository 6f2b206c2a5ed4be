"""Password reset by e-mail: ask for a link, then set a new password with it.

`request_password_reset` answers the same whatever the address (unknown, deactivated,
throttled or fine): the caller learns nothing about who has an account. Timing does not
tell either: the request does the same work in every case (throttles, one user lookup by
the e-mail index); issuing the token, the audit entry and sending run afterwards in the
worker's mail sender (alawael.infra.mail).

Throttles: every request pays the per-IP auth budget (RATE_LIMIT_AUTH, the login one), and
each address gets at most PASSWORD_RESET_PER_EMAIL mails; requests past that are answered
as usual and send nothing, so nobody can flood someone's inbox.
"""

from __future__ import annotations

import hashlib
import logging

from bson import ObjectId
from limits import parse
from limits.errors import StorageError
from pymongo.asynchronous.client_session import AsyncClientSession

from alawael.auth import passwords, sessions
from alawael.auth.throttle import login_throttle
from alawael.infra.clock import utcnow
from alawael.infra.http import UNKNOWN as UNKNOWN_IP
from alawael.infra.mail import Mail, send_composed
from alawael.infra.resources import Resources
from alawael.records.users import UserRecord
from alawael.services.account_mail import link, password_reset_mail
from alawael.services.account_tokens import (
    INVALID_LINK,
    Purpose,
    issue_token,
    peek_token,
    spend_token,
)
from alawael.services.audited import Author, Change, audited_write
from alawael.services.users import normalize_email, user_scopes
from alawael.shared.errors import BadUserInput
from alawael.shared.locale import locale_of

log = logging.getLogger("alawael.security")

ACCEPTED = "If an account with this email exists, a link to reset its password is on its way."
RESET_PATH = "reset-password"


async def _email_allowed(res: Resources, email: str) -> bool:
    """One unit of the address's mail budget (shared limiter and storage of the login
    throttle). Storage down: allowed (the per-IP budget still applies)."""
    if not res.settings.rate_limit_enabled:
        return True
    throttle = login_throttle(res)
    key = hashlib.sha256(email.encode()).hexdigest()[:32]
    try:
        return await throttle.limiter.hit(
            parse(res.settings.password_reset_per_email), "password-reset", key
        )
    except StorageError:
        return True


async def request_password_reset(
    res: Resources,
    *,
    email: str,
    ip: str | None = None,
    request_id: str | None = None,
) -> str:
    """Queue a reset mail if `email` belongs to an active account; returns the message to
    show, the same in every case."""
    await login_throttle(res).charge_call(ip or UNKNOWN_IP)
    address = normalize_email(email)
    if not address or len(address) > 254:
        return ACCEPTED
    if not await _email_allowed(res, address):
        log.warning("password reset mails for one address throttled", extra={"ip": ip})
        return ACCEPTED
    user = await res.db.users.find_one({"email": address}, {"passwordHash": 0})
    if user is None or not user.get("active", True):
        return ACCEPTED

    async def compose() -> Mail:
        # In the mail sender, after the answer: the token insert and the audit entry would
        # otherwise make answers for existing accounts measurably slower.
        async def change(session: AsyncClientSession) -> Change[str]:
            token = await issue_token(res, user["_id"], Purpose.PASSWORD_RESET, session=session)
            return Change(token, user["_id"], before=None, after={"ip": ip})

        token = await audited_write(
            res,
            Author(None, request_id, system="password-reset"),
            action="requestPasswordReset",
            entity="user",
            change=change,
        )
        return password_reset_mail(
            locale=locale_of(user),
            to=user["email"],
            name=user.get("name", ""),
            url=link(res.settings.public_app_url, RESET_PATH, token),
            minutes=res.settings.password_reset_ttl_seconds // 60,
        )

    send_composed(res, "password-reset", compose)
    return ACCEPTED


async def set_password_with_token(
    res: Resources,
    *,
    token: str,
    password: str,
    purpose: Purpose,
    ip: str | None,
    request_id: str | None,
) -> UserRecord:
    """The common part of resetPassword and acceptInvitation: check the link, check the
    password policy (before spending the link), spend it, set the password, revoke every
    session. Returns the user (without hash)."""
    await login_throttle(res).charge_call(ip or UNKNOWN_IP)
    live = await peek_token(res, token, purpose)
    found = await res.db.users.find_one({"_id": live["userId"]})
    if found is None or not found.get("active", True):
        raise BadUserInput("This account is not active.", field="token")
    if purpose is Purpose.INVITATION and found.get("passwordHash"):
        # An invitation only sets the first password: a week-old invitation found in a
        # mailbox is no 7-day reset link for an account already in use.
        raise BadUserInput(INVALID_LINK, field="token")
    user = {k: v for k, v in found.items() if k != "passwordHash"}
    passwords.check_policy(password, user["email"])
    new_hash = await passwords.hash_password(res.settings, password)
    action = "resetPassword" if purpose is Purpose.PASSWORD_RESET else "acceptInvitation"

    async def change(session: AsyncClientSession) -> Change[ObjectId]:
        # Spending the link, the new password and the end of every session commit together:
        # a link is never spent without its password taking effect, nor the reverse.
        uid: ObjectId = await spend_token(res, token, purpose, session=session)
        await res.db.users.update_one(
            {"_id": uid},
            {"$set": {"passwordHash": new_hash, "updatedAt": utcnow()}},
            session=session,
        )
        revoked = await sessions.revoke_user_sessions(
            res, uid, reason=purpose.value, session=session
        )
        after = {"passwordChanged": True, "revokedSessions": revoked, "ip": ip}
        return Change(uid, uid, before=None, after=after)

    uid = await audited_write(
        res,
        Author(None, request_id, system=purpose.value),
        action=action,
        entity="user",
        change=change,
        scopes=lambda uid: user_scopes(uid),
    )
    sessions.session_checks(res).forget_user(str(uid))
    return UserRecord.from_doc(user)


async def reset_password(
    res: Resources,
    *,
    token: str,
    new_password: str,
    ip: str | None = None,
    request_id: str | None = None,
) -> UserRecord:
    """Set a new password with a reset link; every session of the user is revoked."""
    return await set_password_with_token(
        res,
        token=token,
        password=new_password,
        purpose=Purpose.PASSWORD_RESET,
        ip=ip,
        request_id=request_id,
    )

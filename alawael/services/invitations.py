"""Staff accounts without self-registration: an admin creates the account, the person sets
their own password through an invitation link (7 days, INVITATION_TTL_SECONDS).

The account exists at once (it can be given a role, listed, deactivated) but has no
password, so nobody can sign in to it until the invitation is accepted: login against a
missing hash fails like a wrong password (alawael.auth.passwords verifies a dummy hash).
"""

from __future__ import annotations

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from alawael.auth.permissions import Actor, Permission, Role, require
from alawael.infra.clock import utcnow
from alawael.infra.db import Document
from alawael.infra.mail import send_later
from alawael.infra.resources import Resources
from alawael.records.users import UserRecord
from alawael.services import search
from alawael.services.account_mail import invitation_mail, link
from alawael.services.account_tokens import Purpose, issue_token
from alawael.services.audited import Author, Change, audited_write
from alawael.services.password_reset import set_password_with_token
from alawael.services.users import user_scopes, validate_email, validate_name, validate_phone
from alawael.shared.errors import BadUserInput, Conflict
from alawael.shared.locale import DEFAULT_LOCALE, Locale, is_locale

INVITATION_PATH = "accept-invitation"
TAKEN = "An account with this email already exists."


async def invite_user(
    res: Resources,
    actor: Actor | None,
    *,
    email: str,
    name: str,
    role: Role,
    locale: str = DEFAULT_LOCALE.value,
    phone: str | None = None,
    request_id: str | None = None,
) -> UserRecord:
    """Create an account without a password (users:manage) and mail its owner an
    invitation; returns the user."""
    actor = require(actor, Permission.MANAGE_USERS)
    email = validate_email(email)
    name = validate_name(name)
    phone = validate_phone(phone)
    if not is_locale(locale):
        raise BadUserInput("Locale must be `en` or `ar`.", field="locale")
    now = utcnow()
    doc: Document = {
        "_id": ObjectId(),
        "email": email,
        "name": name,
        "phone": phone,
        "role": role.value,
        "active": True,
        "locale": locale,
        "passwordHash": None,
        "invitedBy": ObjectId(actor.user_id),
        "createdAt": now,
        "updatedAt": now,
    }
    public = {k: v for k, v in doc.items() if k != "passwordHash"}

    async def change(session: AsyncClientSession) -> Change[None]:
        try:
            await res.db.users.insert_one({**doc, **search.user_keys(doc)}, session=session)
        except DuplicateKeyError as exc:
            raise Conflict(TAKEN, field="email") from exc
        return Change(None, doc["_id"], before=None, after=public)

    await audited_write(
        res,
        Author(actor, request_id),
        action="createUser",
        entity="user",
        change=change,
        scopes=user_scopes(doc["_id"]),
    )
    token = await issue_token(res, doc["_id"], Purpose.INVITATION)
    send_later(
        res,
        invitation_mail(
            locale=Locale(locale),
            to=email,
            name=name,
            url=link(res.settings.public_app_url, INVITATION_PATH, token),
            days=max(1, res.settings.invitation_ttl_seconds // 86_400),
        ),
    )
    return UserRecord.from_doc(public)


async def accept_invitation(
    res: Resources,
    *,
    token: str,
    password: str,
    ip: str | None = None,
    request_id: str | None = None,
) -> UserRecord:
    """Set the first password of an invited account; the link then stops working."""
    return await set_password_with_token(
        res,
        token=token,
        password=password,
        purpose=Purpose.INVITATION,
        ip=ip,
        request_id=request_id,
    )

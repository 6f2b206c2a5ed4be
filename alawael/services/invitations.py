"""Staff accounts without self-registration: an admin creates the account, the person sets
their own password through an invitation link (7 days, INVITATION_TTL_SECONDS).

The account exists at once (it can be given a role, listed, deactivated) but has no
password, so nobody can sign in to it until the invitation is accepted: login against a
missing hash fails like a wrong password (alawael.auth.passwords verifies a dummy hash).
"""

from __future__ import annotations

from bson import ObjectId

from alawael.auth.permissions import Actor, Permission, Role, require
from alawael.infra.mail import send_later
from alawael.infra.resources import Resources
from alawael.records.users import UserRecord
from alawael.services.account_mail import invitation_mail, link
from alawael.services.account_tokens import Purpose, issue_token
from alawael.services.audited import Author
from alawael.services.password_reset import set_password_with_token
from alawael.services.users import validate_email, validate_name, validate_phone
from alawael.services.users.signup import insert_user, new_user_doc
from alawael.shared.errors import BadUserInput
from alawael.shared.locale import DEFAULT_LOCALE, Locale, is_locale

INVITATION_PATH = "accept-invitation"


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
    doc = new_user_doc(
        email, name, phone, role, None, locale=locale, invitedBy=ObjectId(actor.user_id)
    )
    user = await insert_user(res, Author(actor, request_id), doc, action="createUser")
    token = await issue_token(res, user.id, Purpose.INVITATION)
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
    return user


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

"""Account self-service over REST, the same services as GraphQL's updateMe, changePassword,
requestPasswordReset, resetPassword, createUser and acceptInvitation."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from alawael.auth.permissions import Permission, Role
from alawael.rest.models import Body, Out, UserOut
from alawael.rest.routing import Call, endpoint
from alawael.services import invitations, password_reset, self_service
from alawael.shared.errors import Unauthenticated
from alawael.shared.locale import Locale

TAG = "Account"
TOKEN_DOC = "The `token` parameter of the link in the mail."


class UpdateMeBody(Body):
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40, description="null clears it.")
    locale: Locale | None = Field(default=None, description="Language of your mails.")


class ChangePasswordBody(Body):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(
        max_length=1024, description="At least 10 characters, not containing the email."
    )


class PasswordResetBody(Body):
    email: str = Field(max_length=254)


class PasswordResetConfirmBody(Body):
    token: str = Field(max_length=128, description=TOKEN_DOC)
    new_password: str = Field(
        max_length=1024, description="At least 10 characters, not containing the email."
    )


class AcceptInvitationBody(Body):
    token: str = Field(max_length=128, description=TOKEN_DOC)
    password: str = Field(
        max_length=1024, description="At least 10 characters, not containing the email."
    )


class CreateUserBody(Body):
    email: str = Field(max_length=254)
    name: str = Field(max_length=200)
    role: Role
    locale: Locale = Locale.EN
    phone: str | None = Field(default=None, max_length=40)


class ChangePasswordOut(Out):
    revoked_sessions: int = Field(description="How many other sessions were signed out.")


class AcceptedOut(Out):
    message: str = Field(description="The same whether or not the address has an account.")


class DoneOut(Out):
    success: bool


@endpoint(
    "PATCH",
    "/api/users/me",
    summary="Change your own name, phone or locale",
    tag=TAG,
    access="user",
    body=UpdateMeBody,
    response=UserOut,
)
async def update_me(call: Call) -> UserOut:
    """Only the fields present in the body change; `"phone": null` clears the phone."""
    body = call.body_as(UpdateMeBody)
    changes: dict[str, Any] = {
        key: getattr(body, key) for key in body.model_fields_set if key in self_service.EDITABLE
    }
    if isinstance(changes.get("locale"), Locale):
        changes["locale"] = changes["locale"].value
    doc = await self_service.update_me(call.res, call.actor, changes, request_id=call.request_id)
    return UserOut.from_record(doc)


@endpoint(
    "POST",
    "/api/auth/password",
    summary="Change your password (every other session is signed out)",
    tag=TAG,
    access="user",
    body=ChangePasswordBody,
    response=ChangePasswordOut,
)
async def change_password(call: Call) -> ChangePasswordOut:
    """A wrong current password is a 422 on `currentPassword` and counts as a failed login
    (repeated failures are a 429). This session stays signed in."""
    if call.actor is None:  # pragma: no cover - the access check ran first
        raise Unauthenticated()
    body = call.body_as(ChangePasswordBody)
    revoked = await self_service.change_password(
        call.res,
        call.actor,
        current_password=body.current_password,
        new_password=body.new_password,
        ip=call.client["ip"],
        request_id=call.request_id,
    )
    return ChangePasswordOut(revoked_sessions=revoked)


@endpoint(
    "POST",
    "/api/auth/password-reset",
    summary="Mail a password-reset link",
    tag=TAG,
    access="anonymous",
    body=PasswordResetBody,
    response=AcceptedOut,
    status=202,
)
async def request_password_reset(call: Call) -> AcceptedOut:
    """Always 202 with the same message (no account enumeration); the link is valid 30
    minutes and works once. Throttled per IP (429) and per address (silently)."""
    body = call.body_as(PasswordResetBody)
    message = await password_reset.request_password_reset(
        call.res, email=body.email, ip=call.client["ip"], request_id=call.request_id
    )
    return AcceptedOut(message=message)


@endpoint(
    "POST",
    "/api/auth/password-reset/confirm",
    summary="Set a new password with a reset token",
    tag=TAG,
    access="anonymous",
    body=PasswordResetConfirmBody,
    response=DoneOut,
)
async def confirm_password_reset(call: Call) -> DoneOut:
    """Every session of the account is revoked. A bad, used or expired token is a 422 on
    `token`."""
    body = call.body_as(PasswordResetConfirmBody)
    await password_reset.reset_password(
        call.res,
        token=body.token,
        new_password=body.new_password,
        ip=call.client["ip"],
        request_id=call.request_id,
    )
    return DoneOut(success=True)


@endpoint(
    "POST",
    "/api/users",
    summary="Create an account and mail its owner an invitation (admins)",
    tag=TAG,
    access=Permission.MANAGE_USERS,
    body=CreateUserBody,
    response=UserOut,
    status=201,
    errors=(409,),
)
async def create_user(call: Call) -> UserOut:
    """The account has no password until the invitation link (valid 7 days) is used."""
    body = call.body_as(CreateUserBody)
    doc = await invitations.invite_user(
        call.res,
        call.actor,
        email=body.email,
        name=body.name,
        role=body.role,
        locale=body.locale.value,
        phone=body.phone,
        request_id=call.request_id,
    )
    return UserOut.from_record(doc)


@endpoint(
    "POST",
    "/api/auth/invitation/accept",
    summary="Set the first password of an invited account",
    tag=TAG,
    access="anonymous",
    body=AcceptInvitationBody,
    response=DoneOut,
)
async def accept_invitation(call: Call) -> DoneOut:
    """A bad, used or expired token (or an account that already has a password) is a 422
    on `token`."""
    body = call.body_as(AcceptInvitationBody)
    await invitations.accept_invitation(
        call.res,
        token=body.token,
        password=body.password,
        ip=call.client["ip"],
        request_id=call.request_id,
    )
    return DoneOut(success=True)

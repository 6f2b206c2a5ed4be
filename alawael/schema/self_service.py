"""Account self-service: updateMe, changePassword, the password-reset pair, and staff
invitations (createUser / acceptInvitation). Types here; the resolvers in
alawael.resolvers.self_service only translate."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from alawael.auth.permissions import Permission
from alawael.auth.permissions import Role as RoleValue
from alawael.context import Context
from alawael.resolvers import self_service as r
from alawael.schema.errors import UserError, run_mutation
from alawael.schema.permissions import HasPermission, IsAuthenticated
from alawael.schema.users import User
from alawael.shared.locale import Locale


@strawberry.type
class UpdateMePayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ChangePasswordPayload:
    revoked_sessions: int = strawberry.field(
        default=0, description="How many other sessions were signed out."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RequestPasswordResetPayload:
    message: str = strawberry.field(
        default="", description="The same text whether or not the address has an account."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ResetPasswordPayload:
    success: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AcceptInvitationPayload:
    success: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateUserPayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _given(**values: Any) -> dict[str, Any]:
    """Only the arguments the client sent: an omitted one stays as it is, null clears."""
    return {
        k: (v.value if isinstance(v, Locale) else v)
        for k, v in values.items()
        if v is not strawberry.UNSET
    }


@strawberry.type
class SelfServiceMutation:
    @strawberry.mutation(
        description="Change your own name, phone (null clears it) and/or locale; omitted "
        "arguments stay as they are.",
        permission_classes=[IsAuthenticated],
    )
    async def update_me(
        self,
        info: Info[Context, None],
        name: str | None = strawberry.UNSET,
        phone: str | None = strawberry.UNSET,
        locale: Locale | None = strawberry.UNSET,
    ) -> UpdateMePayload:
        async def action() -> dict[str, Any]:
            changes = _given(name=name, phone=phone, locale=locale)
            return {"user": User.from_record(await r.update_me(info, changes))}

        return await run_mutation(UpdateMePayload, action)

    @strawberry.mutation(
        description="Change your password. A wrong current password is a BAD_USER_INPUT "
        "error on `currentPassword` (and counts as a failed login). Every other session is "
        "revoked; this one stays signed in.",
        permission_classes=[IsAuthenticated],
    )
    async def change_password(
        self, info: Info[Context, None], current_password: str, new_password: str
    ) -> ChangePasswordPayload:
        async def action() -> dict[str, Any]:
            revoked = await r.change_password(info, current_password, new_password)
            return {"revoked_sessions": revoked}

        return await run_mutation(ChangePasswordPayload, action)

    @strawberry.mutation(
        description="Mail a password-reset link (valid 30 minutes, single use) if the address "
        "has an active account. The answer is the same in every case."
    )
    async def request_password_reset(
        self, info: Info[Context, None], email: str
    ) -> RequestPasswordResetPayload:
        async def action() -> dict[str, Any]:
            return {"message": await r.request_password_reset(info, email)}

        return await run_mutation(RequestPasswordResetPayload, action)

    @strawberry.mutation(
        description="Set a new password with the token from a reset mail; every session of "
        "the account is revoked. A bad, used or expired token is BAD_USER_INPUT on `token`."
    )
    async def reset_password(
        self, info: Info[Context, None], token: str, new_password: str
    ) -> ResetPasswordPayload:
        async def action() -> dict[str, Any]:
            await r.reset_password(info, token, new_password)
            return {"success": True}

        return await run_mutation(ResetPasswordPayload, action)

    @strawberry.mutation(
        description="Create a staff (or any role) account without a password (users:manage) "
        "and mail its owner an invitation link (valid 7 days) to set one.",
        permission_classes=[HasPermission(Permission.MANAGE_USERS)],
    )
    async def create_user(
        self,
        info: Info[Context, None],
        email: str,
        name: str,
        role: RoleValue,
        locale: Locale = Locale.EN,
        phone: str | None = None,
    ) -> CreateUserPayload:
        async def action() -> dict[str, Any]:
            user = await r.invite_user(
                info, email=email, name=name, role=role, locale=locale, phone=phone
            )
            return {"user": User.from_record(user)}

        return await run_mutation(CreateUserPayload, action)

    @strawberry.mutation(
        description="Set the first password of an invited account with the invitation token."
    )
    async def accept_invitation(
        self, info: Info[Context, None], token: str, password: str
    ) -> AcceptInvitationPayload:
        async def action() -> dict[str, Any]:
            await r.accept_invitation(info, token, password)
            return {"success": True}

        return await run_mutation(AcceptInvitationPayload, action)

"""Account self-service: updateMe, changePassword, the password-reset pair, and staff
invitations (createUser / acceptInvitation). Resolvers only translate; the rules live in
alawael.services.self_service, .password_reset and .invitations (shared with REST)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from alawael.auth.current import client_ip
from alawael.auth.permissions import Permission
from alawael.auth.permissions import Role as RoleValue
from alawael.context import Context
from alawael.schema.errors import UserError, run_mutation
from alawael.schema.permissions import HasPermission, IsAuthenticated
from alawael.schema.users import User
from alawael.services import invitations, password_reset, self_service
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


def _ip(info: Info[Context, None]) -> str:
    request = info.context.request
    return client_ip(request, info.context.settings) if request is not None else "unknown"


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
            doc = await self_service.update_me(
                info.context.resources,
                info.context.user,
                changes,
                request_id=info.context.request_id,
            )
            return {"user": User.from_doc(doc)}

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
            revoked = await self_service.change_password(
                info.context.resources,
                info.context.user,
                current_password=current_password,
                new_password=new_password,
                ip=_ip(info),
                request_id=info.context.request_id,
            )
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
            message = await password_reset.request_password_reset(
                info.context.resources,
                email=email,
                ip=_ip(info),
                request_id=info.context.request_id,
            )
            return {"message": message}

        return await run_mutation(RequestPasswordResetPayload, action)

    @strawberry.mutation(
        description="Set a new password with the token from a reset mail; every session of "
        "the account is revoked. A bad, used or expired token is BAD_USER_INPUT on `token`."
    )
    async def reset_password(
        self, info: Info[Context, None], token: str, new_password: str
    ) -> ResetPasswordPayload:
        async def action() -> dict[str, Any]:
            await password_reset.reset_password(
                info.context.resources,
                token=token,
                new_password=new_password,
                ip=_ip(info),
                request_id=info.context.request_id,
            )
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
            doc = await invitations.invite_user(
                info.context.resources,
                info.context.user,
                email=email,
                name=name,
                role=role,
                locale=locale.value,
                phone=phone,
                request_id=info.context.request_id,
            )
            return {"user": User.from_doc(doc)}

        return await run_mutation(CreateUserPayload, action)

    @strawberry.mutation(
        description="Set the first password of an invited account with the invitation token."
    )
    async def accept_invitation(
        self, info: Info[Context, None], token: str, password: str
    ) -> AcceptInvitationPayload:
        async def action() -> dict[str, Any]:
            await invitations.accept_invitation(
                info.context.resources,
                token=token,
                password=password,
                ip=_ip(info),
                request_id=info.context.request_id,
            )
            return {"success": True}

        return await run_mutation(AcceptInvitationPayload, action)

"""Account self-service resolvers: GraphQL arguments in, service calls, records out. The
rules live in alawael.services.self_service, .password_reset and .invitations (shared with
REST)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strawberry.types import Info

from alawael.auth.current import client_ip
from alawael.auth.permissions import Role
from alawael.records.users import UserRecord
from alawael.services import invitations, password_reset, self_service
from alawael.shared.locale import Locale


def _ip(info: Info) -> str:
    request = info.context.request
    return client_ip(request, info.context.settings) if request is not None else "unknown"


async def update_me(info: Info, changes: Mapping[str, Any]) -> UserRecord:
    ctx = info.context
    return await self_service.update_me(ctx.resources, ctx.user, changes, request_id=ctx.request_id)


async def change_password(info: Info, current_password: str, new_password: str) -> int:
    ctx = info.context
    return await self_service.change_password(
        ctx.resources,
        ctx.user,
        current_password=current_password,
        new_password=new_password,
        ip=_ip(info),
        request_id=ctx.request_id,
    )


async def request_password_reset(info: Info, email: str) -> str:
    return await password_reset.request_password_reset(
        info.context.resources, email=email, ip=_ip(info), request_id=info.context.request_id
    )


async def reset_password(info: Info, token: str, new_password: str) -> UserRecord:
    return await password_reset.reset_password(
        info.context.resources,
        token=token,
        new_password=new_password,
        ip=_ip(info),
        request_id=info.context.request_id,
    )


async def invite_user(
    info: Info, *, email: str, name: str, role: Role, locale: Locale, phone: str | None
) -> UserRecord:
    ctx = info.context
    return await invitations.invite_user(
        ctx.resources,
        ctx.user,
        email=email,
        name=name,
        role=role,
        locale=locale.value,
        phone=phone,
        request_id=ctx.request_id,
    )


async def accept_invitation(info: Info, token: str, password: str) -> UserRecord:
    return await invitations.accept_invitation(
        info.context.resources,
        token=token,
        password=password,
        ip=_ip(info),
        request_id=info.context.request_id,
    )

"""Feature-flag resolvers: GraphQL arguments in, service calls, records out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bson import ObjectId
from strawberry.types import Info

from alawael.auth.permissions import Role
from alawael.records.flags import FlagRecord
from alawael.services import flags
from alawael.services.pagination import Page, PageArgs
from alawael.shared.ids import from_global_id


class SetFeatureFlagInput(Protocol):
    """The shape read from alawael.schema.flags' input (declared here: no import cycle)."""

    @property
    def key(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def rollout_percentage(self) -> int: ...
    @property
    def allowed_roles(self) -> Sequence[Role]: ...
    @property
    def allowed_user_ids(self) -> Sequence[str]: ...


async def flag_node(info: Info, oid: ObjectId) -> FlagRecord | None:
    if not flags.sees_definitions(info.context.user):
        return None  # no read at all for those who may not see definitions
    loaded: FlagRecord | None = await info.context.loaders.feature_flag_by_id.load(oid)
    return flags.visible_definition(info.context.user, loaded)


async def flags_page(info: Info, args: PageArgs) -> Page[FlagRecord]:
    return await flags.list_flags(info.context.resources, info.context.user, args)


async def evaluate_flag(info: Info, key: str) -> bool:
    return await flags.evaluate_flag(info.context.resources, info.context.user, key)


async def evaluate_all(info: Info) -> list[tuple[str, bool]]:
    return await flags.evaluate_all(info.context.resources, info.context.user)


async def set_flag(info: Info, data: SetFeatureFlagInput) -> FlagRecord:
    parsed = flags.FlagInput(
        key=data.key,
        description=data.description,
        enabled=data.enabled,
        rollout_percentage=data.rollout_percentage,
        allowed_roles=data.allowed_roles,
        allowed_user_ids=[
            from_global_id(gid, "User", field="allowedUserIds") for gid in data.allowed_user_ids
        ],
    )
    ctx = info.context
    return await flags.set_feature_flag(ctx.resources, ctx.user, parsed, request_id=ctx.request_id)


async def delete_flag(info: Info, key: str) -> FlagRecord:
    ctx = info.context
    return await flags.delete_feature_flag(ctx.resources, ctx.user, key, request_id=ctx.request_id)

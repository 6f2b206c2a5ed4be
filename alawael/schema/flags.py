"""Feature flags: admin CRUD and per-caller evaluation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from bson import ObjectId
from strawberry.types import Info

from alawael.auth.permissions import Permission
from alawael.auth.permissions import Role as RoleValue
from alawael.records.flags import FlagRecord
from alawael.resolvers import flags as r
from alawael.schema.connection import Connection, build_connection
from alawael.schema.errors import UserError, run_mutation
from alawael.schema.node import Node, register_node, to_global_id
from alawael.schema.permissions import HasPermission
from alawael.schema.users import User
from alawael.services.pagination import PageArgs


@strawberry.type(description="A feature flag's definition (admins only).")
class FeatureFlag(Node):
    key: str
    description: str
    enabled: bool
    rollout_percentage: int = strawberry.field(
        description="0-100: the share of (non-targeted) users who get the flag; each user's "
        "bucket is stable per flag."
    )
    allowed_roles: list[RoleValue] = strawberry.field(
        description="Empty: every role; otherwise only these roles can get the flag."
    )
    allowed_user_ids: list[strawberry.ID] = strawberry.field(
        description="Users who always get the flag while it is enabled (User ids)."
    )
    created_at: datetime
    updated_at: datetime
    _user_oids: strawberry.Private[list[ObjectId]]

    @strawberry.field(description="The users in allowedUserIds (deleted users left out).")
    async def allowed_users(self, info: Info) -> list[User]:
        users = await info.context.loaders.user_by_id.load_many(self._user_oids)
        return [User.from_record(user) for user in users if user is not None]

    @classmethod
    def from_record(cls, f: FlagRecord) -> FeatureFlag:
        return cls(
            id=to_global_id("FeatureFlag", f.id),
            key=f.key,
            description=f.description,
            enabled=f.enabled,
            rollout_percentage=f.rollout_percentage,
            allowed_roles=list(f.allowed_roles),
            allowed_user_ids=[to_global_id("User", oid) for oid in f.allowed_user_ids],
            created_at=f.created_at,
            updated_at=f.updated_at,
            _user_oids=list(f.allowed_user_ids),
        )


@strawberry.type(description="A flag as it applies to the caller.")
class EvaluatedFlag:
    key: str
    enabled: bool


@strawberry.input
class SetFeatureFlagInput:
    key: str = strawberry.field(description="^[a-z][a-z0-9_.-]{1,63}$; creates or replaces.")
    description: str = ""
    enabled: bool = False
    rollout_percentage: int = 100
    allowed_roles: list[RoleValue] = strawberry.field(default_factory=list)
    allowed_user_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.type
class SetFeatureFlagPayload:
    flag: FeatureFlag | None = None
    errors: list[UserError]


@strawberry.type
class DeleteFeatureFlagPayload:
    deleted_key: str | None = None
    errors: list[UserError]


async def _node(info: Info, oid: ObjectId) -> FeatureFlag | None:
    flag = await r.flag_node(info, oid)
    return None if flag is None else FeatureFlag.from_record(flag)


register_node("FeatureFlag", _node)


async def _set(info: Info, data: SetFeatureFlagInput) -> dict[str, Any]:
    return {"flag": FeatureFlag.from_record(await r.set_flag(info, data))}


async def _delete(info: Info, key: str) -> dict[str, Any]:
    return {"deleted_key": (await r.delete_flag(info, key)).key}


@strawberry.type
class FlagsQuery:
    @strawberry.field(
        permission_classes=[HasPermission(Permission.MANAGE_FLAGS)],
        description="Every flag's full definition, ordered by key.",
    )
    async def feature_flags(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[FeatureFlag]:
        page = await r.flags_page(info, PageArgs(first, after, last, before))
        return build_connection(page, FeatureFlag.from_record)

    @strawberry.field(description="One flag evaluated for the caller; unknown flags are off.")
    async def flag(self, info: Info, key: str) -> EvaluatedFlag:
        return EvaluatedFlag(key=key, enabled=await r.evaluate_flag(info, key))

    @strawberry.field(
        description="Every flag evaluated for the caller (a short list: fetch it once at "
        "start-up and re-fetch on the `flags` event)."
    )
    async def evaluated_flags(self, info: Info) -> list[EvaluatedFlag]:
        return [EvaluatedFlag(key=key, enabled=on) for key, on in await r.evaluate_all(info)]


@strawberry.type
class FlagsMutation:
    @strawberry.mutation(
        permission_classes=[HasPermission(Permission.MANAGE_FLAGS)],
        description="Create or replace a feature flag.",
    )
    async def set_feature_flag(
        self, info: Info, input: SetFeatureFlagInput
    ) -> SetFeatureFlagPayload:
        return await run_mutation(SetFeatureFlagPayload, lambda: _set(info, input))

    @strawberry.mutation(
        permission_classes=[HasPermission(Permission.MANAGE_FLAGS)],
        description="Delete a feature flag (NOT_FOUND in errors if there is none).",
    )
    async def delete_feature_flag(self, info: Info, key: str) -> DeleteFeatureFlagPayload:
        return await run_mutation(DeleteFeatureFlagPayload, lambda: _delete(info, key))

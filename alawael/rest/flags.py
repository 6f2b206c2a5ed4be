"""Endpoints 21-22: feature flags (alawael.services.flags)."""

from __future__ import annotations

from alawael.auth.permissions import Permission
from alawael.rest.ids import parse_id
from alawael.rest.models import FlagBody, FlagDefinitionOut, FlagOut
from alawael.rest.routing import Call, endpoint
from alawael.services import flags

TAG = "Feature flags"


@endpoint(
    "GET",
    "/api/feature-flags",
    summary="Every flag, evaluated for the caller",
    tag=TAG,
    access="public",
    response=FlagOut,
    many=True,
)
async def list_feature_flags(call: Call) -> list[FlagOut]:
    """`enabled` says whether each flag is on for the caller (anonymous callers too).
    Admins also get each flag's full `definition`. Not paginated: the list is short."""
    definitions = await flags.flag_definitions(call.res)
    admin = flags.sees_definitions(call.actor)
    return [
        FlagOut(
            key=flag.key,
            enabled=flags.evaluate(flag, call.actor),
            definition=FlagDefinitionOut.from_record(flag) if admin else None,
        )
        for flag in definitions
    ]


@endpoint(
    "PUT",
    "/api/feature-flags/{key}",
    summary="Create or replace a flag (admins)",
    tag=TAG,
    access=Permission.MANAGE_FLAGS,
    body=FlagBody,
    response=FlagOut,
    path_params={"key": "^[a-z][a-z0-9_.-]{1,63}$"},
)
async def set_feature_flag(call: Call) -> FlagOut:
    """The body is the whole definition; fields left out take their defaults."""
    body = call.body_as(FlagBody)
    data = flags.FlagInput(
        key=call.path["key"],
        description=body.description,
        enabled=body.enabled,
        rollout_percentage=body.rollout_percentage,
        allowed_roles=body.allowed_roles,
        allowed_user_ids=[
            parse_id(gid, "User", f"allowedUserIds.{i}")
            for i, gid in enumerate(body.allowed_user_ids)
        ],
    )
    flag = await flags.set_feature_flag(call.res, call.actor, data, request_id=call.request_id)
    return FlagOut(
        key=flag.key,
        enabled=flags.evaluate(flag, call.actor),
        definition=FlagDefinitionOut.from_record(flag),
    )

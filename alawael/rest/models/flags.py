"""REST models of feature flags."""

from __future__ import annotations

from pydantic import (
    Field,
)

from alawael.auth.permissions import Role
from alawael.records.flags import FlagRecord
from alawael.rest.models.common import (
    Body,
    GlobalId,
    Out,
    Timestamp,
)
from alawael.shared.ids import to_global_id

# --- feature flags ---------------------------------------------------------------------


class FlagBody(Body):
    """The whole definition (PUT replaces it); the key is in the path."""

    description: str = Field(default="", max_length=500)
    enabled: bool = False
    rollout_percentage: int = Field(default=100, ge=0, le=100)
    allowed_roles: list[Role] = Field(default_factory=list, max_length=4)
    allowed_user_ids: list[GlobalId] = Field(default_factory=list, max_length=1000)


class FlagDefinitionOut(Out):
    id: str
    key: str
    description: str
    enabled: bool = Field(description="The master switch.")
    rollout_percentage: int
    allowed_roles: list[Role]
    allowed_user_ids: list[str]
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def from_record(cls, f: FlagRecord) -> FlagDefinitionOut:
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
        )


class FlagOut(Out):
    key: str
    enabled: bool = Field(description="Whether the flag is on for the caller.")
    definition: FlagDefinitionOut | None = Field(
        default=None, description="The full definition; admins (flags:manage) only."
    )

"""Audit trail resolver: parse the filter (global ids), call the service."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from bson import ObjectId
from strawberry.types import Info

from alawael.records.audit import AuditRecord
from alawael.services import audit
from alawael.services.pagination import Page, PageArgs
from alawael.shared.errors import BadUserInput
from alawael.shared.ids import from_global_id


class AuditFilterInput(Protocol):
    """What audit_page reads from alawael.schema.audit.AuditFilterInput, declared here so that
    resolvers never import the schema module that imports them (no cycle)."""

    @property
    def user_id(self) -> str | None: ...
    @property
    def entity(self) -> str | None: ...
    @property
    def entity_id(self) -> str | None: ...
    @property
    def from_(self) -> datetime | None: ...
    @property
    def to(self) -> datetime | None: ...


def _entity_id(raw: str) -> Any:
    """A global id, or a raw ObjectId hex, or a plain key (flags are audited by key)."""
    try:
        return from_global_id(raw, field="entityId")
    except BadUserInput:
        return ObjectId(raw) if ObjectId.is_valid(raw) else raw


async def audit_page(
    info: Info, flt: AuditFilterInput | None, first: int | None, after: str | None
) -> Page[AuditRecord]:
    parsed = audit.AuditFilter(
        user_id=from_global_id(flt.user_id, "User", "userId") if flt and flt.user_id else None,
        entity=flt.entity if flt else None,
        entity_id=_entity_id(flt.entity_id) if flt and flt.entity_id else None,
        time_from=flt.from_ if flt else None,
        time_to=flt.to if flt else None,
    )
    ctx = info.context
    res = ctx.resources
    args = PageArgs(first, after)
    return await audit.list_entries(res.db, ctx.user, parsed, args, windowed=res.scan_windows)

"""The audit trail: every mutation records who, what, when, and before/after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from alawael.auth.permissions import Actor, Permission, require
from alawael.infra.clock import utcnow
from alawael.infra.db import Db, Document
from alawael.records.audit import AuditRecord
from alawael.services.pagination import Page, PageArgs, paginate
from alawael.shared.errors import BadUserInput

# Fields never copied into the audit trail.
_SECRET_FIELDS = frozenset({"passwordHash", "refreshHash", "previousHashes"})


def _scrub(doc: Document | None) -> Document | None:
    if doc is None:
        return None
    return {k: v for k, v in doc.items() if k not in _SECRET_FIELDS}


async def record(
    db: Db,
    actor: Actor | None,
    *,
    action: str,
    entity: str,
    entity_id: Any,
    before: Document | None,
    after: Document | None,
    session: AsyncClientSession | None = None,
    request_id: str | None = None,
    system: str | None = None,
) -> None:
    """Write one audit entry. Pass the transaction's `session` so the entry commits (or
    aborts) with the change it describes. `system` names a non-user actor (e.g. "cli"), so
    an operator's action is told apart from one the server did by itself."""
    entry: Document = {
        "userId": ObjectId(actor.user_id) if actor else None,
        "role": actor.role.value if actor else None,
        "action": action,
        "entity": entity,
        "entityId": entity_id,
        "before": _scrub(before),
        "after": _scrub(after),
        "requestId": request_id,
        "timestamp": utcnow(),
    }
    if system is not None:
        entry["actor"] = system
    await db.audit_trail.insert_one(entry, session=session)


@dataclass(frozen=True)
class AuditFilter:
    user_id: ObjectId | None = None
    entity: str | None = None
    entity_id: Any = None
    time_from: datetime | None = None
    time_to: datetime | None = None


async def list_entries(
    db: Db, actor: Actor | None, flt: AuditFilter, args: PageArgs, *, windowed: bool = False
) -> Page[AuditRecord]:
    """Audit entries, newest first (audit:read: declared on the field, re-checked here)."""
    require(actor, Permission.VIEW_AUDIT)
    query: Document = {}
    if flt.user_id is not None:
        query["userId"] = flt.user_id
    if flt.entity:
        query["entity"] = flt.entity
    if flt.entity_id is not None:
        query["entityId"] = flt.entity_id
    if flt.time_from and flt.time_to and flt.time_from > flt.time_to:
        raise BadUserInput("`from` is after `to`.", field="from")
    when: Document = {}
    if flt.time_from is not None:
        when["$gte"] = flt.time_from
    if flt.time_to is not None:
        when["$lt"] = flt.time_to
    if when:
        query["timestamp"] = when
    page = await paginate(
        db, "audit_trail", query, sort_field="timestamp", direction=-1, args=args, windowed=windowed
    )
    return page.map(AuditRecord.from_doc)

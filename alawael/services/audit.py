"""The audit trail: every mutation records who, what, when, and before/after."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from alawael.auth.permissions import Actor
from alawael.db import Db, Document

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
) -> None:
    """Write one audit entry. Pass the transaction's `session` so the entry commits (or
    aborts) with the change it describes."""
    await db.audit_trail.insert_one(
        {
            "userId": ObjectId(actor.user_id) if actor else None,
            "role": actor.role.value if actor else None,
            "action": action,
            "entity": entity,
            "entityId": entity_id,
            "before": _scrub(before),
            "after": _scrub(after),
            "requestId": request_id,
            "timestamp": datetime.now(UTC),
        },
        session=session,
    )

"""Idempotency records: a retried request with the same key returns the first result.

A record is `{_id: "<scope>:<userId>:<key>", result, fingerprint, createdAt, expireAt}`.
The unique `_id` is what makes racing retries safe: the second insert fails with a
duplicate key and the loser reads the winner's result. Records expire after 24 h (TTL
index on `expireAt`, see db.INDEXES).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import orjson
from pymongo.asynchronous.client_session import AsyncClientSession

from alawael.infra.clock import utcnow
from alawael.infra.db import Db, Document
from alawael.shared.errors import BadUserInput, Conflict

TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 128


def validate_key(key: str | None, *, field: str = "idempotencyKey") -> str | None:
    """None stays None (no idempotency); otherwise 1-128 printable characters."""
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise BadUserInput(
            f"The idempotency key must be 1-{MAX_KEY_LENGTH} printable characters.", field=field
        )
    return key


def record_id(scope: str, user_id: str, key: str) -> str:
    # Scoped per user: two customers may pick the same key without seeing each other's orders.
    return f"{scope}:{user_id}:{key}"


def fingerprint(request: Any) -> str:
    """A stable hash of the request body, to refuse a key reused for a different request."""
    canonical = orjson.dumps(request, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(canonical).hexdigest()


async def find(db: Db, rid: str, *, request_fingerprint: str | None = None) -> Document | None:
    """The stored result for `rid`, or None. Raises CONFLICT when the key was used for a
    different request (the client has a bug; replaying the old result would hide it)."""
    doc = await db.idempotency.find_one({"_id": rid})
    if doc is None:
        return None
    if request_fingerprint is not None and doc.get("fingerprint") not in (
        None,
        request_fingerprint,
    ):
        raise Conflict(
            "This idempotency key was already used for a different request.",
            field="idempotencyKey",
        )
    result: Document = doc["result"]
    return result


async def insert(
    db: Db,
    rid: str,
    result: Document,
    *,
    request_fingerprint: str | None,
    session: AsyncClientSession | None = None,
) -> None:
    """Insert the record (inside the caller's transaction). Raises DuplicateKeyError when a
    concurrent request with the same key got there first."""
    now = utcnow()
    await db.idempotency.insert_one(
        {
            "_id": rid,
            "result": result,
            "fingerprint": request_fingerprint,
            "createdAt": now,
            "expireAt": now + TTL,
        },
        session=session,
    )

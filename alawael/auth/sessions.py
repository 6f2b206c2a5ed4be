"""Refresh sessions: opaque rotating refresh tokens, revocation, and the per-request check.

A refresh token is "<session id>.<secret>"; only sha256(secret) is stored. Every refresh
swaps the stored hash for a new one in one conditional `find_one_and_update`, so of two
concurrent refreshes with the same token exactly one wins. Presenting a hash that was
already rotated away means the token leaked (or a client raced itself): the whole session
is revoked and a security event is logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError

from alawael.auth.permissions import Actor, Role
from alawael.infra.clock import utcnow
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.shared.errors import ServiceUnavailable, Unauthenticated

security_log = logging.getLogger("alawael.security")

INVALID_REFRESH = "Invalid or expired refresh token."
REVOKED = "Session revoked or user deactivated; log in again."
# How many rotated-away hashes a session remembers for reuse detection (a day of refreshes
# every 15 minutes is 96).
PREVIOUS_HASHES_KEPT = 200
_CHECKS_KEY = "auth.session_checks"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)
    return secret, hash_secret(secret)


def split_refresh_token(token: str) -> tuple[ObjectId, str]:
    sid, _, secret = token.partition(".")
    try:
        oid = ObjectId(sid)
    except (InvalidId, TypeError) as exc:
        raise Unauthenticated(INVALID_REFRESH) from exc
    if not secret:
        raise Unauthenticated(INVALID_REFRESH)
    return oid, secret


async def create_session(
    res: Resources,
    user_id: ObjectId,
    *,
    user_agent: str | None,
    ip: str | None,
    sid: ObjectId | None = None,
    session: AsyncClientSession | None = None,
) -> tuple[Document, str]:
    """Insert a session (in the caller's transaction, if given); returns (session document,
    refresh token)."""
    secret, digest = _new_secret()
    now = utcnow()
    doc: Document = {
        "_id": sid or ObjectId(),
        "userId": user_id,
        "refreshHash": digest,
        "previousHashes": [],
        "revoked": False,
        "userAgent": (user_agent or "")[:256] or None,
        "ip": ip,
        "createdAt": now,
        "lastUsedAt": now,
        "expireAt": now + timedelta(seconds=res.settings.refresh_token_ttl_seconds),
    }
    await res.db.sessions.insert_one(doc, session=session)
    return doc, f"{doc['_id']}.{secret}"


async def rotate_session(
    res: Resources, refresh_token: str, *, user_agent: str | None, ip: str | None
) -> tuple[Document, str]:
    """Exchange a refresh token for a new one; returns (session, new refresh token)."""
    sid, secret = split_refresh_token(refresh_token)
    presented = hash_secret(secret)
    new_secret, new_digest = _new_secret()
    now = utcnow()
    updated = await res.db.sessions.find_one_and_update(
        {"_id": sid, "refreshHash": presented, "revoked": False, "expireAt": {"$gt": now}},
        {
            "$set": {
                "refreshHash": new_digest,
                "lastUsedAt": now,
                # Sliding expiry: each new refresh token lives refresh_token_ttl_seconds.
                "expireAt": now + timedelta(seconds=res.settings.refresh_token_ttl_seconds),
                "userAgent": (user_agent or "")[:256] or None,
                "ip": ip,
            },
            "$push": {"previousHashes": {"$each": [presented], "$slice": -PREVIOUS_HASHES_KEPT}},
        },
        return_document=ReturnDocument.AFTER,
    )
    if updated is not None:
        return updated, f"{sid}.{new_secret}"
    session = await res.db.sessions.find_one({"_id": sid})
    if session is not None and presented in session.get("previousHashes", ()):
        await revoke_session(res, sid, reason="refresh-token-reuse")
        security_log.warning(
            "refresh token reuse detected; session revoked",
            extra={
                "event": "refresh_token_reuse",
                "session_id": str(sid),
                "user_id": str(session.get("userId")),
                "ip": ip,
                "already_revoked": bool(session.get("revoked")),
            },
        )
    raise Unauthenticated(INVALID_REFRESH)


async def revoke_session(
    res: Resources, sid: ObjectId, *, reason: str, session: AsyncClientSession | None = None
) -> bool:
    """Revoke one session. Inside a transaction (`session`), call `session_checks(res).forget`
    again after the commit: a check in between could remember the still-live session."""
    result = await res.db.sessions.update_one(
        {"_id": sid, "revoked": False},
        {"$set": {"revoked": True, "revokedReason": reason, "revokedAt": utcnow()}},
        session=session,
    )
    session_checks(res).forget(str(sid))
    return result.modified_count > 0


async def revoke_user_sessions(
    res: Resources,
    user_id: ObjectId,
    *,
    reason: str,
    session: AsyncClientSession | None = None,
    keep: ObjectId | None = None,
) -> int:
    """Revoke every live session of a user but `keep` (a password change keeps the session
    that made it). Inside a transaction, call `session_checks(res).forget_user` again after
    the commit (see revoke_session)."""
    query: Document = {"userId": user_id, "revoked": False}
    if keep is not None:
        query["_id"] = {"$ne": keep}
    result = await res.db.sessions.update_many(
        query,
        {"$set": {"revoked": True, "revokedReason": reason, "revokedAt": utcnow()}},
        session=session,
    )
    session_checks(res).forget_user(str(user_id))
    return result.modified_count


@dataclass
class SessionChecks:
    """Positive session checks remembered in this worker for a short time: saves two
    Mongo round-trips per request, and bounds how late a revocation is noticed here.

    An answer is trusted for the TTL from when its read *started* (`read_at`): a slow read
    must not stretch the bound. A read that started before a forget of its session or user
    in this worker (a logout, a deactivation) is not stored: it may predate the revocation
    (`forgotten_since`)."""

    max_entries: int = 50_000
    _entries: dict[str, tuple[float, str, Role]] = field(default_factory=dict)
    # When each session ("s:<id>") or user ("u:<id>") was last forgotten (monotonic).
    _forgotten: dict[str, float] = field(default_factory=dict)

    def get(self, sid: str, user_id: str) -> Role | None:
        entry = self._entries.get(sid)
        if entry is None or entry[0] <= time.monotonic() or entry[1] != user_id:
            return None
        return entry[2]

    def seconds_left(self, sid: str) -> float:
        """How long the remembered answer for `sid` stays trusted (0 when none)."""
        entry = self._entries.get(sid)
        return max(0.0, entry[0] - time.monotonic()) if entry is not None else 0.0

    def put(
        self, sid: str, user_id: str, role: Role, ttl: float, *, read_at: float | None = None
    ) -> None:
        """Remember a positive answer; `read_at`: when its read started (default: now)."""
        if ttl <= 0:
            return
        started = time.monotonic() if read_at is None else read_at
        if self.forgotten_since(sid, user_id, started):
            return
        if len(self._entries) >= self.max_entries:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[sid] = (started + ttl, user_id, role)

    def forgotten_since(self, sid: str, user_id: str, since: float) -> bool:
        return (
            self._forgotten.get(f"s:{sid}", -1.0) >= since
            or self._forgotten.get(f"u:{user_id}", -1.0) >= since
        )

    def forget(self, sid: str) -> None:
        self._entries.pop(sid, None)
        self._mark(f"s:{sid}")

    def forget_user(self, user_id: str) -> None:
        for sid in [k for k, v in self._entries.items() if v[1] == user_id]:
            self._entries.pop(sid, None)
        self._mark(f"u:{user_id}")

    def _mark(self, key: str) -> None:
        now = time.monotonic()
        if len(self._forgotten) >= self.max_entries:
            # Only reads still in flight care; none runs for a minute.
            self._forgotten = {k: t for k, t in self._forgotten.items() if t > now - 60}
        self._forgotten[key] = now


def session_checks(res: Resources) -> SessionChecks:
    checks = res.extras.get(_CHECKS_KEY)
    if checks is None:
        checks = res.extras[_CHECKS_KEY] = SessionChecks()
    assert isinstance(checks, SessionChecks)
    return checks


async def check_session(res: Resources, *, user_id: str, session_id: str) -> Actor:
    """The Actor for a verified access token, if its session is live and its user active."""
    checks = session_checks(res)
    role = checks.get(session_id, user_id)
    if role is not None:
        return Actor(user_id=user_id, role=role, session_id=session_id)
    try:
        sid, uid = ObjectId(session_id), ObjectId(user_id)
    except (InvalidId, TypeError) as exc:
        raise Unauthenticated("Invalid or expired token.") from exc
    read_at = time.monotonic()
    try:
        # Both reads at once: one round-trip of latency instead of two.
        session, user = await asyncio.gather(
            res.db.sessions.find_one({"_id": sid}, {"userId": 1, "revoked": 1, "expireAt": 1}),
            res.db.users.find_one({"_id": uid}, {"role": 1, "active": 1}),
        )
    except PyMongoError as exc:
        raise ServiceUnavailable() from exc
    if (
        session is None
        or session.get("revoked")
        or session.get("userId") != uid
        or session["expireAt"] <= utcnow()
        or user is None
        or not user.get("active", True)
    ):
        raise Unauthenticated(REVOKED)
    role = Role(user["role"])
    checks.put(session_id, user_id, role, res.settings.session_check_ttl_seconds, read_at=read_at)
    return Actor(user_id=user_id, role=role, session_id=session_id)

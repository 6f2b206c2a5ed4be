"""Is a subscriber still who they were at connect time? Checked on every event.

The same rule as `alawael.auth.sessions.check_session` (session live, user active; the role
read from the user document), but batched: all subscribers woken by one event read their
sessions and users through loaders shared by that event, so 1,000 subscribers cost two `$in`
queries, not 2,000 round-trips. Positive answers go into (and come from) the same per-worker
cache the HTTP path uses, so a revocation is noticed here as soon as there.

An answer late in its life (`_due`) is still used, and re-read in the background after the
event (`_Refresh`): under a steady flow of events the answers are renewed before they
expire, so no event waits for the whole batch. The bound is unchanged: no answer is used
past SESSION_CHECK_TTL_SECONDS, and a re-read that finds the session gone drops it at once.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.errors import PyMongoError

from alawael.auth.permissions import Actor
from alawael.auth.sessions import session_checks
from alawael.infra.db import Document
from alawael.infra.fanout import Delivery
from alawael.infra.resources import Resources
from alawael.loaders.base import DocumentByIdLoader

log = logging.getLogger("alawael.realtime")

# `$in` cost grows faster than linearly on SecantusDB (1,000 ids: 1.6 s; 100 ids: 33 ms),
# so big batches go out as concurrent chunks; harmless on MongoDB.
MAX_BATCH = 100


class SessionByIdLoader(DocumentByIdLoader):
    collection = "sessions"
    projection = {"userId": 1, "revoked": 1, "expireAt": 1}
    max_batch_size = MAX_BATCH


class UserStatusByIdLoader(DocumentByIdLoader):
    collection = "users"
    projection = {"role": 1, "active": 1}
    max_batch_size = MAX_BATCH


def _oid(value: str) -> ObjectId | None:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


async def still_allowed(res: Resources, actor: Actor, delivery: Delivery | None) -> bool:
    """False when the session was revoked or expired, the user deactivated or deleted, or
    their role changed (the connection's Actor would then claim the wrong permissions)."""
    checks = session_checks(res)
    if actor.session_id is not None:
        cached = checks.get(actor.session_id, actor.user_id)
        if cached is not None:
            if delivery is not None and _due(
                res, actor.session_id, checks.seconds_left(actor.session_id)
            ):
                delivery.shared("liveness.refresh", lambda: _Refresh(res)).add(actor)
            return cached == actor.role
    if delivery is not None:
        users = delivery.shared("liveness.users", lambda: UserStatusByIdLoader(res.db))
        sessions = delivery.shared("liveness.sessions", lambda: SessionByIdLoader(res.db))
    else:
        users, sessions = UserStatusByIdLoader(res.db), SessionByIdLoader(res.db)
    return await _check(res, actor, users, sessions)


def _due(res: Resources, sid: str, seconds_left: float) -> bool:
    # Late in its life: re-checked now, in the background, so that under a steady flow of
    # events the answer is renewed before it expires and no event has to wait for 1,000
    # sessions to be re-read. Each session renews at its own point between 1/2 and 3/4 of
    # the TTL (a hash of its id), so answers first given together spread their renewals
    # over several events instead of one batch of 1,000. The bound is unchanged: an answer
    # is never used past SESSION_CHECK_TTL_SECONDS; a re-check that fails drops it.
    ttl = res.settings.session_check_ttl_seconds
    phase = (zlib.crc32(sid.encode()) % 1024) / 1024
    return seconds_left < ttl * (0.25 + 0.25 * phase)


class _Refresh:
    """The sessions of one event due for renewal, re-checked in one batch once the event
    has been delivered (a short delay: the re-check must not compete with the delivery)."""

    DELAY_SECONDS = 0.05

    def __init__(self, res: Resources) -> None:
        self.res = res
        self.actors: dict[str, Actor] = {}
        loop = asyncio.get_running_loop()
        loop.call_later(self.DELAY_SECONDS, self._start)

    def add(self, actor: Actor) -> None:
        if actor.session_id is not None:
            self.actors[actor.session_id] = actor

    def _start(self) -> None:
        task = asyncio.get_running_loop().create_task(self.run())
        _refreshing.add(task)
        task.add_done_callback(_refreshing.discard)

    async def run(self) -> None:
        # Straight batch reads, no DataLoader: one future and coroutine per key would cost
        # more CPU than the re-check itself, right when the next event is being delivered.
        actors = [a for a in self.actors.values() if a.session_id is not None]
        uids = [_oid(a.user_id) for a in actors]
        sids = [_oid(a.session_id or "") for a in actors]
        try:
            users, sessions = await asyncio.gather(
                _read(UserStatusByIdLoader(self.res.db), uids),
                _read(SessionByIdLoader(self.res.db), sids),
            )
        except PyMongoError as exc:
            log.warning("background session re-check failed: %s", exc)
            return  # the answers expire as they would have; the next event re-checks
        checks = session_checks(self.res)
        ttl = self.res.settings.session_check_ttl_seconds
        now = datetime.now(UTC)
        for actor, uid, sid in zip(actors, uids, sids, strict=True):
            user = users.get(uid) if uid is not None else None
            session = sessions.get(sid) if sid is not None else None
            key = actor.session_id or ""
            if not _verdict(actor, uid, user, session, now):
                checks.forget(key)  # the next event re-checks and ends the subscription
            elif checks.seconds_left(key) > 0:
                # Renewed only if still remembered: a revocation in this worker while we
                # read (`forget`) must not be undone by an answer read before it.
                checks.put(key, actor.user_id, actor.role, ttl)


async def _read(loader: DocumentByIdLoader, ids: list[ObjectId | None]) -> dict[ObjectId, Any]:
    keys = sorted({i for i in ids if i is not None})
    chunks = [keys[i : i + MAX_BATCH] for i in range(0, len(keys), MAX_BATCH)]
    found = await asyncio.gather(*(loader.batch_load_fn(chunk) for chunk in chunks))
    return {doc["_id"]: doc for docs in found for doc in docs if doc is not None}


_refreshing: set[asyncio.Task[None]] = set()


async def _check(
    res: Resources,
    actor: Actor,
    users: UserStatusByIdLoader,
    sessions: SessionByIdLoader,
) -> bool:
    """The database's answer (remembered for the TTL when positive)."""
    uid = _oid(actor.user_id)
    user = await users.load(uid) if uid is not None else None
    sid = _oid(actor.session_id) if actor.session_id is not None else None
    session = await sessions.load(sid) if sid is not None and user is not None else None
    if not _verdict(actor, uid, user, session, datetime.now(UTC)):
        return False
    if actor.session_id is not None:
        ttl = res.settings.session_check_ttl_seconds
        session_checks(res).put(actor.session_id, actor.user_id, actor.role, ttl)
    return True


def _verdict(
    actor: Actor,
    uid: ObjectId | None,
    user: Document | None,
    session: Document | None,
    now: datetime,
) -> bool:
    if uid is None or user is None or not user.get("active", True):
        return False
    if user.get("role") != actor.role.value:
        return False
    if actor.session_id is None:
        # Actors without a session exist only in-process (tests, CLI); the user check is all.
        return True
    return not (
        session is None
        or session.get("revoked")
        or session.get("userId") != uid
        or session["expireAt"] <= now
    )

"""Is a subscriber still who they were at connect time? Checked on every event.

The same rule as `alawael.auth.sessions.check_session` (session live, user active; the role
read from the user document), but batched: all subscribers woken by one event read their
sessions and users together, so 1,000 subscribers cost a few `$in` queries, not 2,000
round-trips. Positive answers go into (and come from) the same per-worker cache the HTTP
path uses, so a revocation is noticed here as soon as there.

Answers of live subscribers are kept fresh between events by the session keeper
(alawael.realtime.session_keeper), so an event normally finds every answer remembered; what
is read here is what the keeper has not (yet) covered.
"""

from __future__ import annotations

import asyncio
import time
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

# `$in` cost grows faster than linearly on SecantusDB (1,000 ids: 1.6 s; 100 ids: 33 ms),
# so big batches go out as concurrent chunks; harmless on MongoDB. 1,000 sessions in
# concurrent chunks: 50 ids ~80 ms, 100 ids ~110 ms, 25 ids ~90 ms (bench machine).
MAX_BATCH = 50


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
            return cached == actor.role
    if delivery is not None:
        misses = delivery.shared("liveness.misses", lambda: _Misses(res))
        if not misses.started:
            return await misses.check(actor)
        # A subscriber reaching the event after its batch went out (it had a backlog).
        users = delivery.shared("liveness.users", lambda: UserStatusByIdLoader(res.db))
        sessions = delivery.shared("liveness.sessions", lambda: SessionByIdLoader(res.db))
    else:
        users, sessions = UserStatusByIdLoader(res.db), SessionByIdLoader(res.db)
    return await _check(res, actor, users, sessions)


class _Misses:
    """The subscribers of one event whose answers are not remembered, checked together:
    users and sessions read at once in straight batches, once every subscriber woken by
    the event has asked (the read starts on the loop's next turn). Through DataLoaders it
    took two rounds (user, then session) with a future and a coroutine per key: for an
    event after a quiet spell (every answer expired) that was most of its CPU."""

    def __init__(self, res: Resources) -> None:
        self.res = res
        self.started = False
        self.actors: list[Actor] = []
        self.verdicts: list[bool] = []
        self.failure: str | None = None
        self._done = asyncio.Event()
        asyncio.get_running_loop().call_soon(self._start)

    async def check(self, actor: Actor) -> bool:
        index = len(self.actors)
        self.actors.append(actor)
        await self._done.wait()
        if self.failure is not None:
            raise PyMongoError(self.failure)  # each waiter its own: `_live` decides
        return self.verdicts[index]

    def _start(self) -> None:
        self.started = True
        task = asyncio.get_running_loop().create_task(self._run())
        _background.add(task)
        task.add_done_callback(_background.discard)

    async def _run(self) -> None:
        read_at = time.monotonic()
        try:
            self.verdicts = await read_verdicts(self.res, self.actors)
        except PyMongoError as exc:
            self.failure = str(exc)
        finally:
            self._done.set()
        if self.failure is None:
            remember(self.res, self.actors, self.verdicts, read_at)


def remember(res: Resources, actors: list[Actor], verdicts: list[bool], read_at: float) -> int:
    """Store the positive answers read for `actors` by a read that started at `read_at`
    (monotonic): trusted for the TTL from then, and not stored at all for a session or user
    forgotten since (alawael.auth.sessions.SessionChecks). Returns how many were stored."""
    checks = session_checks(res)
    ttl = res.settings.session_check_ttl_seconds
    stored = 0
    for actor, allowed in zip(actors, verdicts, strict=True):
        if allowed and actor.session_id is not None:
            checks.put(actor.session_id, actor.user_id, actor.role, ttl, read_at=read_at)
            stored += checks.seconds_left(actor.session_id) > 0
    return stored


async def read_verdicts(
    res: Resources, actors: list[Actor], *, in_turn: bool = False
) -> list[bool]:
    """The database's answer for each actor, from straight batch reads: all chunks at once
    (an event waits for them), or with `in_turn` one chunk per collection at a time (the
    session keeper: slower, but an event's own reads never queue behind a dozen of its
    commands in the database)."""
    uids = [_oid(a.user_id) for a in actors]
    sids = [_oid(a.session_id) if a.session_id is not None else None for a in actors]
    users, sessions = await asyncio.gather(
        _read(UserStatusByIdLoader(res.db), uids, in_turn),
        _read(SessionByIdLoader(res.db), sids, in_turn),
    )
    now = datetime.now(UTC)
    return [
        _verdict(
            actor,
            uid,
            users.get(uid) if uid is not None else None,
            sessions.get(sid) if sid is not None else None,
            now,
        )
        for actor, uid, sid in zip(actors, uids, sids, strict=True)
    ]


async def _read(
    loader: DocumentByIdLoader, ids: list[ObjectId | None], in_turn: bool
) -> dict[ObjectId, Any]:
    """The loader's documents by id, in chunks (concurrent unless `in_turn`); `to_list`
    rather than iterating the cursor: one await per chunk instead of one per document."""
    collection = loader.db[loader.collection]
    keys = list(dict.fromkeys(i for i in ids if i is not None))  # unique, no sort needed
    reads = (
        collection.find({"_id": {"$in": keys[i : i + MAX_BATCH]}}, loader.projection).to_list(None)
        for i in range(0, len(keys), MAX_BATCH)
    )
    found = [await read for read in reads] if in_turn else await asyncio.gather(*reads)
    return {doc["_id"]: doc for docs in found for doc in docs}


_background: set[asyncio.Task[None]] = set()


async def _check(
    res: Resources,
    actor: Actor,
    users: UserStatusByIdLoader,
    sessions: SessionByIdLoader,
) -> bool:
    """The database's answer (remembered for the TTL when positive)."""
    read_at = time.monotonic()
    uid = _oid(actor.user_id)
    user = await users.load(uid) if uid is not None else None
    sid = _oid(actor.session_id) if actor.session_id is not None else None
    session = await sessions.load(sid) if sid is not None and user is not None else None
    if not _verdict(actor, uid, user, session, datetime.now(UTC)):
        return False
    if actor.session_id is not None:
        ttl = res.settings.session_check_ttl_seconds
        session_checks(res).put(actor.session_id, actor.user_id, actor.role, ttl, read_at=read_at)
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

"""Keeps the session checks of this worker's live subscribers fresh, events or not.

Every event re-checks each subscriber's session (alawael.realtime.liveness), answered from
the per-worker cache while an answer is younger than SESSION_CHECK_TTL_SECONDS. Renewing
answers only when events came meant that the first event after a quiet spell longer than
the TTL (2 s by default: most of a PWA's day) found every answer expired and waited for
1,000 sessions and users to be read before anyone got it: 250-300 ms, the fan-out's p99.

The keeper renews each watched session's answer shortly before it expires, from a fresh
read of the session and the user (the same verdict as every other check), in small batches
spread over time so that no batch stalls a delivery for long. The bound is unchanged: every
answer still comes from a read at most SESSION_CHECK_TTL_SECONDS old, and a renewal that
finds the session revoked, expired, or the user deactivated or re-roled drops the answer,
so the subscriber's next event re-checks and ends the subscription.

Cost: a read of each watched session (and its user) about every 2/3 of the TTL while a
subscription is open: the price of the TTL bound, paid between events instead of on one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from pymongo.errors import PyMongoError

from alawael.auth.permissions import Actor
from alawael.auth.sessions import session_checks
from alawael.infra.resources import Resources
from alawael.infra.tasks import stop_task
from alawael.realtime.liveness import MAX_BATCH, read_verdicts, remember

log = logging.getLogger("alawael.realtime")

_KEY = "realtime.session_keeper"


@dataclass
class _Watched:
    actor: Actor
    # One entry per subscription: what ends it at once (closing its socket), if anything.
    on_ended: dict[int, Callable[[], None] | None] = field(default_factory=dict)
    ended: bool = False  # found revoked: not re-read while the subscriptions wind down


class SessionKeeper:
    """The watched sessions of one worker, and the loop that renews their answers."""

    def __init__(self, res: Resources) -> None:
        self.res = res
        ttl = res.settings.session_check_ttl_seconds
        # Renewed once less than a third of the TTL is left: time for a slow read to land
        # before the answer expires.
        self.margin = ttl / 3
        # Small ticks, small batches: each batch is a few milliseconds of this worker's CPU.
        self.tick = min(max(ttl / 8, 0.05), 1.0)
        self._watched: dict[str, _Watched] = {}
        self._wake = asyncio.Event()
        self._tickets = itertools.count()
        self.renewals = 0  # answers renewed (for tests and the curious)

    def watch(self, actor: Actor, on_ended: Callable[[], None] | None = None) -> int | None:
        """Watch `actor`'s session for one subscription; `on_ended` is called if a renewal
        finds the session over. Returns the ticket for `unwatch`."""
        sid = actor.session_id
        if sid is None:
            return None  # in-process actors (tests, CLI) have no session to renew
        entry = self._watched.get(sid)
        if entry is None:
            entry = self._watched[sid] = _Watched(actor)
            self._wake.set()
        else:
            entry.actor = actor  # the latest admission's role is the one to verify
            entry.ended = False
        ticket = next(self._tickets)
        entry.on_ended[ticket] = on_ended
        return ticket

    def unwatch(self, actor: Actor, ticket: int | None) -> None:
        sid = actor.session_id
        entry = self._watched.get(sid) if sid is not None else None
        if entry is None or sid is None or ticket is None:
            return
        entry.on_ended.pop(ticket, None)
        if not entry.on_ended:
            del self._watched[sid]

    @property
    def watched(self) -> int:
        return len(self._watched)

    def due(self) -> list[Actor]:
        """The watched sessions whose answer expires within the margin (or is gone), the most
        urgent first, at most one tick's budget: enough that every session is renewed within
        the margin even if all came due together (say 1,000 sockets admitted at once)."""
        checks = session_checks(self.res)
        late = [
            (left, w.actor)
            for sid, w in self._watched.items()
            if not w.ended and (left := checks.seconds_left(sid)) < self.margin
        ]
        if not late:
            return []
        budget = max(MAX_BATCH, math.ceil(len(self._watched) * self.tick / max(self.margin, 1e-3)))
        late.sort(key=lambda item: item[0])
        return [actor for _, actor in late[:budget]]

    async def renew(self, actors: list[Actor]) -> None:
        checks = session_checks(self.res)
        forgets = checks.forgets
        verdicts = await read_verdicts(self.res, actors, in_turn=True)
        remember(self.res, actors, verdicts, forgets)
        self.renewals += sum(verdicts)
        for actor, allowed in zip(actors, verdicts, strict=True):
            if not allowed and actor.session_id is not None:
                self._end(actor.session_id)

    def _end(self, sid: str) -> None:
        """The session is over: its answer is dropped (an event re-checks and ends the
        subscription) and its sockets are closed now rather than at the next event."""
        session_checks(self.res).forget(sid)
        entry = self._watched.get(sid)
        if entry is None:
            return
        log.info(
            "ending subscriptions of a revoked session or inactive user",
            extra={"user_id": entry.actor.user_id, "subscriptions": len(entry.on_ended)},
        )
        entry.ended = True
        for close in entry.on_ended.values():
            if close is not None:
                close()

    async def run(self) -> None:
        if self.res.settings.session_check_ttl_seconds <= 0:
            return  # nothing is remembered, so there is nothing to keep
        while True:
            if not self._watched:
                self._wake.clear()
                await self._wake.wait()
            actors = self.due()
            if actors:
                try:
                    await self.renew(actors)
                except PyMongoError as exc:
                    # The answers expire as they would have; events re-check them.
                    log.warning("renewing subscribers' session checks failed: %s", exc)
                except Exception:
                    # A bug must not end the keeper for the worker's life: log it (Sentry
                    # receives it through logging) and go on; events still re-check.
                    log.exception("renewing subscribers' session checks failed")
            await asyncio.sleep(self.tick)


def session_keeper(res: Resources) -> SessionKeeper | None:
    keeper = res.extras.get(_KEY)
    return keeper if isinstance(keeper, SessionKeeper) else None


def watch_session(
    res: Resources, actor: Actor | None, on_ended: Callable[[], None] | None = None
) -> Callable[[], None]:
    """Keep `actor`'s session answer fresh until the returned undo is called (a
    subscription's lifetime); `on_ended`: called if a renewal finds the session over.
    Without a keeper (no subsystem), nothing is watched."""
    keeper = session_keeper(res)
    if keeper is None or actor is None:
        return _nothing
    ticket = keeper.watch(actor, on_ended)
    return lambda: keeper.unwatch(actor, ticket)


def _nothing() -> None:
    return None


@contextlib.asynccontextmanager
async def session_keeper_subsystem(res: Resources) -> AsyncIterator[None]:
    """The worker's keeper, running from start-up to shutdown (alawael.server.SUBSYSTEMS)."""
    keeper = SessionKeeper(res)
    res.extras[_KEY] = keeper
    task = asyncio.create_task(keeper.run(), name="session-keeper")
    try:
        yield
    finally:
        await stop_task(task)
        res.extras.pop(_KEY, None)

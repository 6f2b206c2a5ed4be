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

Each answer is trusted for the TTL from when its read started (a slow read does not
stretch the bound). Renewals start earlier when reads are slow, are bounded in time, and
back off while the database is away (events then re-check as before).

Cost: a read of each watched session (and its user) about every 2/3 of the TTL while a
subscription is open: the price of the TTL bound, paid between events instead of on one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from pymongo.errors import PyMongoError

from alawael.auth.permissions import Actor, Role
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
    ended: bool = False  # found over: not re-read while the subscriptions wind down


# Between attempts while the database is away: doubling from one tick up to this.
MAX_BACKOFF_SECONDS = 5.0


class SessionKeeper:
    """The watched sessions of one worker, and the loop that renews their answers.

    Watched per (session, role): two sockets of one session admitted with different roles
    (a role change between them) are verified each for its own role, and a renewal that
    finds one role stale closes only that one's sockets."""

    def __init__(self, res: Resources) -> None:
        self.res = res
        self.ttl = res.settings.session_check_ttl_seconds
        # Small ticks, small batches: each batch is a few milliseconds of this worker's CPU.
        self.tick = min(max(self.ttl / 8, 0.01), 1.0)
        self._watched: dict[tuple[str, Role], _Watched] = {}
        self._wake = asyncio.Event()
        self._tickets = itertools.count()
        self._read_seconds = 0.0  # how long the last renewal's reads took
        self.renewals = 0  # answers renewed and stored (for tests and the curious)

    @property
    def margin(self) -> float:
        """Renewed once less than this is left of an answer: a third of the TTL, more when
        renewals take long (so one lands before the answer expires), at most 80% of it."""
        return min(0.8 * self.ttl, max(self.ttl / 3, 2 * self._read_seconds + self.tick))

    def watch(self, actor: Actor, on_ended: Callable[[], None] | None = None) -> int | None:
        """Watch `actor`'s session for one subscription; `on_ended` is called if a renewal
        finds the session over. Returns the ticket for `unwatch`."""
        sid = actor.session_id
        if sid is None:
            return None  # in-process actors (tests, CLI) have no session to renew
        key = (sid, actor.role)
        entry = self._watched.get(key)
        if entry is None:
            entry = self._watched[key] = _Watched(actor)
            self._wake.set()
        else:
            entry.ended = False  # admitted again: its check passed just now
        ticket = next(self._tickets)
        entry.on_ended[ticket] = on_ended
        return ticket

    def unwatch(self, actor: Actor, ticket: int | None) -> None:
        sid = actor.session_id
        if sid is None or ticket is None:
            return
        key = (sid, actor.role)
        entry = self._watched.get(key)
        if entry is None:
            return
        entry.on_ended.pop(ticket, None)
        if not entry.on_ended:
            del self._watched[key]

    @property
    def watched(self) -> int:
        return len(self._watched)

    def due(self) -> list[Actor]:
        """The watched sessions whose answer expires within the margin (or is gone), the most
        urgent first, at most one cycle's budget: enough that every session is renewed within
        the margin even if all came due together (say 1,000 sockets admitted at once), given
        how long a cycle (a tick plus the last renewal's reads) takes."""
        checks = session_checks(self.res)
        margin = self.margin
        late = [
            (left, w.actor)
            for (sid, _), w in self._watched.items()
            if not w.ended and (left := checks.seconds_left(sid)) < margin
        ]
        if not late:
            return []
        cycle = self.tick + self._read_seconds
        budget = max(MAX_BATCH, math.ceil(len(self._watched) * cycle / max(margin, 1e-3)))
        late.sort(key=lambda item: item[0])
        return [actor for _, actor in late[:budget]]

    async def renew(self, actors: list[Actor]) -> None:
        read_at = time.monotonic()
        verdicts = await read_verdicts(self.res, actors, in_turn=True)
        self._read_seconds = time.monotonic() - read_at
        self.renewals += remember(self.res, actors, verdicts, read_at)
        for actor, allowed in zip(actors, verdicts, strict=True):
            if not allowed and actor.session_id is not None:
                self._end((actor.session_id, actor.role))

    def _end(self, key: tuple[str, Role]) -> None:
        """The session is over for this role: its answer is dropped (an event re-checks and
        ends the subscription) and its sockets are closed now rather than at the next event."""
        session_checks(self.res).forget(key[0])
        entry = self._watched.get(key)
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
        if self.ttl <= 0:
            return  # nothing is remembered, so there is nothing to keep
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            if not self._watched:
                self._wake.clear()
                await self._wake.wait()
            started = loop.time()
            actors = self.due()
            if actors:
                try:
                    # A hung database must not hold the keeper past the answers it renews.
                    async with asyncio.timeout(self.ttl):
                        await self.renew(actors)
                    if failures:
                        log.info("renewing subscribers' session checks works again")
                    failures = 0
                except (PyMongoError, TimeoutError) as exc:
                    # The answers expire as they would have; events re-check them. One
                    # warning per outage, then quieter retries.
                    failures += 1
                    if failures == 1:
                        log.warning("renewing subscribers' session checks failed: %r", exc)
                except Exception:
                    # A bug must not end the keeper for the worker's life: log it (Sentry
                    # receives it through logging) and go on; events still re-check.
                    log.exception("renewing subscribers' session checks failed")
            if failures:
                await asyncio.sleep(min(self.tick * 2**failures, MAX_BACKOFF_SECONDS))
            else:
                await asyncio.sleep(max(0.0, self.tick - (loop.time() - started)))


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

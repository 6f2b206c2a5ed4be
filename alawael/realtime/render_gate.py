"""Leader and followers of one render group for one event.

Without this, all 1,000 subscribers of an event are woken together, reach the scope's
re-read before it finished, wait, wake, reach the shared execution before it finished, wait
and wake again: three rounds of 1,000 task switches per event. With it the first subscriber
of a group (the leader) renders; the others wait once and then find every shared step done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

from alawael.infra.fanout import Delivery

# How long followers wait for a leader that neither rendered nor gave up (it cannot
# happen by design; the bound keeps a bug from stalling a whole group).
GATE_TIMEOUT_SECONDS = 1.0


class Gate:
    """One event, one group: the leader opens it once its render is done (or it gave up).
    Purely an ordering hint: whatever happens, followers still run the normal path."""

    __slots__ = ("_event", "_timer")

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._timer = asyncio.get_running_loop().call_later(GATE_TIMEOUT_SECONDS, self.open)

    def open(self) -> None:
        self._timer.cancel()
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()


async def lead_or_follow(delivery: Delivery, group: Hashable) -> Gate | None:
    """The group's gate if this subscriber leads the event's render; None for a follower,
    once the leader is done (or gave up)."""
    created: list[Gate] = []

    def new_gate() -> Gate:
        created.append(Gate())
        return created[0]

    gate = delivery.shared(("gate", group), new_gate)
    if created:
        return gate
    await gate.wait()
    return None

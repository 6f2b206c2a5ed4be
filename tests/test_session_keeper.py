"""The session keeper (alawael.realtime.session_keeper): a live subscriber's session check
is renewed before it expires with no event at all, so the first event after a quiet spell
finds it remembered; the TTL bound is unchanged (a renewal is a fresh read, and one that
finds the session revoked, the user deactivated or re-roled drops the answer, so the next
event ends the subscription); only live subscriptions are watched."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, cast

import pytest
from bson import ObjectId
from pymongo.errors import PyMongoError

from alawael.auth.permissions import Actor, Role
from alawael.auth.sessions import session_checks
from alawael.context import Resources
from alawael.infra.tasks import stop_task
from alawael.realtime import session_keeper as keeper_module
from alawael.realtime.session_keeper import SessionKeeper, session_keeper
from tests.conftest import make_settings
from tests.support.polling import eventually
from tests.support.schema_subscriptions import Sub, listening
from tests.support.subscriptions import (
    ORDER_PLACED,
    closed_with,
    open_ws,
    placed,
    recv,
    running_app,
    subscribe,
    subscribers,
    token_for,
)
from tests.support.ws import signed_in_token

QUERY = "subscription { orderPlaced { number status } }"
# Long enough that nothing expires by itself during a test: renewals are the keeper's doing.
# Margin TTL/3 = 20 s, tick 1 s.
TTL = 60.0


@pytest.fixture
async def res(mongo_uri: str) -> AsyncIterator[Resources]:
    from alawael.server import open_resources

    async with open_resources(make_settings(mongo_uri, session_check_ttl_seconds=TTL)) as res:
        yield res


def keeper_of(res: Resources) -> SessionKeeper:
    keeper = session_keeper(res)
    assert keeper is not None, "open_resources starts the keeper"
    return keeper


async def _staff(res: Resources) -> tuple[Actor, str]:
    _, user, sid = await signed_in_token(res, Role.STAFF)
    return Actor(user_id=user.user_id, role=Role.STAFF, session_id=str(sid)), str(sid)


async def _renewed(res: Resources, sid: str) -> None:
    checks = session_checks(res)

    async def fresh() -> bool:
        return checks.seconds_left(sid) > TTL - 5

    await eventually(fresh, what="the session check renewed by the keeper")


async def test_an_aging_answer_is_renewed_without_any_event(res: Resources) -> None:
    staff, sid = await _staff(res)
    checks = session_checks(res)
    checks.put(sid, staff.user_id, Role.STAFF, 10)  # within the margin: due
    sub = Sub(res, QUERY, staff)
    await listening(res, "orders", 1)
    assert keeper_of(res).watched == 1

    await _renewed(res, sid)  # no event was published
    await placed(res)
    assert (await sub.data())["orderPlaced"]["status"] == "PENDING"
    await sub.close()


async def test_an_answer_never_given_is_read_by_the_keeper(res: Resources) -> None:
    # Admitted long ago (its admission answer expired): the keeper reads it, not the event.
    staff, sid = await _staff(res)
    sub = Sub(res, QUERY, staff)
    await listening(res, "orders", 1)
    await _renewed(res, sid)
    await sub.close()


@pytest.mark.parametrize(
    "change",
    [
        ("sessions", {"revoked": True}),
        ("users", {"active": False}),
        ("users", {"role": "CUSTOMER"}),
    ],
    ids=["session revoked", "user deactivated", "role changed"],
)
async def test_a_change_found_by_the_keeper_ends_the_subscription(
    res: Resources, change: tuple[str, dict[str, Any]]
) -> None:
    staff, sid = await _staff(res)
    checks = session_checks(res)
    sub = Sub(res, QUERY, staff)
    await listening(res, "orders", 1)
    await _renewed(res, sid)
    # Changed by another worker or instance: this worker's answer is not forgotten by it.
    collection, update = change
    key = ObjectId(sid) if collection == "sessions" else ObjectId(staff.user_id)
    await res.db[collection].update_one({"_id": key}, {"$set": update})
    checks.put(sid, staff.user_id, Role.STAFF, 10)  # the answer ages into its renewal

    async def dropped() -> bool:
        return checks.seconds_left(sid) == 0

    await eventually(dropped, what="the keeper dropping the answer")
    await placed(res)
    ended = await sub.next()
    assert ended.errors[0].extensions["code"] == "UNAUTHENTICATED"
    assert await sub.next() is None  # completed


async def test_a_young_answer_is_not_re_read(res: Resources) -> None:
    staff, sid = await _staff(res)
    checks = session_checks(res)
    checks.put(sid, staff.user_id, Role.STAFF, TTL)
    sub = Sub(res, QUERY, staff)
    await listening(res, "orders", 1)
    await res.db.sessions.update_one({"_id": ObjectId(sid)}, {"$set": {"revoked": True}})
    keeper = keeper_of(res)
    assert keeper.due() == []  # trusted for its TTL, the documented bound
    await placed(res)
    assert (await sub.data())["orderPlaced"]["status"] == "PENDING"
    assert checks.seconds_left(sid) > TTL - 20
    await sub.close()


async def test_only_live_subscriptions_are_watched(res: Resources) -> None:
    staff, sid = await _staff(res)
    keeper = keeper_of(res)
    first, second = Sub(res, QUERY, staff), Sub(res, QUERY, staff)
    await listening(res, "orders", 2)
    assert keeper.watched == 1  # one session, two subscriptions

    await first.close()
    await listening(res, "orders", 1)
    assert keeper.watched == 1

    await second.close()

    async def unwatched() -> bool:
        return keeper.watched == 0

    await eventually(unwatched, what="the session no longer watched")
    session_checks(res).put(sid, staff.user_id, Role.STAFF, 1)
    assert keeper.due() == []  # an aging answer nobody subscribes with is left to expire


async def test_a_forget_during_the_read_is_not_undone(
    res: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A logout in this worker while the keeper reads: what was read before it must not be
    # stored after it.
    staff, sid = await _staff(res)
    keeper = keeper_of(res)
    original = keeper_module.read_verdicts

    async def read_then_logout(*args: Any, **kwargs: Any) -> list[bool]:
        verdicts = await original(*args, **kwargs)
        session_checks(res).forget(sid)
        return verdicts

    monkeypatch.setattr(keeper_module, "read_verdicts", read_then_logout)
    await keeper.renew([staff])
    assert session_checks(res).seconds_left(sid) == 0


async def test_an_unrelated_forget_during_the_read_does_not_discard_it(
    res: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Logouts elsewhere in the worker are common: they must not throw away a renewal.
    staff, sid = await _staff(res)
    other, other_sid = await _staff(res)
    keeper = keeper_of(res)
    original = keeper_module.read_verdicts

    async def read_then_other_logout(*args: Any, **kwargs: Any) -> list[bool]:
        verdicts = await original(*args, **kwargs)
        session_checks(res).forget(other_sid)
        session_checks(res).forget_user(other.user_id)
        return verdicts

    monkeypatch.setattr(keeper_module, "read_verdicts", read_then_other_logout)
    await keeper.renew([staff])
    assert session_checks(res).seconds_left(sid) > TTL - 5


async def test_a_slow_read_does_not_stretch_the_bound(
    res: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The answer is trusted for the TTL from when its read started, not from when it landed.
    staff, sid = await _staff(res)
    keeper = keeper_of(res)
    original = keeper_module.read_verdicts

    async def slow(*args: Any, **kwargs: Any) -> list[bool]:
        await asyncio.sleep(0.5)
        return await original(*args, **kwargs)

    monkeypatch.setattr(keeper_module, "read_verdicts", slow)
    await keeper.renew([staff])
    assert 0 < session_checks(res).seconds_left(sid) <= TTL - 0.5


@pytest.mark.parametrize("ttl", [0.05, 0.3, 2.0, 60.0])
def test_renewals_are_looked_for_more_often_than_the_margin(ttl: float) -> None:
    keeper = SessionKeeper(cast(Resources, _FakeResources(ttl)))
    assert 0 < keeper.tick < keeper.margin < ttl


class _FakeResources:
    def __init__(self, ttl: float) -> None:
        self.settings = make_settings("mongodb://unused", session_check_ttl_seconds=ttl)
        self.extras: dict[str, Any] = {}


def test_each_role_of_a_session_is_watched_for_itself() -> None:
    keeper = SessionKeeper(cast(Resources, _FakeResources(2.0)))
    old = Actor(user_id="u1", role=Role.STAFF, session_id="s1")
    new = Actor(user_id="u1", role=Role.MANAGER, session_id="s1")
    tickets = [keeper.watch(old), keeper.watch(new), keeper.watch(new)]
    assert keeper.watched == 2
    keeper.unwatch(new, tickets[1])
    keeper.unwatch(old, tickets[0])
    assert keeper.watched == 1
    keeper.unwatch(new, tickets[2])
    assert keeper.watched == 0


async def test_a_hung_read_gives_up_and_the_keeper_goes_on(
    res: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A keeper of its own with a short TTL: its renewals time out after one TTL.
    staff, _ = await _staff(res)
    original = keeper_module.read_verdicts
    hung = 0

    async def hang_once(*args: Any, **kwargs: Any) -> list[bool]:
        nonlocal hung
        if hung == 0:
            hung += 1
            await asyncio.Event().wait()  # never answers
        return await original(*args, **kwargs)

    monkeypatch.setattr(keeper_module, "read_verdicts", hang_once)
    async with _own_keeper(res, 0.5) as keeper:
        keeper.watch(staff)
        await _first_renewal(keeper, "a renewal after the hung one timed out")
    assert hung == 1


async def test_the_keeper_outlives_database_errors_and_warns_once(
    res: Resources, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A keeper of its own with a short TTL, so its back-off stays short.
    staff, _ = await _staff(res)
    original = keeper_module.read_verdicts
    failures = 0

    async def flaky(*args: Any, **kwargs: Any) -> list[bool]:
        nonlocal failures
        if failures < 3:
            failures += 1
            raise PyMongoError("database away")
        return await original(*args, **kwargs)

    monkeypatch.setattr(keeper_module, "read_verdicts", flaky)
    with caplog.at_level("INFO", logger="alawael.realtime"):
        async with _own_keeper(res, 0.5) as keeper:
            keeper.watch(staff)
            await _first_renewal(keeper, "a renewal once the database answers")
    assert failures == 3
    messages = [r.getMessage() for r in caplog.records if r.name == "alawael.realtime"]
    assert sum("failed" in m for m in messages) == 1  # one warning per outage
    assert any("works again" in m for m in messages)


@contextlib.asynccontextmanager
async def _own_keeper(res: Resources, ttl: float) -> AsyncIterator[SessionKeeper]:
    """A running keeper beside the worker's, with its own TTL (same database and cache)."""
    settings = res.settings.model_copy(update={"session_check_ttl_seconds": ttl})
    keeper = SessionKeeper(replace(res, settings=settings))
    task = asyncio.create_task(keeper.run())
    try:
        yield keeper
    finally:
        await stop_task(task)


async def _first_renewal(keeper: SessionKeeper, what: str) -> None:
    async def renewed() -> bool:
        return keeper.renewals > 0

    await eventually(renewed, what=what)


async def test_over_a_websocket_the_keeper_renews_and_closes_a_revoked_session(
    mongo_uri: str,
) -> None:
    # TTL 1 s: the admission answer expires several times over while the socket is idle.
    async with running_app(mongo_uri, session_check_ttl_seconds=1.0) as (url, res):
        token, sid = await token_for(res, Role.STAFF)
        keeper = keeper_of(res)
        async with await open_ws(url, token) as ws:
            await recv(ws)
            await subscribe(ws, ORDER_PLACED)
            await subscribers(res, "orders")
            start = keeper.renewals

            async def renewed_twice() -> bool:
                return keeper.renewals >= start + 2

            await eventually(renewed_twice, what="two renewals with no event")
            assert session_checks(res).seconds_left(str(sid)) > 0
            await placed(res)
            assert (await recv(ws, skip=("ping",)))["type"] == "next"

            # Revoked by another worker (no forget in this one), and no event after it: the
            # keeper finds it within the TTL and closes the socket by itself.
            await res.db.sessions.update_one({"_id": sid}, {"$set": {"revoked": True}})
            assert await closed_with(ws) == 4403
        await eventually(
            lambda: _is(keeper.watched == 0), what="the closed socket's session unwatched"
        )


async def _is(value: bool) -> bool:
    return value

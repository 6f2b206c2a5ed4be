"""Session checks of subscribers renewed in the background (alawael.realtime.liveness):
an answer late in its life is re-read after the event, so a steady flow of
events never waits for 1,000 sessions; it is never trusted past SESSION_CHECK_TTL_SECONDS,
and a re-read that finds the session revoked drops it at once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from bson import ObjectId

from alawael.auth.permissions import Actor, Role
from alawael.auth.sessions import session_checks
from alawael.context import Resources
from tests.conftest import make_settings
from tests.support.polling import eventually
from tests.support.schema_subscriptions import Sub, listening
from tests.support.subscriptions import placed
from tests.support.ws import signed_in_token

QUERY = "subscription { orderPlaced { number status } }"
TTL = 60.0


@pytest.fixture
async def res(mongo_uri: str) -> AsyncIterator[Resources]:
    from alawael.server import open_resources

    async with open_resources(make_settings(mongo_uri, session_check_ttl_seconds=TTL)) as res:
        yield res


async def _staff_with_session(res: Resources) -> tuple[Actor, ObjectId]:
    _, user, sid = await signed_in_token(res, Role.STAFF)
    return Actor(user_id=user.user_id, role=Role.STAFF, session_id=str(sid)), sid


async def test_an_aging_answer_is_renewed_after_the_event(res: Resources) -> None:
    staff, sid = await _staff_with_session(res)
    checks = session_checks(res)
    # Late in its life, past any session's renewal point (and lasting longer than any
    # wait below).
    checks.put(str(sid), staff.user_id, Role.STAFF, TTL / 4 - 1)
    sub = Sub(res, QUERY, staff)
    await listening(res, "orders", 1)

    await placed(res)
    assert (await sub.data())["orderPlaced"]["status"] == "PENDING"

    async def renewed() -> bool:
        return checks.seconds_left(str(sid)) > TTL / 2 + 1

    await eventually(renewed, what="the session check renewed in the background")
    await sub.close()


async def test_a_revocation_found_by_the_renewal_ends_the_subscription(res: Resources) -> None:
    staff, sid = await _staff_with_session(res)
    checks = session_checks(res)
    checks.put(str(sid), staff.user_id, Role.STAFF, TTL / 4 - 1)
    sub = Sub(res, QUERY, staff)
    await listening(res, "orders", 1)
    # Revoked by another worker: this worker's remembered answer is not forgotten by it.
    await res.db.sessions.update_one({"_id": sid}, {"$set": {"revoked": True}})

    await placed(res)
    # Still within the answer's TTL: delivered, exactly as before background renewal.
    assert (await sub.data())["orderPlaced"]["status"] == "PENDING"

    async def dropped() -> bool:
        return checks.seconds_left(str(sid)) == 0

    await eventually(dropped, what="the revoked session's answer dropped")
    await placed(res)
    ended = await sub.next()
    assert ended.errors[0].extensions["code"] == "UNAUTHENTICATED"
    assert await sub.next() is None  # completed


async def test_a_fresh_answer_is_not_re_read(res: Resources) -> None:
    staff, sid = await _staff_with_session(res)
    checks = session_checks(res)
    checks.put(str(sid), staff.user_id, Role.STAFF, TTL)
    sub = Sub(res, QUERY, staff)
    await listening(res, "orders", 1)
    await res.db.sessions.update_one({"_id": sid}, {"$set": {"revoked": True}})

    await placed(res)
    await placed(res)
    # A young answer is trusted as it always was (the TTL is the documented bound): no
    # background re-read dropped it, both events arrived.
    for _ in range(2):
        assert (await sub.data())["orderPlaced"]["status"] == "PENDING"
    assert checks.seconds_left(str(sid)) > TTL / 2
    await sub.close()

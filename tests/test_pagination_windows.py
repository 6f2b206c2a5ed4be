"""Newest-first pages read bounded time windows on a database that scans a whole index
range before applying the limit (SecantusDB): the same pages as one unbounded read, with the
first read bounded by a time window when recent data fills the page."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo.monitoring import CommandListener, CommandStartedEvent

from alawael.config import Settings
from alawael.context import Resources
from alawael.infra.db import Document, make_client, scans_before_limit
from alawael.services import pagination
from alawael.services.pagination import PageArgs, paginate


@pytest.fixture(autouse=True)
def fresh_windows() -> None:
    """Each test starts without learned windows (they are per worker, per query shape)."""
    pagination._LEARNED.clear()


class Finds(CommandListener):
    def __init__(self) -> None:
        self.filters: list[dict[str, Any]] = []

    def started(self, event: CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.filters.append(event.command["filter"])

    def succeeded(self, event: object) -> None:
        pass

    def failed(self, event: object) -> None:
        pass


def _orders(now: datetime, ages: list[timedelta]) -> list[Document]:
    docs: list[Document] = [
        {"_id": ObjectId(), "status": "PENDING", "createdAt": now - age} for age in ages
    ]
    # Ties on the sort value are broken by _id: two orders in the same millisecond.
    docs.append({"_id": ObjectId(), "status": "PENDING", "createdAt": docs[0]["createdAt"]})
    return docs


async def _walk(res: Resources, *, windowed: bool, size: int, query: Document) -> list[Any]:
    seen: list[Any] = []
    after = None
    while True:
        page = await paginate(
            res.db,
            "probe",
            query,
            sort_field="createdAt",
            direction=-1,
            args=PageArgs(first=size, after=after),
            windowed=windowed,
        )
        seen += [doc["_id"] for doc in page.items]
        if not page.has_next_page:
            return seen
        after = page.end_cursor


@pytest.mark.parametrize("spread", ["recent", "sparse", "mixed"])
async def test_windowed_pages_are_the_unbounded_pages(resources: Resources, spread: str) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC).replace(microsecond=0)
    ages = {
        "recent": [timedelta(minutes=rng.uniform(0, 600)) for _ in range(120)],
        "sparse": [timedelta(days=rng.uniform(30, 4000)) for _ in range(25)],
        "mixed": [timedelta(hours=rng.uniform(0, 24 * 400)) for _ in range(150)],
    }[spread]
    await resources.db.probe.insert_many(_orders(now, ages))
    for size in (1, 7, 20):
        for query in ({}, {"status": "PENDING"}):
            plain = await _walk(resources, windowed=False, size=size, query=query)
            windowed = await _walk(resources, windowed=True, size=size, query=query)
            assert windowed == plain, (spread, size, query)
            assert len(plain) == len(ages) + 1


async def test_a_full_recent_window_is_the_only_read(settings: Settings) -> None:
    listener = Finds()
    assert settings.mongodb_uri is not None
    client = make_client(settings.mongodb_uri, listeners=[listener])
    try:
        db = client[settings.mongodb_db]
        now = datetime.now(UTC)
        recent = [timedelta(seconds=s) for s in range(30)]
        old = [timedelta(days=300 + d) for d in range(200)]
        await db.probe.insert_many(_orders(now, recent + old))
        page = await paginate(
            db,
            "probe",
            {},
            sort_field="createdAt",
            direction=-1,
            args=PageArgs(first=20),
            windowed=True,
        )
        assert [doc["createdAt"] for doc in page.items] == sorted(
            (doc["createdAt"] for doc in page.items), reverse=True
        )
        assert page.has_next_page
        # One find, bounded to the last minute: the 200 old orders are never walked.
        assert len(listener.filters) == 1
        bound = listener.filters[0]["createdAt"]["$gte"]
        assert now - bound <= timedelta(minutes=1, seconds=5)
        assert await scans_before_limit(client) is True  # the embedded database says so
    finally:
        await client.close()


async def test_the_window_that_held_a_page_is_where_the_next_read_starts(
    settings: Settings,
) -> None:
    """A quiet collection (orders weeks old) walks up from a minute once; the next read of the
    same shape starts at the window it needed: one find. When the collection turns busy, the
    window narrows again after one read."""
    listener = Finds()
    assert settings.mongodb_uri is not None
    client = make_client(settings.mongodb_uri, listeners=[listener])
    try:
        db = client[settings.mongodb_db]
        now = datetime.now(UTC)
        await db.probe.insert_many(_orders(now, [timedelta(days=20 + d) for d in range(40)]))

        async def first_page() -> list[Any]:
            listener.filters.clear()
            page = await paginate(
                db,
                "probe",
                {},
                sort_field="createdAt",
                direction=-1,
                args=PageArgs(first=10),
                windowed=True,
            )
            return [doc["_id"] for doc in page.items]

        quiet = await first_page()
        assert len(listener.filters) > 1  # a minute, 16 minutes, 4 hours, 3 days, 45 days
        assert await first_page() == quiet
        assert len(listener.filters) == 1  # straight to the window that held the page
        # Busy now: the next read still answers right, and teaches the narrow window.
        busy = _orders(now, [timedelta(seconds=s) for s in range(20)])
        await db.probe.insert_many(busy)
        newest = await first_page()
        plain = await paginate(
            db, "probe", {}, sort_field="createdAt", direction=-1, args=PageArgs(first=10)
        )
        assert newest == [doc["_id"] for doc in plain.items]
        assert set(newest) <= {doc["_id"] for doc in busy}
        await first_page()
        assert len(listener.filters) == 1
        bound = listener.filters[0]["createdAt"]["$gte"]
        assert now - bound <= timedelta(minutes=1, seconds=5)
    finally:
        await client.close()

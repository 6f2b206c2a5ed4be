"""Scheduled jobs: what each one does, and that exactly one runner runs them."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from apscheduler.triggers.interval import IntervalTrigger
from bson import ObjectId
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.jobs import (
    JobRunner,
    JobSpec,
    LeaderLease,
    cleanup_idempotency,
    cleanup_notifications,
    daily_sales_summary,
    default_jobs,
    expire_ttl_documents,
    low_stock_notifications,
    run_once,
    ttl_indexes,
)
from tests.support.graphql import make_user
from tests.support.processes import ServerProcess

NOW = datetime.now(UTC)


async def _eventually(predicate: Callable[[], bool], within: float = 5.0) -> None:
    for _ in range(int(within / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def _product(stock: int, threshold: int = 5, **extra: Any) -> dict[str, Any]:
    oid = ObjectId()
    return {
        "_id": oid,
        "sku": f"SKU-{oid}",
        "name": f"Product {oid}",
        "description": "",
        "category": "tools",
        "priceCents": 1000,
        "currency": "SAR",
        "stock": stock,
        "archived": False,
        "lowStockThreshold": threshold,
        "createdAt": NOW,
        "updatedAt": NOW,
        **extra,
    }


def test_every_ttl_index_is_expired_by_a_scheduled_job(resources: Resources) -> None:
    """The embedded database's own sweeper is off: the job runner must cover every TTL
    index we declare, and run on its own schedule."""
    assert {c for c, _, _ in ttl_indexes()} == {
        "analytics",
        "sessions",
        "audit_trail",
        "idempotency",
        "account_tokens",
    }
    assert "expire_ttl" in [job.name for job in default_jobs(resources)]


async def test_expire_ttl_deletes_what_each_ttl_index_says_has_expired(
    resources: Resources,
) -> None:
    from alawael.infra.indexes import ensure_indexes

    await ensure_indexes(resources.db, force=True)
    past, future = NOW - timedelta(minutes=1), NOW + timedelta(minutes=1)
    old = NOW - timedelta(days=400)  # past analytics' 90 days and the audit trail's year
    await resources.db.sessions.insert_many(
        [{"_id": f"s{i}", "expireAt": past} for i in range(5)]
        + [{"_id": "live", "expireAt": future}]
    )
    await resources.db.idempotency.insert_many(
        [{"_id": "gone", "expireAt": past}, {"_id": "kept", "expireAt": future}]
    )
    await resources.db.analytics.insert_many(
        [
            {"_id": "old", "timestamp": old},
            {"_id": "recent", "timestamp": NOW - timedelta(days=89)},
            {"_id": "no-date", "timestamp": "yesterday"},  # mongod leaves non-dates alone
        ]
    )
    await resources.db.audit_trail.insert_many(
        [{"_id": "old", "timestamp": old}, {"_id": "recent", "timestamp": NOW}]
    )
    # Password-reset and invitation links: an expired one goes, a live one stays.
    await resources.db.account_tokens.insert_many(
        [
            {"_id": "spent-link", "tokenHash": "a", "expireAt": past},
            {"_id": "live-link", "tokenHash": "b", "expireAt": future},
        ]
    )
    # batch_size 2: five expired sessions take three batches
    result = await expire_ttl_documents(resources, now=NOW, batch_size=2)
    assert result["deleted"] == {
        "analytics": 1,
        "sessions": 5,
        "audit_trail": 1,
        "idempotency": 1,
        "account_tokens": 1,
    }
    assert [d["_id"] async for d in resources.db.sessions.find()] == ["live"]
    assert [d["_id"] async for d in resources.db.account_tokens.find()] == ["live-link"]
    assert [d["_id"] async for d in resources.db.idempotency.find()] == ["kept"]
    assert sorted([d["_id"] async for d in resources.db.analytics.find()]) == ["no-date", "recent"]
    assert [d["_id"] async for d in resources.db.audit_trail.find()] == ["recent"]


@pytest.mark.slow
def test_a_running_server_expires_sessions_without_the_database_sweeper(
    mongo_uri: str, tmp_path: Path
) -> None:
    """End to end: the test database runs with SecantusDB's sweeper off (as every embedded
    database we start does), and an expired session still goes."""
    from pymongo import MongoClient

    from tests.support.polling import wait_until

    db_name = f"t_ttl_{os.getpid()}"
    env = {
        "MONGODB_URI": mongo_uri,
        "MONGODB_DB": db_name,
        "JOBS_ENABLED": "true",
        "JOBS_TTL_INTERVAL_SECONDS": "0.2",
        "ANALYTICS_ENABLED": "false",
    }
    client: MongoClient[dict[str, Any]]
    with MongoClient(mongo_uri, tz_aware=True) as client:
        client[db_name].sessions.insert_one({"_id": "expired", "expireAt": NOW - timedelta(1)})
        with ServerProcess(env, log_path=tmp_path / "server.log"):
            wait_until(
                lambda: client[db_name].sessions.find_one({"_id": "expired"}) is None,
                within=30,
                what="the server's job runner expired the session",
            )
        client.drop_database(db_name)


async def test_cleanup_removes_expired_idempotency_records_only(resources: Resources) -> None:
    await resources.db.idempotency.insert_many(
        [
            {"_id": "a", "result": {}, "createdAt": NOW, "expireAt": NOW - timedelta(hours=1)},
            {"_id": "b", "result": {}, "createdAt": NOW, "expireAt": NOW + timedelta(hours=1)},
        ]
    )
    assert await cleanup_idempotency(resources) == {"deleted": 1}
    assert [d["_id"] async for d in resources.db.idempotency.find()] == ["b"]


async def test_cleanup_removes_read_notifications_older_than_30_days(
    resources: Resources,
) -> None:
    old, recent = NOW - timedelta(days=31), NOW - timedelta(days=29)
    docs = [
        {"read": True, "createdAt": old, "title": "old read"},
        {"read": False, "createdAt": old, "title": "old unread"},
        {"read": True, "createdAt": recent, "title": "recent read"},
    ]
    await resources.db.notifications.insert_many(
        [{**d, "userId": ObjectId(), "type": "ORDER_PLACED"} for d in docs]
    )
    assert await cleanup_notifications(resources) == {"deleted": 1}
    left = sorted([d["title"] async for d in resources.db.notifications.find()])
    assert left == ["old unread", "recent read"]


async def test_low_stock_notifies_managers_once_a_day(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    admin = await make_user(resources, Role.ADMIN)
    await make_user(resources, Role.CUSTOMER)
    low, fine = _product(stock=2), _product(stock=50)
    archived = _product(stock=0, archived=True)
    await resources.db.products.insert_many([low, fine, archived])

    async with resources.events.subscribe("notifications") as events:
        assert await low_stock_notifications(resources) == {"products": 1, "alreadyNotified": 0}
        first = await asyncio.wait_for(anext(aiter(events)), 2)
    notes = [d async for d in resources.db.notifications.find({"type": "LOW_STOCK"})]
    assert sorted(str(n["userId"]) for n in notes) == sorted([manager.user_id, admin.user_id])
    assert all(n["data"]["productId"] == low["_id"] for n in notes)
    assert first["userId"] in (manager.user_id, admin.user_id)

    # The next tick within 24 h: nothing new.
    assert await low_stock_notifications(resources) == {"products": 0, "alreadyNotified": 1}
    assert await resources.db.notifications.count_documents({"type": "LOW_STOCK"}) == 2


async def test_daily_summary_reports_yesterdays_sales_once(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    today = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    yesterday = today - timedelta(days=1)

    def order(total: int, at: datetime, status: str = "CONFIRMED") -> dict[str, Any]:
        return {
            "number": f"ORD-{ObjectId()}",
            "userId": ObjectId(),
            "items": [],
            "subtotalCents": total,
            "totalCents": total,
            "currency": "SAR",
            "status": status,
            "statusHistory": [],
            "createdAt": at,
            "updatedAt": at,
        }

    await resources.db.orders.insert_many(
        [
            order(1000, yesterday.replace(hour=1)),
            order(2550, yesterday.replace(hour=23)),
            order(9999, yesterday.replace(hour=12), status="CANCELLED"),
            order(7777, today.replace(hour=1)),  # today: not in yesterday's summary
        ]
    )
    result = await daily_sales_summary(resources, today=today)
    assert result == {"date": "2026-11-23", "orderCount": 2, "revenueCents": 3550}
    note = await resources.db.notifications.find_one({"type": "DAILY_SUMMARY"})
    assert note is not None
    assert note["userId"] == ObjectId(manager.user_id)
    assert "35.50" in note["body"]
    again = await daily_sales_summary(resources, today=today)
    assert again["skipped"] == "already sent"
    assert await resources.db.notifications.count_documents({"type": "DAILY_SUMMARY"}) == 1


async def test_job_runs_are_counted_and_failures_logged(
    resources: Resources, caplog: pytest.LogCaptureFixture
) -> None:
    async def fails(res: Resources) -> dict[str, Any]:
        raise RuntimeError("job exploded")

    def runs(result: str) -> float:
        value = REGISTRY.get_sample_value(
            "alawael_job_runs_total", {"job": "probe", "result": result}
        )
        return value or 0.0

    ok_before, err_before = runs("success"), runs("error")
    trigger = IntervalTrigger(seconds=60)
    assert await run_once(resources, JobSpec("probe", cleanup_idempotency, trigger)) == "success"
    with caplog.at_level(logging.INFO, logger="alawael.jobs"):
        assert await run_once(resources, JobSpec("probe", fails, trigger)) == "error"
    assert runs("success") == ok_before + 1
    assert runs("error") == err_before + 1
    failed = [r for r in caplog.records if r.name == "alawael.jobs" and r.levelno == logging.ERROR]
    assert failed
    assert failed[0].exc_info is not None


def _counting_job(counter: list[str], label: str) -> JobSpec:
    async def tick(res: Resources) -> dict[str, Any]:
        counter.append(label)
        return {}

    return JobSpec("tick", tick, IntervalTrigger(seconds=0.1))


async def test_two_runners_sharing_redis_run_each_tick_once(
    resources: Resources, redis_url: str
) -> None:
    redis_a, redis_b = Redis.from_url(redis_url), Redis.from_url(redis_url)
    ran: list[str] = []
    a = JobRunner(resources, [_counting_job(ran, "a")], LeaderLease(redis_a, ttl_seconds=0.6))
    b = JobRunner(resources, [_counting_job(ran, "b")], LeaderLease(redis_b, ttl_seconds=0.6))
    try:
        await a.start()
        await b.start()
        await _eventually(lambda: len(ran) >= 5)
        assert [a.leading, b.leading].count(True) == 1
        leader, follower = (a, b) if a.leading else (b, a)
        assert set(ran) == {"a" if leader is a else "b"}, "only the leader's scheduler ran"

        # The leader goes away (releasing its lease): the other takes over.
        await leader.close()
        ran.clear()
        await _eventually(lambda: follower.leading and len(ran) >= 2)
        assert set(ran) == {"a" if follower is a else "b"}
    finally:
        await a.close()
        await b.close()
        await redis_a.aclose()
        await redis_b.aclose()


async def test_a_runner_that_loses_its_lease_stops_running_jobs(
    resources: Resources, redis_url: str
) -> None:
    redis = Redis.from_url(redis_url)
    ran: list[str] = []
    lease = LeaderLease(redis, ttl_seconds=0.6)
    runner = JobRunner(resources, [_counting_job(ran, "a")], lease)
    try:
        await runner.start()
        await _eventually(lambda: len(ran) >= 1)
        # Someone else holds the lease now (ours expired during a stall, say).
        await redis.set(lease.key, "another-worker", px=5000)
        await _eventually(lambda: not runner.leading)
        count = len(ran)
        await asyncio.sleep(0.3)
        assert len(ran) == count
        assert await redis.get(lease.key) == b"another-worker", "never deletes others' lease"
    finally:
        await runner.close()
        assert await redis.get(lease.key) == b"another-worker"
        await redis.aclose()


async def test_without_redis_the_single_worker_runs_the_jobs(resources: Resources) -> None:
    ran: list[str] = []
    runner = JobRunner(resources, [_counting_job(ran, "solo")], lease=None)
    await runner.start()
    try:
        assert runner.leading
        await _eventually(lambda: len(ran) >= 2)
    finally:
        await runner.close()


def _job_runs(url: str, job: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("alawael_job_runs_total{") and f'job="{job}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.slow
def test_two_server_processes_share_one_job_runner(
    mongo_uri: str, redis_url: str, tmp_path: Path
) -> None:
    env = {
        "MONGODB_URI": mongo_uri,
        "MONGODB_DB": f"t_jobs_{os.getpid()}",
        "REDIS_URL": redis_url,
        "JOBS_ENABLED": "true",
        "JOBS_CLEANUP_INTERVAL_SECONDS": "0.2",
        "JOBS_LOCK_TTL_SECONDS": "3",
        "ANALYTICS_ENABLED": "false",
    }
    servers = [ServerProcess(env, log_path=tmp_path / f"server{i}.log") for i in (1, 2)]
    try:
        # Started side by side: both race for the lease from their first second.
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(ServerProcess.start, servers))
        runs = [0.0, 0.0]
        for _ in range(100):
            runs = [_job_runs(s.url, "cleanup_idempotency") for s in servers]
            if max(runs) >= 4:
                break
            time.sleep(0.1)
        assert max(runs) >= 4
        assert min(runs) == 0, f"both processes ran the job: {runs}"
    finally:
        codes = [s.stop() for s in servers]
    assert codes == [0, 0]

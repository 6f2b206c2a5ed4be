"""Scheduled jobs, run by exactly one worker across all workers and instances.

Leadership is a Redis lease: `SET alawael:jobs:leader <token> NX PX <ttl>`, renewed every
ttl/3 with a compare-and-PEXPIRE script and released with compare-and-DEL, so a worker can
only extend or drop its *own* lease. The leader runs an APScheduler `AsyncIOScheduler`;
a worker that loses the lease (Redis away, a stall longer than the ttl) stops its scheduler
at once: no runner for a moment is better than two. Each run also checks the lease right
before it starts, and the jobs are idempotent on their own (24 h de-duplication for low
stock, one summary per day), so a handover at the worst moment cannot double-notify.

Without Redis there is only one worker (the CLI enforces it), and it runs the jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pymongo import ASCENDING

from alawael.auth.permissions import Role
from alawael.infra import metrics
from alawael.infra.backup.job import scheduled_backup, scheduled_drill
from alawael.infra.db import Document
from alawael.infra.indexes import INDEXES
from alawael.infra.resources import Resources

log = logging.getLogger("alawael.jobs")

LEADER_KEY = "alawael:jobs:leader"
READ_NOTIFICATION_RETENTION = timedelta(days=30)
LOW_STOCK_RENOTIFY_AFTER = timedelta(hours=24)
# Documents deleted per round trip by expire_ttl_documents: small enough that the embedded
# database (one storage lock) answers other queries between batches.
TTL_BATCH_SIZE = 500

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""

JobFn = Callable[[Resources], Awaitable[dict[str, Any] | None]]


# --- The jobs ------------------------------------------------------------------------------
def ttl_indexes() -> list[tuple[str, str, float]]:
    """(collection, field, expireAfterSeconds) of every single-field TTL index in INDEXES:
    the one place our retention periods are declared."""
    out: list[tuple[str, str, float]] = []
    for collection, models in INDEXES.items():
        for model in models:
            spec = model.document
            ttl = spec.get("expireAfterSeconds")
            keys = list(spec["key"].items())
            if ttl is not None and len(keys) == 1:
                out.append((collection, str(keys[0][0]), float(ttl)))
    return out


async def expire_ttl_documents(
    res: Resources, *, now: datetime | None = None, batch_size: int = TTL_BATCH_SIZE
) -> dict[str, Any]:
    """Delete what the TTL indexes say has expired, as mongod's TTL monitor would.

    The embedded database's own sweeper is off (alawael.infra.db.EMBEDDED_TTL_SWEEP_SECONDS): it
    decodes every document of every TTL collection under its storage lock, stalling all
    queries once a minute. Here each batch is one range read on the TTL index (oldest
    first, `_id` only) and one delete by `_id`, so other requests interleave between
    batches and the cost follows what expired, not the collection's size. On a real
    MongoDB this finds what its own monitor has not reached yet: harmless."""
    now = now or datetime.now(UTC)
    deleted: dict[str, int] = {}
    for collection, field_name, ttl in ttl_indexes():
        cutoff = now - timedelta(seconds=ttl)
        expired = {field_name: {"$lt": cutoff}}  # only dates compare with a date: as mongod
        total = 0
        while True:
            cursor = (
                res.db[collection]
                .find(expired, {"_id": 1})
                .sort(field_name, ASCENDING)
                .limit(batch_size)
            )
            ids = [doc["_id"] async for doc in cursor]
            if not ids:
                break
            result = await res.db[collection].delete_many({"_id": {"$in": ids}, **expired})
            total += result.deleted_count
            if len(ids) < batch_size:
                break
        deleted[collection] = total
    return {"deleted": deleted}


async def cleanup_idempotency(res: Resources) -> dict[str, Any]:
    """expire_ttl_documents removes expired records through the TTL index (once a minute);
    this sweeps leftovers, e.g. records written before the index existed."""
    result = await res.db.idempotency.delete_many({"expireAt": {"$lt": datetime.now(UTC)}})
    return {"deleted": result.deleted_count}


async def cleanup_notifications(res: Resources) -> dict[str, Any]:
    cutoff = datetime.now(UTC) - READ_NOTIFICATION_RETENTION
    result = await res.db.notifications.delete_many({"read": True, "createdAt": {"$lt": cutoff}})
    return {"deleted": result.deleted_count}


async def low_stock_notifications(res: Resources) -> dict[str, Any]:
    """Managers hear about products below their threshold, at most once a day each."""
    from alawael.services.notifications import notify_low_stock

    cursor = res.db.products.find(
        {"archived": {"$ne": True}, "$expr": {"$lt": ["$stock", "$lowStockThreshold"]}},
        {"sku": 1, "name": 1, "stock": 1, "lowStockThreshold": 1},
    )
    low = [doc async for doc in cursor]
    if not low:
        return {"products": 0}
    since = datetime.now(UTC) - LOW_STOCK_RENOTIFY_AFTER
    recent = await res.db.notifications.distinct(
        "data.productId",
        {
            "type": "LOW_STOCK",
            "createdAt": {"$gte": since},
            "data.productId": {"$in": [doc["_id"] for doc in low]},
        },
    )
    notified = {str(pid) for pid in recent}
    fresh = [doc for doc in low if str(doc["_id"]) not in notified]
    await notify_low_stock(res, fresh)
    return {"products": len(fresh), "alreadyNotified": len(low) - len(fresh)}


async def daily_sales_summary(res: Resources, *, today: datetime | None = None) -> dict[str, Any]:
    """Yesterday's (UTC) revenue and order count, to every active manager and admin."""
    from alawael.records.notifications import NotificationType
    from alawael.services.analytics import Granularity, sales_summary
    from alawael.services.notifications import notify
    from alawael.shared.money import cents_to_decimal

    now = today or datetime.now(UTC)
    end = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=1)
    day = start.date().isoformat()
    if await res.db.notifications.find_one({"type": "DAILY_SUMMARY", "data.date": day}):
        return {"date": day, "skipped": "already sent"}
    summary = await sales_summary(res, start, end, Granularity.DAY)
    revenue, count = int(summary["revenueCents"]), int(summary["orderCount"])
    managers = [
        doc["_id"]
        async for doc in res.db.users.find(
            {"role": {"$in": [Role.MANAGER.value, Role.ADMIN.value]}, "active": True}, {"_id": 1}
        )
    ]
    await notify(
        res,
        managers,
        type=NotificationType.DAILY_SUMMARY,
        title=f"Sales summary for {day}",
        body=f"{count} orders, revenue {cents_to_decimal(revenue)} SAR.",
        data={"date": day, "orderCount": count, "revenueCents": revenue},
    )
    return {"date": day, "orderCount": count, "revenueCents": revenue}


@dataclass(frozen=True)
class JobSpec:
    name: str
    fn: JobFn
    trigger: Any  # an APScheduler trigger


def default_jobs(res: Resources) -> list[JobSpec]:
    s = res.settings
    cleanup = IntervalTrigger(seconds=s.jobs_cleanup_interval_seconds)
    jobs = [
        JobSpec(
            "expire_ttl",
            expire_ttl_documents,
            IntervalTrigger(seconds=s.jobs_ttl_interval_seconds),
        ),
        JobSpec("cleanup_idempotency", cleanup_idempotency, cleanup),
        JobSpec("cleanup_notifications", cleanup_notifications, cleanup),
        JobSpec(
            "low_stock_notifications",
            low_stock_notifications,
            IntervalTrigger(seconds=s.jobs_low_stock_interval_seconds),
        ),
        JobSpec(
            "daily_sales_summary",
            daily_sales_summary,
            CronTrigger(hour=s.jobs_daily_summary_hour, minute=0, timezone=UTC),
        ),
    ]
    if s.backup_interval_hours > 0:
        jobs.append(
            JobSpec("backup", scheduled_backup, IntervalTrigger(hours=s.backup_interval_hours))
        )
    if s.backup_drill_interval_hours > 0:
        jobs.append(
            JobSpec(
                "restore_drill",
                scheduled_drill,
                IntervalTrigger(hours=s.backup_drill_interval_hours),
            )
        )
    return jobs


# --- Leadership ----------------------------------------------------------------------------
class LeaderLease:
    """A Redis lease owned by a random token (so only its owner can renew or release it)."""

    def __init__(self, redis: Any, ttl_seconds: float, key: str = LEADER_KEY) -> None:
        self.redis = redis
        self.key = key
        self.ttl_ms = max(int(ttl_seconds * 1000), 100)
        self.token = uuid.uuid4().hex

    async def acquire(self) -> bool:
        return bool(await self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms))

    async def renew(self) -> bool:
        return bool(await self.redis.eval(_RENEW, 1, self.key, self.token, self.ttl_ms))

    async def release(self) -> None:
        await self.redis.eval(_RELEASE, 1, self.key, self.token)


class JobRunner:
    def __init__(self, res: Resources, jobs: Sequence[JobSpec], lease: LeaderLease | None) -> None:
        self.res = res
        self.jobs = list(jobs)
        self.lease = lease
        self.leading = False
        self._scheduler: AsyncIOScheduler | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        if self.lease is None:
            self._become_leader()
        else:
            self._task = asyncio.create_task(self._hold_lease(), name="jobs-leader")

    async def close(self) -> None:
        if self._task is not None:
            # Ask the loop to stop rather than only cancelling it: redis-py can turn a
            # cancellation that lands mid-command into a ConnectionError, which the loop
            # (rightly) survives, and `await task` would then wait forever.
            self._stop.set()
            try:
                await asyncio.wait_for(self._task, self.lease.ttl_ms / 1000 if self.lease else 1)
            except TimeoutError:
                pass  # wait_for cancelled it
            except asyncio.CancelledError:
                pass
        self._stop_scheduler()
        if self.lease is not None and self.leading:
            with contextlib.suppress(Exception):  # Redis gone: the lease simply expires
                await self.lease.release()
        self.leading = False

    async def _hold_lease(self) -> None:
        assert self.lease is not None
        interval = self.lease.ttl_ms / 3000
        while not self._stop.is_set():
            try:
                if self.leading:
                    if not await self.lease.renew():
                        self._step_down("lease lost")
                elif await self.lease.acquire():
                    self._become_leader()
            except Exception as exc:  # Redis away: step down rather than risk two runners
                if self.leading:
                    self._step_down(f"redis error: {exc}")
                else:
                    log.debug("job lease check failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval)

    def _become_leader(self) -> None:
        self.leading = True
        scheduler = AsyncIOScheduler(timezone=UTC)
        for job in self.jobs:
            scheduler.add_job(
                self.run_job,
                job.trigger,
                args=[job],
                id=job.name,
                name=job.name,
                coalesce=True,  # after a stall, run once, not once per missed tick
                max_instances=1,
                misfire_grace_time=60,
            )
        scheduler.start()
        self._scheduler = scheduler
        log.info("job runner started in this worker", extra={"jobs": [j.name for j in self.jobs]})

    def _step_down(self, why: str) -> None:
        log.warning("job runner stopping in this worker: %s", why)
        self.leading = False
        self._stop_scheduler()

    def _stop_scheduler(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            # Not via `shutdown()`: it defers to call_soon, and a closing loop may never
            # run it; removing the jobs and stopping the timer is immediate.
            scheduler.remove_all_jobs()
            scheduler.shutdown(wait=False)

    async def run_job(self, job: JobSpec) -> None:
        if self.lease is not None:
            try:
                still_mine = await self.lease.renew()
            except Exception:
                still_mine = False
            if not still_mine:
                self._step_down("lease lost before a run")
                return
        await run_once(self.res, job)


async def run_once(res: Resources, job: JobSpec) -> str:
    """Run a job, with its log line and metrics. Returns "success" or "error"."""
    start = time.perf_counter()
    try:
        details = await job.fn(res)
    except Exception:
        seconds = time.perf_counter() - start
        metrics.JOB_RUNS.labels(job.name, "error").inc()
        metrics.JOB_DURATION.labels(job.name).observe(seconds)
        log.exception("job %s failed", job.name, extra={"job": job.name})
        return "error"
    seconds = time.perf_counter() - start
    metrics.JOB_RUNS.labels(job.name, "success").inc()
    metrics.JOB_DURATION.labels(job.name).observe(seconds)
    log.info(
        "job %s done in %.0fms",
        job.name,
        seconds * 1000,
        extra={"job": job.name, "duration_ms": round(seconds * 1000, 3), **(details or {})},
    )
    return "success"


def make_runner(res: Resources, jobs: Sequence[JobSpec] | None = None) -> JobRunner:
    lease = (
        LeaderLease(res.redis, res.settings.jobs_lock_ttl_seconds)
        if res.redis is not None
        else None
    )
    return JobRunner(res, default_jobs(res) if jobs is None else jobs, lease)


@contextlib.asynccontextmanager
async def jobs_subsystem(res: Resources) -> AsyncIterator[None]:
    if not res.settings.jobs_enabled:
        yield
        return
    runner = make_runner(res)
    res.extras["jobs"] = runner
    await runner.start()
    try:
        yield
    finally:
        res.extras.pop("jobs", None)
        await runner.close()


def job_names(jobs: Sequence[JobSpec]) -> list[str]:
    return [job.name for job in jobs]


__all__ = ["Document", "JobRunner", "JobSpec", "LeaderLease", "jobs_subsystem", "run_once"]

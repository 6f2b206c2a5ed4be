"""Retention, the restore drill, the scheduled backup job and what /metrics reports."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from alawael.context import Resources
from alawael.infra.backup.drill import restore_drill
from alawael.infra.backup.dump import dump_database
from alawael.infra.backup.job import scheduled_backup
from alawael.infra.backup.layout import MANIFEST, backup_id, completed_backups
from alawael.infra.backup.retention import Retention, backups_to_keep, prune
from alawael.infra.backup.status import BackupStatus
from alawael.jobs import JobSpec, default_jobs, run_once

T0 = datetime(2026, 12, 4, 19, 30, tzinfo=UTC)


def test_retention_keeps_the_newest_of_each_hour_day_and_month() -> None:
    # every 30 minutes for 70 days
    times = [T0 - timedelta(minutes=30 * i) for i in range(70 * 48)]
    keep = backups_to_keep(times, Retention(hourly=3, daily=2, monthly=3))
    assert keep == {
        T0,  # newest; also hour 19 and day 4 and month 12
        T0 - timedelta(hours=1),  # 18:30, newest of hour 18
        T0 - timedelta(hours=2),  # 17:30
        datetime(2026, 12, 3, 23, 30, tzinfo=UTC),  # newest of Dec 3
        datetime(2026, 11, 30, 23, 30, tzinfo=UTC),  # newest of November
        datetime(2026, 10, 31, 23, 30, tzinfo=UTC),  # newest of October
    }


def test_retention_counts_periods_that_have_a_backup_and_always_keeps_the_newest() -> None:
    gap = [T0, T0 - timedelta(days=10), T0 - timedelta(days=20), T0 - timedelta(days=30)]
    assert backups_to_keep(gap, Retention(hourly=0, daily=3, monthly=0)) == set(gap[:3])
    assert backups_to_keep(gap, Retention(0, 0, 0)) == {T0}
    assert backups_to_keep([], Retention(1, 1, 1)) == set()


def _fake_backup(root: Path, at: datetime) -> Path:
    path = root / backup_id(at)
    path.mkdir(parents=True)
    (path / MANIFEST).write_text("{}")
    return path


def test_prune_deletes_what_the_policy_drops_and_stale_partials(tmp_path: Path) -> None:
    times = [T0 - timedelta(hours=i) for i in range(5)]
    for at in times:
        _fake_backup(tmp_path, at)
    stale = tmp_path / (backup_id(T0 - timedelta(days=3)) + ".partial")
    stale.mkdir()
    old = time.time() - 3 * 86400
    os.utime(stale, (old, old))
    fresh = tmp_path / (backup_id(T0) + "x.partial")  # a run in progress
    fresh.mkdir()
    removed = prune(tmp_path, Retention(hourly=2, daily=0, monthly=0))
    assert sorted(p.name for p in removed) == sorted(
        [backup_id(t) for t in times[2:]] + [stale.name]
    )
    assert [at for at, _ in completed_backups(tmp_path)] == sorted(times[:2])
    assert fresh.exists()


async def test_drill_restores_the_latest_backup_into_a_scratch_database_and_drops_it(
    resources: Resources, tmp_path: Path
) -> None:
    await resources.db.products.insert_many([{"sku": f"S{i}", "stock": i} for i in range(25)])
    await dump_database(resources.client, resources.db.name, tmp_path / backup_id(T0))
    await resources.db.products.insert_one({"sku": "later"})
    latest = tmp_path / backup_id(T0 + timedelta(hours=1))
    await dump_database(resources.client, resources.db.name, latest, gz=True)
    before = set(await resources.client.list_database_names())

    report = await restore_drill(resources.client, tmp_path)
    assert report.ok, report.problems
    assert report.backup == str(latest)
    assert report.documents == 26 + await resources.db.meta.count_documents({})
    assert set(await resources.client.list_database_names()) == before  # scratch dropped
    status = _status(tmp_path)
    assert status["alawael_restore_drill_last_success"] == 1
    assert status["alawael_restore_drill_last_run_timestamp_seconds"] > 0

    # A damaged latest backup: the drill fails, says why, and the metric shows it.
    bson_file = latest / resources.db.name / "products.bson.gz"
    bson_file.write_bytes(bson_file.read_bytes()[:-4])
    failed = await restore_drill(resources.client, tmp_path)
    assert not failed.ok
    assert any("SHA-256" in p for p in failed.problems)
    assert _status(tmp_path)["alawael_restore_drill_last_success"] == 0
    assert set(await resources.client.list_database_names()) == before


async def test_drill_without_any_backup_fails(resources: Resources, tmp_path: Path) -> None:
    report = await restore_drill(resources.client, tmp_path / "empty")
    assert not report.ok
    assert json.loads((tmp_path / "empty" / "restore-drill.json").read_text())["ok"] is False


def _status(root: Path) -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(BackupStatus(root))
    return {s.name: s.value for m in registry.collect() for s in m.samples}


async def test_scheduled_backup_job_dumps_prunes_and_shows_in_metrics(
    resources: Resources, tmp_path: Path
) -> None:
    settings = resources.settings.model_copy(
        update={"backup_dir": tmp_path, "backup_keep_hourly": 1, "backup_keep_daily": 0}
    )
    res = Resources(
        settings=settings,
        client=resources.client,
        db=resources.db,
        cache=resources.cache,
        events=resources.events,
    )
    assert {"backup", "restore_drill"} <= {job.name for job in default_jobs(res)}
    assert _status(tmp_path)["alawael_backup_last_success_timestamp_seconds"] == 0
    old = _fake_backup(tmp_path, T0 - timedelta(days=2))
    await resources.db.users.insert_one({"email": "a@b.example"})

    assert await run_once(res, JobSpec("backup", scheduled_backup, None)) == "success"
    backups = completed_backups(tmp_path)
    assert len(backups) == 1  # the old one pruned (one hourly copy kept)
    assert not old.exists()
    status = _status(tmp_path)
    assert status["alawael_backup_last_success_timestamp_seconds"] > 0
    assert status["alawael_backup_last_size_bytes"] > 0
    assert status["alawael_backups_kept"] == 1


def test_cli_backup_restore_and_drill(
    mongo_uri: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pymongo import MongoClient

    from alawael.__main__ import main

    db_name = f"cli_{os.getpid()}"
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("MONGODB_DB", db_name)
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path / "backups"))
    with MongoClient(mongo_uri) as client:
        client[db_name].products.insert_many([{"sku": f"S{i}"} for i in range(10)])
        try:
            assert main(["backup", "--gzip"]) == 0
            (backup,) = completed_backups(tmp_path / "backups")
            assert main(["restore", "--from", str(backup[1])]) == 1  # target not empty
            assert "--drop" in capsys.readouterr().err
            assert main(["restore", "--from", str(backup[1]), "--drop", "--verify"]) == 0
            assert "verified" in capsys.readouterr().out
            assert main(["restore-drill"]) == 0
            assert "result: OK" in capsys.readouterr().out
            assert client[db_name].products.count_documents({}) == 10
        finally:
            client.drop_database(db_name)

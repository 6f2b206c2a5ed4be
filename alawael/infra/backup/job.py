"""The scheduled backup and drill, as job-runner jobs (one runner across all workers)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from alawael.infra.backup.drill import restore_drill
from alawael.infra.backup.dump import dump_database
from alawael.infra.backup.layout import backup_id
from alawael.infra.backup.retention import Retention, prune
from alawael.infra.resources import Resources


def retention_of(res: Resources) -> Retention:
    s = res.settings
    return Retention(s.backup_keep_hourly, s.backup_keep_daily, s.backup_keep_monthly)


async def scheduled_backup(res: Resources) -> dict[str, Any]:
    """Dump the database into BACKUP_DIR/<id>, then apply the retention policy. A failure
    raises: the runner logs it and counts it in alawael_job_runs_total{job="backup"}."""
    root = res.settings.backup_dir
    out = root / backup_id(datetime.now(UTC))
    manifest = await dump_database(
        res.client, res.settings.mongodb_db, out, gz=res.settings.backup_gzip
    )
    removed = await asyncio.to_thread(prune, root, retention_of(res))
    return {
        "backup": str(out),
        "documents": sum(c.count for c in manifest.collections),
        "bytes": manifest.size_bytes,
        "consistency": manifest.consistency,
        "pruned": len(removed),
    }


async def scheduled_drill(res: Resources) -> dict[str, Any]:
    report = await restore_drill(res.client, res.settings.backup_dir)
    if not report.ok:
        raise RuntimeError("restore drill failed: " + "; ".join(report.problems))
    return {"backup": report.backup, "documents": report.documents, "seconds": report.seconds}

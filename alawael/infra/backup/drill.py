"""`alawael restore-drill`: prove the latest backup restores, without touching live data.

The latest backup is restored into a scratch database (`<db>_drill_<backup id>`), verified
against its manifest (counts, SHA-256 of every collection re-read, index definitions), and
the scratch database is dropped whatever happened. The result is written beside the
backups (`restore-drill.json`) and shown by /metrics, so a drill that stopped working is an
alert, not a surprise on the day a restore is needed.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pymongo import AsyncMongoClient

from alawael.infra.backup.layout import DRILL_RESULT, Manifest, latest_backup
from alawael.infra.backup.restore import restore_backup
from alawael.infra.db import Document


@dataclass
class DrillReport:
    backup: str | None
    scratch_db: str | None = None
    backup_age_seconds: float | None = None
    documents: int = 0
    collections: int = 0
    indexes: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.backup is not None and not self.problems


async def restore_drill(
    client: AsyncMongoClient[Document], backup_root: Path, *, scratch_db: str | None = None
) -> DrillReport:
    started = time.perf_counter()
    source = await asyncio.to_thread(latest_backup, backup_root)
    if source is None:
        report = DrillReport(backup=None, problems=[f"no backup in {backup_root}"])
        await asyncio.to_thread(record_drill, backup_root, report)
        return report
    manifest = await asyncio.to_thread(Manifest.read, source)
    scratch = scratch_db or f"{manifest.database}_drill_{source.name}"
    created = datetime.fromisoformat(manifest.created_at)
    report = DrillReport(
        backup=str(source),
        scratch_db=scratch,
        backup_age_seconds=round((datetime.now(UTC) - created).total_seconds(), 1),
    )
    try:
        restored = await restore_backup(client, source, target_db=scratch, drop=True, verify=True)
        report.documents = restored.documents
        report.collections = restored.collections
        report.indexes = restored.indexes
        report.problems = restored.problems
    except Exception as exc:  # a damaged backup, a refused insert: the drill's finding
        report.problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        await client.drop_database(scratch)
    report.seconds = round(time.perf_counter() - started, 3)
    await asyncio.to_thread(record_drill, backup_root, report)
    return report


def record_drill(root: Path, report: DrillReport) -> None:
    """Leave the result beside the backups (atomically): /metrics reads it from there, so a
    drill run from the CLI shows in the server's metrics like a scheduled one."""
    root.mkdir(parents=True, exist_ok=True)
    payload = asdict(report) | {"ok": report.ok, "finished_at": time.time()}
    tmp = root / (DRILL_RESULT + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(root / DRILL_RESULT)

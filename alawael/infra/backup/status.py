"""Backup and drill state for /metrics, read from BACKUP_DIR at scrape time.

Derived from the files rather than kept in process memory: the scheduled backup runs in
whichever worker holds the job lease, the drill may run from the CLI, and a restarted
server must not report "never backed up" (which would page the 26 h alert at once)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from alawael.infra.backup.layout import DRILL_RESULT, Manifest, completed_backups


class BackupStatus(Collector):
    def __init__(self, root: Path) -> None:
        self.root = root

    def collect(self) -> Iterable[Metric]:
        backups = completed_backups(self.root)
        last_success = duration = size = 0.0
        if backups:
            try:
                manifest = Manifest.read(backups[-1][1])
                last_success = datetime.fromisoformat(manifest.created_at).timestamp()
                duration, size = manifest.duration_seconds, float(manifest.size_bytes)
            except (OSError, ValueError, KeyError, TypeError):
                pass  # unreadable manifest: reported as no backup, which is the truth
        yield _gauge(
            "alawael_backup_last_success_timestamp_seconds",
            "Unix time the newest complete backup in BACKUP_DIR was taken (0: none).",
            last_success,
        )
        yield _gauge(
            "alawael_backup_last_duration_seconds", "Run time of the newest backup.", duration
        )
        yield _gauge("alawael_backup_last_size_bytes", "Size of the newest backup.", size)
        yield _gauge("alawael_backups_kept", "Complete backups in BACKUP_DIR.", len(backups))
        drill_ok = drill_at = drill_seconds = 0.0
        try:
            drill = json.loads((self.root / DRILL_RESULT).read_text())
            drill_ok = 1.0 if drill.get("ok") else 0.0
            drill_at = float(drill.get("finished_at", 0.0))
            drill_seconds = float(drill.get("seconds", 0.0))
        except (OSError, ValueError, TypeError, AttributeError):
            pass
        yield _gauge(
            "alawael_restore_drill_last_run_timestamp_seconds",
            "Unix time the last restore drill finished (0: never).",
            drill_at,
        )
        yield _gauge(
            "alawael_restore_drill_last_success",
            "1 if the last restore drill restored and verified the latest backup, else 0.",
            drill_ok,
        )
        yield _gauge(
            "alawael_restore_drill_last_duration_seconds",
            "Run time of the last restore drill.",
            drill_seconds,
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)

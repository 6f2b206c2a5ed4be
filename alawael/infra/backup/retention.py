"""Which backups to keep: the newest one of each of the last N hours, days and months.

Counted in periods that *have* a backup (as restic's and borg's keep-hourly/daily/monthly
do), so a week without backups does not silently eat the daily copies. A backup kept by
any rule stays; the newest backup always stays.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alawael.infra.backup.layout import PARTIAL_SUFFIX, completed_backups

# A `.partial` directory older than this is a crashed run, never one in progress (a
# backup taking a day would be noticed long before by the 26 h alert).
STALE_PARTIAL_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class Retention:
    hourly: int
    daily: int
    monthly: int


def _periods(
    key: Callable[[datetime], tuple[int, ...]], times: Sequence[datetime], n: int
) -> set[datetime]:
    keep: set[datetime] = set()
    seen: set[tuple[int, ...]] = set()
    for at in sorted(times, reverse=True):
        if len(seen) >= n:
            break
        period = key(at)
        if period not in seen:
            seen.add(period)
            keep.add(at)  # newest first: the first one met is the newest of its period
    return keep


def backups_to_keep(times: Sequence[datetime], policy: Retention) -> set[datetime]:
    if not times:
        return set()
    keep = {max(times)}
    keep |= _periods(lambda t: (t.year, t.month, t.day, t.hour), times, policy.hourly)
    keep |= _periods(lambda t: (t.year, t.month, t.day), times, policy.daily)
    keep |= _periods(lambda t: (t.year, t.month), times, policy.monthly)
    return keep


def prune(root: Path, policy: Retention) -> list[Path]:
    """Delete the backups under `root` the policy does not keep; returns what was deleted."""
    backups = completed_backups(root)
    keep = backups_to_keep([at for at, _ in backups], policy)
    removed = [path for at, path in backups if at not in keep]
    cutoff = time.time() - STALE_PARTIAL_SECONDS
    if root.is_dir():
        removed += [
            p
            for p in root.iterdir()
            if p.name.endswith(PARTIAL_SUFFIX) and p.is_dir() and p.stat().st_mtime < cutoff
        ]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed

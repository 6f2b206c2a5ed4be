"""Node test clients installed exactly from their committed package-lock.json (`npm ci`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def npm_ci(project: Path) -> Path:
    """Install `project`'s node_modules from its lock file, unless the installed tree already
    matches it. node_modules is gitignored and kept between runs; npm writes its own copy of
    the lock to node_modules/.package-lock.json, so a lock newer than that copy (a pull that
    changed it) re-installs."""
    assert shutil.which("node"), "node is required"
    assert shutil.which("npm"), "npm is required"
    lock = project / "package-lock.json"
    assert lock.is_file(), f"{lock} is missing: test clients install only from a lock"
    installed = project / "node_modules" / ".package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=project,
            check=True,
            timeout=300,
        )
    return project

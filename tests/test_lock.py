"""The dependency lock: `make test` refuses to run when pyproject.toml and uv.lock disagree,
and the committed lock pins every package the project and its dev extras need."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest


@pytest.fixture
def project_copy(repo_root: Path, tmp_path: Path) -> Path:
    """The files `make lock-check` reads, copied with their times (so make sees the
    bootstrapped uv as up to date and re-installs nothing)."""
    for name in ("Makefile", "pyproject.toml", "uv.lock", "tools/uv.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo_root / name, tmp_path / name)
    return tmp_path


def lock_check(project: Path, repo_root: Path) -> subprocess.CompletedProcess[str]:
    uv_home = repo_root / ".uv"
    assert (uv_home / "bin" / "uv").exists(), "run through `make test`, which bootstraps uv"
    return subprocess.run(
        ["make", "--no-print-directory", "lock-check", f"UV_HOME={uv_home}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_lock_check_passes_on_the_committed_files(project_copy: Path, repo_root: Path) -> None:
    done = lock_check(project_copy, repo_root)
    assert done.returncode == 0, done.stderr


def test_lock_check_stops_with_one_line_when_pyproject_changed(
    project_copy: Path, repo_root: Path
) -> None:
    pyproject = project_copy / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('"tqdm>=4.66,<5",', '"tqdm>=4.66,<5",\n  "six>=1.16",')
    )
    done = lock_check(project_copy, repo_root)
    assert done.returncode != 0
    first = done.stderr.strip().splitlines()[0]
    assert first == ("uv.lock does not match pyproject.toml: run 'make lock' and commit uv.lock")


def test_the_lock_pins_every_dependency_with_hashes(repo_root: Path) -> None:
    lock = tomllib.loads((repo_root / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    for requirement in wanted:
        name = requirement.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip()
        assert name.lower() in packages, f"{name} is not in uv.lock"
    for name, package in packages.items():
        if name == "alawael":
            continue
        files = package.get("wheels", []) + ([package["sdist"]] if "sdist" in package else [])
        assert files, f"{name} has no files in the lock"
        assert all(f["hash"].startswith("sha256:") for f in files), name

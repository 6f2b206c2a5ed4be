"""The set-up contract, tried the way a user runs it: `alawael serve` on the embedded
default answers /api/health, and its data survives a restart."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.processes import ServerProcess

pytestmark = pytest.mark.slow


def test_serve_on_the_embedded_default_keeps_data_across_restarts(tmp_path: Path) -> None:
    env = {"EMBEDDED_DB_PATH": str(tmp_path / "db")}
    with ServerProcess(env) as server:
        health = httpx.get(f"{server.url}/api/health").json()
        assert health["status"] == "ok"
        assert health["mongodb"] == "embedded"
        assert health["redis"] == "disabled"
        info = httpx.post(
            f"{server.url}/graphql", json={"query": "{ serverInfo { database } }"}
        ).json()
        assert info["data"]["serverInfo"]["database"] == "embedded"
    assert (tmp_path / "db").is_dir()
    assert any((tmp_path / "db").iterdir()), "WiredTiger files were written"

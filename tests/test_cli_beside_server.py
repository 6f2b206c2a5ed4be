"""CLI commands beside a running `alawael serve` on the embedded default (the README's quick
start: `make serve` in one terminal, `make seed` in another), and restarts right after a
stop. Real processes, one data directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from alawael.devtools.seed import ADMIN_EMAIL, DEMO_PASSWORD
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.slow

PRODUCTS = "{ products(first: 5) { totalCount nodes { sku } } }"
LOGIN = """
mutation ($input: LoginInput!) { login(input: $input) { user { email role } errors { code } } }
"""


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "REDIS_URL")}
    return subprocess.run(
        [sys.executable, "-m", "alawael", *args],
        env={**clean, "ENV": "test", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def graphql(server: ServerProcess, query: str, variables: dict[str, Any] | None = None) -> Any:
    body = httpx.post(
        f"{server.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=10
    ).json()
    assert "errors" not in body, body
    return body["data"]


def poll(check: Any, deadline_s: float) -> Any:
    deadline = time.monotonic() + deadline_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_seed_and_create_admin_beside_a_running_server(tmp_path: Path) -> None:
    env = {"EMBEDDED_DB_PATH": str(tmp_path / "db"), "RATE_LIMIT_ENABLED": "false"}
    with ServerProcess(env, log_path=tmp_path / "server.log") as server:
        # The catalogue is empty, and that answer is now in the server's 30 s cache.
        assert graphql(server, PRODUCTS)["products"]["totalCount"] == 0

        seeded = cli(env, "seed", "--quiet", "--products", "30", "--orders", "20")
        assert seeded.returncode == 0, seeded.stderr
        assert "Seeded the demo data set" in seeded.stdout

        # Shown at once (well inside the cache's 30 s TTL): the seed's bumps reached the
        # running server although it has no Redis.
        def products() -> int:
            return int(graphql(server, PRODUCTS)["products"]["totalCount"])

        # (the seed archives a few of its products, which the catalogue hides)
        assert 25 <= poll(products, 5.0) <= 30
        login = graphql(
            server, LOGIN, {"input": {"email": ADMIN_EMAIL, "password": DEMO_PASSWORD}}
        )["login"]
        assert login["errors"] == []
        assert login["user"]["role"] == "ADMIN"

        made = cli(
            env, "create-admin", "--email", "ops@example.com", "--password", "ops-password-2026"
        )
        assert made.returncode == 0, made.stderr
        login = graphql(
            server, LOGIN, {"input": {"email": "ops@example.com", "password": "ops-password-2026"}}
        )["login"]
        assert login["user"] == {"email": "ops@example.com", "role": "ADMIN"}

        # A second server on the same directory says why it cannot start, in one line.
        second = subprocess.run(
            [sys.executable, "-m", "alawael", "serve", "--port", "1"],
            env={**server.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert "Another alawael server is using the embedded database" in second.stderr


def test_restart_right_after_the_server_was_killed(tmp_path: Path) -> None:
    """SIGKILL leaves the embedded database closing its files for a few seconds; the next
    server waits for them instead of failing."""
    env = {"EMBEDDED_DB_PATH": str(tmp_path / "db"), "RATE_LIMIT_ENABLED": "false"}
    first = ServerProcess(env, log_path=tmp_path / "first.log").start()
    first.stop(signal.SIGKILL)
    with ServerProcess(env, log_path=tmp_path / "second.log") as server:
        assert httpx.get(f"{server.url}/api/health").json()["mongodb"] == "embedded"

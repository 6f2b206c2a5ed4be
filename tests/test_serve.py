"""The set-up contract, tried the way a user runs it: `alawael serve` on the embedded
default answers /api/health, and what a user wrote through it survives a restart."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.processes import ServerProcess

pytestmark = pytest.mark.slow

REGISTER = """
mutation ($input: RegisterInput!) {
  register(input: $input) { user { email name } errors { code message } }
}
"""
ACCOUNT = {"email": "kept@example.com", "password": "a-long-password-1", "name": "مريم"}


def test_serve_on_the_embedded_default_keeps_data_across_restarts(tmp_path: Path) -> None:
    env = {"EMBEDDED_DB_PATH": str(tmp_path / "db"), "RATE_LIMIT_ENABLED": "false"}
    with ServerProcess(env) as server:
        health = httpx.get(f"{server.url}/api/health").json()
        assert health["status"] == "ok"
        assert health["mongodb"] == "embedded"
        assert health["redis"] == "disabled"
        info = httpx.post(
            f"{server.url}/graphql", json={"query": "{ serverInfo { database } }"}
        ).json()
        assert info["data"]["serverInfo"]["database"] == "embedded"
        registered = httpx.post(
            f"{server.url}/graphql", json={"query": REGISTER, "variables": {"input": ACCOUNT}}
        ).json()["data"]["register"]
        assert registered["errors"] == []
        assert registered["user"]["name"] == "مريم"

    # A new server process on the same data directory: the account is still there.
    with ServerProcess(env) as server:
        login = httpx.post(
            f"{server.url}/api/auth/login",
            json={"email": ACCOUNT["email"], "password": ACCOUNT["password"]},
        )
        assert login.status_code == 200, login.text
        token = login.json()["data"]["accessToken"]
        me = httpx.get(f"{server.url}/api/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["data"]["name"] == "مريم"

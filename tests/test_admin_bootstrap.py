"""Attacks on the first-admin bootstrap (issue 15, finding 3).

ADMIN_EMAIL/ADMIN_PASSWORD only ever create an account. An account that already holds the
address (squatted by an attacker, or an admin who was demoted or deactivated) is reported
at start-up and left exactly as it is; promoting it is an explicit, audited CLI action.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from alawael.config import Settings
from tests.support.apps import graphql, run_cli, running_app

OPS = "ops@example.com"
OPERATOR_PASSWORD = "operator-password-2026"
ATTACKER_PASSWORD = "attacker-password-2026"
REGISTER = """
mutation ($input: RegisterInput!) { register(input: $input) { user { role } errors { code } } }"""
LOGIN = """
mutation ($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { user { role active } accessToken }
}"""
SET_ROLE = """
mutation ($id: ID!) { setUserRole(id: $id, role: STAFF) { errors { code } } }"""
SET_ACTIVE = """
mutation ($id: ID!) { setUserActive(id: $id, active: false) { errors { code } } }"""


def with_admin(settings: Settings, email: str = OPS) -> Settings:
    return settings.model_copy(
        update={"admin_email": email, "admin_password": SecretStr(OPERATOR_PASSWORD)}
    )


async def register(c: httpx.AsyncClient, door: str, email: str, password: str) -> None:
    if door == "graphql":
        body = await graphql(
            c, REGISTER, {"input": {"email": email, "password": password, "name": "Mallory"}}
        )
        assert body["data"]["register"]["user"]["role"] == "CUSTOMER", body
    else:
        r = await c.post(
            "/api/auth/register", json={"email": email, "password": password, "name": "Mallory"}
        )
        assert r.status_code == 201, r.text


async def login(c: httpx.AsyncClient, door: str, email: str, password: str) -> dict[str, Any]:
    """{"role", "active", "token"} on success, {"error": code} otherwise."""
    if door == "graphql":
        body = await graphql(c, LOGIN, {"email": email, "password": password})
        if body.get("errors"):
            return {"error": body["errors"][0]["extensions"]["code"]}
        data = body["data"]["login"]
        return {"role": data["user"]["role"], "token": data["accessToken"]}
    r = await c.post("/api/auth/login", json={"email": email, "password": password})
    if r.status_code != 200:
        return {"error": r.json()["error"]["code"]}
    data = r.json()["data"]
    return {"role": data["user"]["role"], "token": data["accessToken"]}


def bootstrap_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("alawael") and r.levelno >= logging.WARNING and OPS in r.getMessage()
    ]


@pytest.mark.parametrize("door", ["graphql", "rest"])
async def test_bootstrap_does_not_hand_a_squatted_address_to_the_squatter(
    settings: Settings, door: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The attack: register the operator's address before the operator first starts.
    async with running_app(settings) as (_, c):
        await register(c, door, OPS, ATTACKER_PASSWORD)
    with caplog.at_level(logging.INFO):
        async with running_app(with_admin(settings)) as (_, c):
            attacker = await login(c, door, OPS, ATTACKER_PASSWORD)
            operator = await login(c, door, OPS, OPERATOR_PASSWORD)
    assert attacker["role"] == "CUSTOMER"  # not promoted
    assert operator == {"error": "UNAUTHENTICATED"}  # nor was the password changed
    [warning] = bootstrap_warnings(caplog)
    assert "not an active admin" in warning
    assert "promote-admin" in warning


async def test_bootstrap_does_not_bring_back_a_demoted_admin(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_app(with_admin(settings)) as (app, c):
        from alawael.services.users import create_admin

        await create_admin(app.state.resources, "second@example.com", OPERATOR_PASSWORD, "Two")
        ops = await login(c, "rest", OPS, OPERATOR_PASSWORD)
        assert ops["role"] == "ADMIN"
        second = await login(c, "rest", "second@example.com", OPERATOR_PASSWORD)
        me = await c.get("/api/users/me", headers={"Authorization": f"Bearer {ops['token']}"})
        ops_id = me.json()["data"]["id"]
        auth = {"Authorization": f"Bearer {second['token']}"}
        for mutation in (SET_ROLE, SET_ACTIVE):
            body = await graphql(c, mutation, {"id": ops_id}, headers=auth)
            assert body["data"], body
    with caplog.at_level(logging.INFO):
        for _ in range(2):  # restarts with ADMIN_EMAIL still set
            async with running_app(with_admin(settings)) as (_, c):
                again = await login(c, "graphql", OPS, OPERATOR_PASSWORD)
                rest = await c.get("/api/users", headers=auth, params={"search": OPS})
    assert again == {"error": "UNAUTHENTICATED"}  # still deactivated
    [user] = rest.json()["data"]
    assert (user["role"], user["active"]) == ("STAFF", False)
    assert len(bootstrap_warnings(caplog)) == 2


async def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run_cli, settings, *args)


async def test_create_admin_cli_refuses_an_existing_account_and_promote_admin_is_audited(
    settings: Settings,
) -> None:
    async with running_app(settings) as (_, c):
        await register(c, "rest", OPS, ATTACKER_PASSWORD)
    # create-admin creates; it never takes over an account someone else registered.
    made = await cli(settings, "create-admin", "--email", OPS, "--password", OPERATOR_PASSWORD)
    assert made.returncode == 1
    assert "promote-admin" in made.stderr
    missing = await cli(settings, "promote-admin", "--email", "nobody@example.com")
    assert missing.returncode == 1
    assert "no account" in missing.stderr.lower()

    # Promotion is explicit: the operator names the account, and the trail says who did it.
    promoted_cli = await cli(settings, "promote-admin", "--email", OPS)
    assert promoted_cli.returncode == 0, promoted_cli.stderr
    assert "CUSTOMER -> active ADMIN" in promoted_cli.stdout
    async with running_app(settings) as (app, c):
        promoted = await login(c, "graphql", OPS, ATTACKER_PASSWORD)  # its own password
        entry = await app.state.resources.db.audit_trail.find_one({"action": "promoteAdmin"})
    assert promoted["role"] == "ADMIN"
    assert entry is not None
    assert entry["actor"] == "cli"
    assert (entry["before"]["role"], entry["after"]["role"]) == ("CUSTOMER", "ADMIN")
    again = await cli(settings, "promote-admin", "--email", OPS)  # a no-op, nothing audited
    assert again.returncode == 0
    assert "already" in again.stdout

"""Attacks on the sign-in throttles (issue 15, findings 4 and 6), through GraphQL over HTTP
and REST, against a real Redis.

Finding 4: the per-IP budget of login/register/refreshToken is charged per call inside the
services, so inline fragments, fragment spreads and aliases pay like plain root fields.
Finding 6: failed logins lock an account only for the IP they come from (with growing
delays), plus a per-IP budget; the owner still signs in from elsewhere.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis as redis_sync
from bson import ObjectId
from starlette.applications import Starlette

from alawael.auth.sessions import create_session
from alawael.config import Settings
from alawael.context import Resources
from tests.support.apps import graphql, running_app
from tests.support.graphql import make_user

PASSWORD = "correct horse battery"
WRONG = "wrong-password-123"
ATTACKER = "198.51.100.66"
OWNER = "203.0.113.10"
MAX_FAILURES = 4
LOGIN_INLINE = """
mutation ($email: String!, $password: String!) {
  ... on Mutation { login(input: {email: $email, password: $password}) { accessToken } }
}"""
REGISTER_SPREAD = """
mutation ($input: RegisterInput!) { ...signUp }
fragment signUp on Mutation { register(input: $input) { accessToken } }"""
LOGIN = """
mutation ($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { accessToken user { email } }
}"""


def from_ip(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


@pytest.fixture
def throttle_redis(redis_server_url: str) -> str:
    """A Redis db of this module's own: budgets are counted exactly."""
    url = f"{redis_server_url}/12"
    redis_sync.Redis.from_url(url).flushdb()
    return url


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


# --- finding 4: every call pays, whatever the document's shape ---------------------------


@pytest.fixture
async def budget_app(
    settings: Settings, throttle_redis: str
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    s = settings.model_copy(
        update={
            "redis_url": throttle_redis,
            "rate_limit_enabled": True,
            "rate_limit_default": "1000/minute",
            "rate_limit_user": "1000/minute",
            "rate_limit_auth": "3/minute",
            "trusted_proxies": ["127.0.0.1"],
        }
    )
    async with running_app(s) as app_and_client:
        yield app_and_client


async def test_inline_fragments_and_spreads_pay_the_auth_budget(
    budget_app: tuple[Starlette, httpx.AsyncClient],
) -> None:
    _, c = budget_app
    creds = {"email": "nobody@example.com", "password": WRONG}
    for i in range(3):  # spend the budget with plain calls (on several accounts, so no
        # failed-login delay gets in the way)
        one = {"email": f"n{i}@example.com", "password": WRONG}
        body = await graphql(c, LOGIN, one, headers=from_ip(ATTACKER))
        assert codes(body) == ["UNAUTHENTICATED"]
    inline = await graphql(c, LOGIN_INLINE, creds, headers=from_ip(ATTACKER))
    assert codes(inline) == ["RATE_LIMITED"]
    assert inline["errors"][0]["extensions"]["retryAfter"] >= 1
    signup = {"input": {"email": "m@example.com", "password": PASSWORD, "name": "M"}}
    spread = await graphql(c, REGISTER_SPREAD, signup, headers=from_ip(ATTACKER))
    assert codes(spread) == ["RATE_LIMITED"]
    # The same budget on the REST door: 429 with Retry-After.
    rest = await c.post("/api/auth/login", json=creds, headers=from_ip(ATTACKER))
    assert rest.status_code == 429
    assert rest.json()["error"]["code"] == "RATE_LIMITED"
    assert int(rest.headers["retry-after"]) >= 1
    # Another IP has its own budget.
    other = await graphql(c, LOGIN_INLINE, creds, headers=from_ip(OWNER))
    assert codes(other) == ["UNAUTHENTICATED"]


async def test_aliased_refresh_calls_each_pay(
    budget_app: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, c = budget_app
    res: Resources = app.state.resources
    user = await make_user(res)
    tokens = [
        (await create_session(res, ObjectId(user.user_id), user_agent="t", ip=None))[1]
        for _ in range(25)
    ]
    aliases = "\n".join(
        f'r{i}: refreshToken(refreshToken: "{token}") {{ accessToken }}'
        for i, token in enumerate(tokens)
    )
    body = await graphql(c, f"mutation {{ {aliases} }}", headers=from_ip(ATTACKER))
    # 25 calls cost 25: three fit the budget, the fourth is refused (and, its payload
    # being non-null, ends the mutation).
    assert codes(body) == ["RATE_LIMITED"]
    rotated = await res.db.audit_trail.count_documents({"action": "refreshToken"})
    assert rotated == 3
    rest = await c.post(
        "/api/auth/refresh", json={"refreshToken": tokens[-1]}, headers=from_ip(ATTACKER)
    )
    assert rest.status_code == 429
    assert int(rest.headers["retry-after"]) >= 1


# --- finding 6: no lockout of the owner from elsewhere ------------------------------------


@pytest.fixture
async def lockout_client(
    settings: Settings, throttle_redis: str
) -> AsyncIterator[httpx.AsyncClient]:
    s = settings.model_copy(
        update={
            "redis_url": throttle_redis,
            "login_max_failures": MAX_FAILURES,
            "login_max_failures_per_ip": 6,
            "login_failure_window_seconds": 600,
            "trusted_proxies": ["127.0.0.1"],
        }
    )
    async with running_app(s) as (_, c):
        signup = {"email": "alice@example.com", "password": PASSWORD, "name": "Alice"}
        assert (await c.post("/api/auth/register", json=signup)).status_code == 201
        yield c


async def attempt(c: httpx.AsyncClient, door: str, password: str, ip: str) -> tuple[str, int]:
    """One login for alice: (error code or "OK", retryAfter or 0)."""
    creds = {"email": "alice@example.com", "password": password}
    if door == "graphql":
        body = await graphql(c, LOGIN, creds, headers=from_ip(ip))
        if not body.get("errors"):
            return "OK", 0
        ext = body["errors"][0]["extensions"]
        return ext["code"], int(ext.get("retryAfter", 0))
    r = await c.post("/api/auth/login", json=creds, headers=from_ip(ip))
    if r.status_code == 200:
        return "OK", 0
    if r.status_code == 429:
        assert int(r.headers["retry-after"]) >= 1
    error = r.json()["error"]
    return error["code"], int((error.get("details") or {}).get("retryAfter", 0))


async def fail_until_locked(c: httpx.AsyncClient, door: str) -> list[int]:
    """The attack: wrong passwords for alice from one IP until it is locked, waiting out
    each growing delay by retrying (a refused try is not a failure). Returns the delays."""
    failures = 0
    delays: list[int] = []
    deadline = time.monotonic() + 30
    while failures < MAX_FAILURES:
        assert time.monotonic() < deadline, (failures, delays)
        code, retry = await attempt(c, door, WRONG, ATTACKER)
        if code == "UNAUTHENTICATED":
            failures += 1
            continue
        assert code == "RATE_LIMITED"
        if len(delays) < failures - 1:  # the first refusal after this failure
            delays.append(retry)
        await asyncio.sleep(0.1)  # poll interval
    return delays


@pytest.mark.parametrize("door", ["graphql", "rest"])
async def test_wrong_passwords_lock_only_the_attackers_ip(
    lockout_client: httpx.AsyncClient, door: str
) -> None:
    c = lockout_client
    delays = await fail_until_locked(c, door)
    # The owner signs in from another IP ...
    assert (await attempt(c, door, PASSWORD, OWNER))[0] == "OK"
    # ... while the attacker's IP is locked out of the account for the window, even with
    # the right password, after delays that grew between its failures.
    code, retry = await attempt(c, door, PASSWORD, ATTACKER)
    assert (code, retry > 10) == ("RATE_LIMITED", True)
    assert delays == sorted(delays)
    assert delays[-1] > delays[0] >= 1


async def test_per_ip_budget_spans_accounts(lockout_client: httpx.AsyncClient) -> None:
    c = lockout_client
    for i in range(6):  # password spraying: one try per account, many accounts
        creds = {"email": f"u{i}@example.com", "password": WRONG}
        r = await c.post("/api/auth/login", json=creds, headers=from_ip(ATTACKER))
        assert r.status_code == 401
    assert (await attempt(c, "graphql", PASSWORD, ATTACKER))[0] == "RATE_LIMITED"
    assert (await attempt(c, "rest", PASSWORD, ATTACKER))[0] == "RATE_LIMITED"
    assert (await attempt(c, "rest", PASSWORD, OWNER))[0] == "OK"

"""Refresh sessions: rotation, reuse detection, logout, and revocation on the next request."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from alawael.auth.permissions import Role
from alawael.auth.sessions import SessionChecks
from alawael.context import Resources
from alawael.server import create_app
from alawael.services import users
from alawael.shared.errors import Unauthenticated
from tests.conftest import make_settings

LOGIN = """
mutation ($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { accessToken refreshToken }
}"""
REFRESH = """
mutation ($token: String!) {
  refreshToken(refreshToken: $token) { user { email } accessToken refreshToken expiresIn }
}"""
LOGOUT = "mutation { logout { revoked errors { code } } }"
LOGOUT_ALL = "mutation { logoutAll { revokedSessions errors { code } } }"
ME = "{ me { email } }"
PASSWORD = "correct horse battery"
EMAIL = "s@example.com"


@pytest.fixture
async def env(mongo_uri: str) -> AsyncIterator[tuple[httpx.AsyncClient, Resources]]:
    # TTL 0: every request re-reads its session, as another worker would after 2 s.
    settings = make_settings(mongo_uri, session_check_ttl_seconds=0)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        res: Resources = app.state.resources
        await users.create_user(
            res, None, email=EMAIL, password=PASSWORD, name="S", role=Role.STAFF
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c, res
        await res.client.drop_database(settings.mongodb_db)


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def login(client: httpx.AsyncClient) -> tuple[str, str]:
    data = (await gql(client, LOGIN, {"email": EMAIL, "password": PASSWORD}))["data"]["login"]
    return data["accessToken"], data["refreshToken"]


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def test_refresh_rotates_the_token(env: tuple[httpx.AsyncClient, Resources]) -> None:
    client, res = env
    access, refresh = await login(client)
    sid, _, secret = refresh.partition(".")
    stored = await res.db.sessions.find_one({})
    assert stored is not None
    assert str(stored["_id"]) == sid
    # Only a hash is stored, never the token.
    assert stored["refreshHash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(stored)

    new = (await gql(client, REFRESH, {"token": refresh}))["data"]["refreshToken"]
    assert new["user"] == {"email": EMAIL}
    assert new["refreshToken"] != refresh
    assert new["refreshToken"].startswith(sid + ".")
    assert new["accessToken"] != access
    assert (await gql(client, ME, token=new["accessToken"]))["data"]["me"] == {"email": EMAIL}
    # And the rotated one can be used again once more.
    again = (await gql(client, REFRESH, {"token": new["refreshToken"]}))["data"]["refreshToken"]
    assert again["refreshToken"] not in (refresh, new["refreshToken"])


async def test_reuse_revokes_the_session(
    env: tuple[httpx.AsyncClient, Resources], caplog: pytest.LogCaptureFixture
) -> None:
    client, res = env
    _, refresh = await login(client)
    rotated = (await gql(client, REFRESH, {"token": refresh}))["data"]["refreshToken"]
    assert (await gql(client, ME, token=rotated["accessToken"]))["data"]["me"]

    with caplog.at_level(logging.WARNING, logger="alawael.security"):
        stolen = await gql(client, REFRESH, {"token": refresh})  # replayed old token
    assert code(stolen) == "UNAUTHENTICATED"
    [record] = [r for r in caplog.records if r.name == "alawael.security"]
    assert record.getMessage() == "refresh token reuse detected; session revoked"
    assert record.session_id == refresh.partition(".")[0]  # type: ignore[attr-defined]

    # The whole session is dead: the legitimate holder's newer tokens stop working too.
    assert code(await gql(client, REFRESH, {"token": rotated["refreshToken"]})) == (
        "UNAUTHENTICATED"
    )
    body = await gql(client, ME, token=rotated["accessToken"])
    assert code(body) == "UNAUTHENTICATED"
    assert "revoked" in body["errors"][0]["message"]
    session = await res.db.sessions.find_one({})
    assert session is not None
    assert session["revoked"] is True
    assert session["revokedReason"] == "refresh-token-reuse"


async def test_concurrent_refreshes_have_one_winner(
    env: tuple[httpx.AsyncClient, Resources],
) -> None:
    _client, res = env
    result = await users.authenticate(res, email=EMAIL, password=PASSWORD)
    outcomes = await asyncio.gather(
        *(users.refresh(res, refresh_token=result.refresh_token) for _ in range(5)),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if isinstance(o, users.AuthResult)]
    assert len(winners) == 1
    assert all(isinstance(o, Unauthenticated) for o in outcomes if o not in winners)


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "0123456789abcdef01234567.", "0123456789abcdef01234567.secret", "a.b.c"],
)
async def test_invalid_refresh_tokens(env: tuple[httpx.AsyncClient, Resources], token: str) -> None:
    client, _res = env
    body = await gql(client, REFRESH, {"token": token})
    assert code(body) == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == "Invalid or expired refresh token."


async def test_expired_session_cannot_refresh(env: tuple[httpx.AsyncClient, Resources]) -> None:
    client, res = env
    access, refresh = await login(client)
    past = datetime(2000, 1, 1, tzinfo=UTC)
    await res.db.sessions.update_many({}, {"$set": {"expireAt": past}})
    assert code(await gql(client, REFRESH, {"token": refresh})) == "UNAUTHENTICATED"
    assert code(await gql(client, ME, token=access)) == "UNAUTHENTICATED"


async def test_logout_takes_effect_on_the_next_request(
    env: tuple[httpx.AsyncClient, Resources],
) -> None:
    client, _res = env
    access, refresh = await login(client)
    other_access, _ = await login(client)  # a second device
    assert (await gql(client, LOGOUT, token=access))["data"]["logout"] == {
        "revoked": True,
        "errors": [],
    }
    assert code(await gql(client, ME, token=access)) == "UNAUTHENTICATED"
    assert code(await gql(client, REFRESH, {"token": refresh})) == "UNAUTHENTICATED"
    # Only that session: the other device is still signed in.
    assert (await gql(client, ME, token=other_access))["data"]["me"] == {"email": EMAIL}


async def test_logout_all_revokes_every_session(
    env: tuple[httpx.AsyncClient, Resources],
) -> None:
    client, _res = env
    devices = [await login(client) for _ in range(3)]
    body = await gql(client, LOGOUT_ALL, token=devices[0][0])
    assert body["data"]["logoutAll"] == {"revokedSessions": 3, "errors": []}
    for access, refresh in devices:
        assert code(await gql(client, ME, token=access)) == "UNAUTHENTICATED"
        assert code(await gql(client, REFRESH, {"token": refresh})) == "UNAUTHENTICATED"


async def test_revocation_seen_from_another_worker(
    env: tuple[httpx.AsyncClient, Resources],
) -> None:
    """A revocation written by another worker (straight to the database here) is noticed on
    the next request when the check TTL is 0."""
    client, res = env
    access, _ = await login(client)
    assert (await gql(client, ME, token=access))["data"]["me"]
    await res.db.sessions.update_many({}, {"$set": {"revoked": True}})
    assert code(await gql(client, ME, token=access)) == "UNAUTHENTICATED"


async def test_deactivated_user_is_signed_out(env: tuple[httpx.AsyncClient, Resources]) -> None:
    client, res = env
    access, refresh = await login(client)
    await res.db.users.update_one({"email": EMAIL}, {"$set": {"active": False}})
    assert code(await gql(client, ME, token=access)) == "UNAUTHENTICATED"
    assert code(await gql(client, REFRESH, {"token": refresh})) == "UNAUTHENTICATED"


async def test_logout_needs_a_session(env: tuple[httpx.AsyncClient, Resources]) -> None:
    client, _res = env
    assert code(await gql(client, LOGOUT)) == "UNAUTHENTICATED"
    assert code(await gql(client, LOGOUT_ALL)) == "UNAUTHENTICATED"


def test_session_checks_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    """Positive checks are trusted for the TTL only (and never with TTL 0)."""
    now = [1000.0]
    monkeypatch.setattr("alawael.auth.sessions.time.monotonic", lambda: now[0])
    checks = SessionChecks()
    checks.put("s1", "u1", Role.STAFF, ttl=2.0)
    checks.put("s2", "u1", Role.STAFF, ttl=0)
    assert checks.get("s1", "u1") is Role.STAFF
    assert checks.get("s1", "someone-else") is None
    assert checks.get("s2", "u1") is None
    now[0] += 2.5
    assert checks.get("s1", "u1") is None
    checks.put("s1", "u1", Role.STAFF, ttl=2.0)
    checks.forget_user("u1")
    assert checks.get("s1", "u1") is None


async def test_audit_entries_hold_no_secrets(env: tuple[httpx.AsyncClient, Resources]) -> None:
    client, res = env
    access, refresh = await login(client)
    await gql(client, REFRESH, {"token": refresh})
    await gql(client, LOGOUT, token=access)
    entries = await res.db.audit_trail.find({}).to_list(None)
    actions = [e["action"] for e in entries]
    assert actions == ["createUser", "login", "refreshToken", "logout"]
    text = str(entries)
    assert "refreshHash" not in text
    assert "passwordHash" not in text
    assert refresh.partition(".")[2] not in text

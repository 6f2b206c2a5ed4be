"""Register and login over HTTP: validation, no user enumeration, throttling, rehashing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from alawael.auth import passwords
from alawael.auth.permissions import Role
from alawael.config import Settings
from alawael.context import Resources
from alawael.infra.http import client_ip
from alawael.server import create_app
from alawael.services import users
from alawael.shared.errors import RateLimited, Unauthenticated
from tests.conftest import make_settings

REGISTER = """
mutation ($input: RegisterInput!) {
  register(input: $input) {
    user { id email name role active }
    accessToken refreshToken expiresIn
    errors { code field message }
  }
}"""
LOGIN = """
mutation ($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) {
    user { email role } accessToken refreshToken errors { code field message }
  }
}"""
ME = "{ me { email role } }"
PASSWORD = "correct horse battery"


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    all_headers = dict(headers or {})
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def signup(email: str = "Alice@Example.com", password: str = PASSWORD, **kw: Any) -> Any:
    return {"input": {"email": email, "password": password, "name": "Alice", **kw}}


async def test_register_creates_a_signed_in_customer(client: httpx.AsyncClient) -> None:
    body = await gql(client, REGISTER, signup(phone="+966 55 123 4567"))
    payload = body["data"]["register"]
    assert payload["errors"] == []
    assert payload["user"]["email"] == "alice@example.com"  # stored lower-cased
    assert payload["user"]["role"] == "CUSTOMER"
    assert payload["expiresIn"] == 900
    me = await gql(client, ME, token=payload["accessToken"])
    assert me["data"]["me"] == {"email": "alice@example.com", "role": "CUSTOMER"}


async def test_register_cannot_choose_a_role(client: httpx.AsyncClient) -> None:
    body = await gql(client, REGISTER, signup(role="ADMIN"))
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        (signup(password="short"), "password"),
        (signup(password="alice@example.com!!"), "password"),
        (signup(email="x@example.com", password="X@EXAMPLE.COM-and-more"), "password"),
        (signup(email="not-an-email"), "email"),
        ({"input": {"email": "b@example.com", "password": PASSWORD, "name": "  "}}, "name"),
        (signup(phone="call me"), "phone"),
    ],
)
async def test_register_validation(
    client: httpx.AsyncClient, variables: dict[str, Any], field: str
) -> None:
    payload = (await gql(client, REGISTER, variables))["data"]["register"]
    assert payload["user"] is None
    assert payload["accessToken"] is None
    assert payload["errors"][0]["code"] == "BAD_USER_INPUT"
    assert payload["errors"][0]["field"] == field


async def test_duplicate_email_is_a_conflict_whatever_the_case(
    client: httpx.AsyncClient,
) -> None:
    await gql(client, REGISTER, signup())
    payload = (await gql(client, REGISTER, signup(email="ALICE@example.COM")))["data"]["register"]
    assert payload["errors"] == [
        {"code": "CONFLICT", "field": "email", "message": payload["errors"][0]["message"]}
    ]


async def test_login_and_same_error_for_unknown_email_and_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    await gql(client, REGISTER, signup())
    ok = await gql(client, LOGIN, {"email": " ALICE@example.com", "password": PASSWORD})
    assert ok["data"]["login"]["user"] == {"email": "alice@example.com", "role": "CUSTOMER"}
    assert ok["data"]["login"]["accessToken"]

    wrong = await gql(client, LOGIN, {"email": "alice@example.com", "password": "x" * 12})
    unknown = await gql(client, LOGIN, {"email": "nobody@example.com", "password": PASSWORD})
    for body in (wrong, unknown):
        assert body["data"] is None
        error = body["errors"][0]
        assert error["message"] == "Invalid email or password."
        assert error["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_unknown_email_still_verifies_a_hash(
    resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timing: an unknown e-mail costs one argon2 verify, like a wrong password."""
    calls: list[str | None] = []
    real = passwords._verify

    def spy(hasher: Any, stored: str | None, password: str) -> bool:
        calls.append(stored)
        return real(hasher, stored, password)

    monkeypatch.setattr(passwords, "_verify", spy)
    with pytest.raises(Unauthenticated):
        await users.authenticate(resources, email="ghost@example.com", password=PASSWORD)
    assert calls == [None]


async def test_inactive_user_cannot_log_in(client: httpx.AsyncClient, resources: Resources) -> None:
    await gql(client, REGISTER, signup())
    await resources.db.users.update_one({"email": "alice@example.com"}, {"$set": {"active": False}})
    body = await gql(client, LOGIN, {"email": "alice@example.com", "password": PASSWORD})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "deactivated" in body["errors"][0]["message"]
    # Someone without the password learns nothing about the account's state.
    guess = await gql(client, LOGIN, {"email": "alice@example.com", "password": "y" * 12})
    assert guess["errors"][0]["message"] == "Invalid email or password."


async def test_login_rehashes_outdated_hashes(resources: Resources) -> None:
    old = passwords.hasher_for(resources.settings.model_copy(update={"password_hash_time_cost": 2}))
    await users.create_user(resources, None, email="r@example.com", password=PASSWORD, name="R")
    await resources.db.users.update_one(
        {"email": "r@example.com"}, {"$set": {"passwordHash": old.hash(PASSWORD)}}
    )
    await users.authenticate(resources, email="r@example.com", password=PASSWORD)
    doc = await resources.db.users.find_one({"email": "r@example.com"})
    assert doc is not None
    assert "t=1" in doc["passwordHash"]
    assert not passwords.needs_rehash(resources.settings, doc["passwordHash"])


async def test_passwords_are_argon2id_and_never_returned(resources: Resources) -> None:
    user = await users.create_user(
        resources, None, email="h@example.com", password=PASSWORD, name="H", role=Role.STAFF
    )
    # The record has no field for the hash at all.
    assert not hasattr(user, "password_hash")
    assert "passwordHash" not in repr(user)
    doc = await resources.db.users.find_one({"_id": user.id})
    assert doc is not None
    assert doc["passwordHash"].startswith("$argon2id$")
    assert PASSWORD not in doc["passwordHash"]


# --- throttling ------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
async def throttled_client(
    request: pytest.FixtureRequest, mongo_uri: str
) -> AsyncIterator[httpx.AsyncClient]:
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    settings = make_settings(
        mongo_uri,
        redis_url=redis_url,
        login_max_failures=3,
        login_max_failures_per_ip=5,
        login_failure_window_seconds=600,
        trusted_proxies=["127.0.0.1"],
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        # A peer address the test controls: X-Forwarded-For is believed from 127.0.0.1.
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c
        await app.state.resources.client.drop_database(settings.mongodb_db)


def _from(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


async def test_failures_from_elsewhere_do_not_lock_the_owner_out(
    throttled_client: httpx.AsyncClient,
) -> None:
    c = throttled_client
    await gql(c, REGISTER, signup())
    bad = {"email": "alice@example.com", "password": "wrong-password!"}
    for i in range(3):  # the account's failure budget, spent from other IPs
        body = await gql(c, LOGIN, bad, headers=_from(f"10.0.0.{i}"))
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # The lockout is keyed by account and IP: the owner's IP has no failures.
    good = {"email": "alice@example.com", "password": PASSWORD}
    body = await gql(c, LOGIN, good, headers=_from("10.0.0.9"))
    assert body["data"]["login"]["accessToken"]


async def test_throttle_per_ip_and_unknown_accounts(throttled_client: httpx.AsyncClient) -> None:
    c = throttled_client
    await gql(c, REGISTER, signup())
    for i in range(5):  # five different (mostly unknown) accounts from one IP
        body = await gql(
            c,
            LOGIN,
            {"email": f"u{i}@example.com", "password": "wrong-password!"},
            headers=_from("203.0.113.7"),
        )
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    good = {"email": "alice@example.com", "password": PASSWORD}
    blocked = await gql(c, LOGIN, good, headers=_from("203.0.113.7"))
    assert blocked["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert blocked["errors"][0]["extensions"]["retryAfter"] >= 1
    elsewhere = await gql(c, LOGIN, good, headers=_from("203.0.113.8"))
    assert elsewhere["data"]["login"]["accessToken"]


async def test_successful_login_forgives_account_failures(resources: Resources) -> None:
    await users.create_user(resources, None, email="f@example.com", password=PASSWORD, name="F")

    async def fail() -> None:
        with pytest.raises(Unauthenticated):
            await users.authenticate(resources, email="f@example.com", password="nope-nope-nope")

    await fail()
    await fail()  # the second failure in a row arms a delay for this account and IP
    with pytest.raises(RateLimited):
        await users.authenticate(resources, email="f@example.com", password=PASSWORD)
    deadline = time.monotonic() + 10
    while True:  # poll until the delay is over
        try:
            await users.authenticate(resources, email="f@example.com", password=PASSWORD)
            break
        except RateLimited:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
    # Forgiven: two failures in a row again before any delay.
    await fail()
    await fail()


# --- client IP ---------------------------------------------------------------------------


def _scope(peer: str, forwarded: str | None = None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"type": "http", "client": (peer, 1234), "headers": headers}


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "expected"),
    [
        ([], "198.51.100.1", "1.2.3.4", "198.51.100.1"),  # no proxies trusted: header ignored
        (["10.0.0.0/8"], "198.51.100.1", "1.2.3.4", "198.51.100.1"),  # peer not a proxy
        (["10.0.0.0/8"], "10.1.1.1", "1.2.3.4", "1.2.3.4"),
        (["10.0.0.0/8"], "10.1.1.1", "6.6.6.6, 1.2.3.4, 10.2.2.2", "1.2.3.4"),  # spoofed left
        (["10.0.0.0/8"], "10.1.1.1", "garbage", "10.1.1.1"),
        (["10.0.0.0/8"], "10.1.1.1", None, "10.1.1.1"),
    ],
)
def test_client_ip(
    settings: Settings, trusted: list[str], peer: str, forwarded: str | None, expected: str
) -> None:
    s = settings.model_copy(update={"trusted_proxies": trusted})
    assert client_ip(_scope(peer, forwarded), s) == expected

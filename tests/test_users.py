"""Users: me, user(id), users(...), role and activation management, the first admin."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bson import ObjectId
from pymongo import MongoClient

from alawael.__main__ import main as cli_main
from alawael.auth.permissions import Actor, Role
from alawael.config import Settings
from alawael.context import Resources
from alawael.schema.node import to_global_id
from alawael.server import open_resources
from alawael.services import users
from alawael.services.users.bootstrap import bootstrap_admin
from alawael.shared.errors import BadUserInput, Conflict, Forbidden, Unauthenticated
from tests.conftest import make_settings
from tests.support.graphql import execute, make_user

ME = "{ me { id email role active } }"
USER = "query ($id: ID!) { user(id: $id) { email } }"
USERS = """
query ($filter: UserFilter, $sort: UserSort, $first: Int, $after: String) {
  users(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount
    edges { node { email name role active } }
    pageInfo { hasNextPage endCursor }
  }
}"""
SET_ROLE = """
mutation ($id: ID!, $role: Role!) {
  setUserRole(id: $id, role: $role) { user { email role } errors { code field message } }
}"""
SET_ACTIVE = """
mutation ($id: ID!, $active: Boolean!) {
  setUserActive(id: $id, active: $active) { user { email active } errors { code field } }
}"""
NODE = "query ($id: ID!) { node(id: $id) { id ... on User { email } } }"
PASSWORD = "correct horse battery"


def gid(actor: Actor) -> str:
    return str(to_global_id("User", actor.user_id))


def error_code(result: Any) -> str:
    return str(result.errors[0].extensions["code"])


async def test_me(resources: Resources) -> None:
    actor = await make_user(resources, Role.STAFF, email="me@example.com")
    result = await execute(resources, ME, user=actor)
    assert result.data["me"] == {
        "id": gid(actor),
        "email": "me@example.com",
        "role": "STAFF",
        "active": True,
    }
    assert (await execute(resources, ME)).data == {"me": None}


async def test_user_by_id_self_or_view_users(resources: Resources) -> None:
    alice = await make_user(resources, Role.CUSTOMER, email="alice@example.com")
    bob = await make_user(resources, Role.CUSTOMER, email="bob@example.com")
    manager = await make_user(resources, Role.MANAGER)

    own = await execute(resources, USER, {"id": gid(alice)}, user=alice)
    assert own.data == {"user": {"email": "alice@example.com"}}
    other = await execute(resources, USER, {"id": gid(bob)}, user=alice)
    assert error_code(other) == "FORBIDDEN"
    # A customer cannot probe which ids exist: unknown ids are FORBIDDEN too.
    unknown = await execute(resources, USER, {"id": to_global_id("User", ObjectId())}, user=alice)
    assert error_code(unknown) == "FORBIDDEN"
    seen = await execute(resources, USER, {"id": gid(bob)}, user=manager)
    assert seen.data == {"user": {"email": "bob@example.com"}}
    missing = await execute(resources, USER, {"id": to_global_id("User", ObjectId())}, user=manager)
    assert missing.data == {"user": None}
    assert error_code(await execute(resources, USER, {"id": gid(bob)})) == "UNAUTHENTICATED"
    bad = await execute(resources, USER, {"id": "not-an-id"}, user=manager)
    assert error_code(bad) == "BAD_USER_INPUT"


async def test_user_is_a_node(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER, email="m@example.com")
    customer = await make_user(resources, Role.CUSTOMER)
    result = await execute(resources, NODE, {"id": gid(manager)}, user=manager)
    assert result.data == {"node": {"id": gid(manager), "email": "m@example.com"}}
    # node(id) applies the same rule as user(id), answering null instead of FORBIDDEN.
    denied = await execute(resources, NODE, {"id": gid(manager)}, user=customer)
    assert denied.errors is None
    assert denied.data == {"node": None}
    own = await execute(resources, NODE, {"id": gid(customer)}, user=customer)
    assert own.data["node"]["id"] == gid(customer)


async def _people(resources: Resources) -> dict[str, Actor]:
    people = {
        "ann": ("Ann Admin", "ann@corp.example", Role.ADMIN),
        "max": ("Max Manager", "max@corp.example", Role.MANAGER),
        "sam": ("Sam Staff", "sam@corp.example", Role.STAFF),
        "cat": ("Cat Customer", "cat@mail.example", Role.CUSTOMER),
        "dan": ("Dan (a.b)*", "dan@mail.example", Role.CUSTOMER),
    }
    out = {}
    for key, (name, email, role) in people.items():
        out[key] = await make_user(resources, role, email=email, name=name)
    return out


async def test_users_list_filters_sorts_and_pages(resources: Resources) -> None:
    people = await _people(resources)
    admin = people["ann"]

    async def emails(variables: dict[str, Any]) -> list[str]:
        result = await execute(resources, USERS, variables, user=admin)
        assert result.errors is None, result.errors
        return [e["node"]["email"] for e in result.data["users"]["edges"]]

    newest_first = await emails({})
    assert newest_first[0] == "dan@mail.example"
    assert len(newest_first) == 5
    assert await emails({"sort": "EMAIL"}) == sorted(newest_first)
    assert await emails({"sort": "NAME"}) == [
        "ann@corp.example",
        "cat@mail.example",
        "dan@mail.example",
        "max@corp.example",
        "sam@corp.example",
    ]
    assert await emails({"filter": {"role": "CUSTOMER"}, "sort": "EMAIL"}) == [
        "cat@mail.example",
        "dan@mail.example",
    ]
    assert await emails({"filter": {"search": "CORP"}, "sort": "EMAIL"}) == [
        "ann@corp.example",
        "max@corp.example",
        "sam@corp.example",
    ]
    assert await emails({"filter": {"search": "manager"}}) == ["max@corp.example"]
    # Regex metacharacters are matched literally.
    assert await emails({"filter": {"search": "(a.b)*"}}) == ["dan@mail.example"]
    assert await emails({"filter": {"search": ".*"}}) == []

    # Keyset pages: 2 + 2 + 1, no overlaps.
    seen: list[str] = []
    after = None
    while True:
        result = await execute(
            resources, USERS, {"sort": "EMAIL", "first": 2, "after": after}, user=admin
        )
        data = result.data["users"]
        assert data["totalCount"] == 5
        seen += [e["node"]["email"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert seen == sorted(newest_first)

    too_many = await execute(resources, USERS, {"first": 101}, user=admin)
    assert error_code(too_many) == "BAD_USER_INPUT"


async def test_users_list_cache_is_invalidated_by_writes(resources: Resources) -> None:
    people = await _people(resources)
    admin = people["ann"]
    variables = {"filter": {"active": False}}
    first = await execute(resources, USERS, variables, user=admin)
    assert first.data["users"]["totalCount"] == 0
    await execute(resources, SET_ACTIVE, {"id": gid(people["cat"]), "active": False}, user=admin)
    second = await execute(resources, USERS, variables, user=admin)
    assert second.data["users"]["totalCount"] == 1
    assert second.data["users"]["edges"][0]["node"]["email"] == "cat@mail.example"
    await users.create_user(resources, admin, email="new@example.com", password=PASSWORD, name="N")
    everyone = await execute(resources, USERS, {}, user=admin)
    assert everyone.data["users"]["totalCount"] == 6


async def test_users_list_needs_view_users(resources: Resources) -> None:
    staff = await make_user(resources, Role.STAFF)
    assert error_code(await execute(resources, USERS, {}, user=staff)) == "FORBIDDEN"
    with pytest.raises(Forbidden):
        await users.list_users(resources, staff)


async def test_set_role_and_active(resources: Resources) -> None:
    people = await _people(resources)
    admin, cat = people["ann"], people["cat"]
    result = await execute(resources, SET_ROLE, {"id": gid(cat), "role": "STAFF"}, user=admin)
    assert result.data["setUserRole"] == {
        "user": {"email": "cat@mail.example", "role": "STAFF"},
        "errors": [],
    }
    result = await execute(resources, SET_ACTIVE, {"id": gid(cat), "active": False}, user=admin)
    assert result.data["setUserActive"]["user"] == {"email": "cat@mail.example", "active": False}
    entries = await resources.db.audit_trail.find({"entity": "user"}).to_list(None)
    by_action = {e["action"]: e for e in entries}
    assert by_action["setUserRole"]["before"]["role"] == "CUSTOMER"
    assert by_action["setUserRole"]["after"]["role"] == "STAFF"
    assert by_action["setUserRole"]["userId"] == ObjectId(admin.user_id)
    assert by_action["setUserActive"]["after"]["active"] is False
    assert "passwordHash" not in str(entries)

    missing = await execute(
        resources, SET_ROLE, {"id": to_global_id("User", ObjectId()), "role": "STAFF"}, user=admin
    )
    assert missing.data["setUserRole"]["errors"][0]["code"] == "NOT_FOUND"
    manager = await execute(
        resources, SET_ROLE, {"id": gid(cat), "role": "ADMIN"}, user=people["max"]
    )
    assert error_code(manager) == "FORBIDDEN"


async def test_deactivation_revokes_sessions(resources: Resources) -> None:
    admin = await make_user(resources, Role.ADMIN)
    await users.create_user(resources, None, email="d@example.com", password=PASSWORD, name="D")
    signed_in = await users.authenticate(resources, email="d@example.com", password=PASSWORD)
    target = signed_in.user.id
    await users.set_user_active(resources, admin, target, False)
    assert await resources.db.sessions.count_documents({"userId": target, "revoked": False}) == 0
    with pytest.raises(Unauthenticated):
        await users.refresh(resources, refresh_token=signed_in.refresh_token)


async def test_last_active_admin_is_protected(resources: Resources) -> None:
    admin = await make_user(resources, Role.ADMIN)
    demote = await execute(resources, SET_ROLE, {"id": gid(admin), "role": "MANAGER"}, user=admin)
    assert demote.data["setUserRole"]["errors"][0]["code"] == "CONFLICT"
    assert demote.data["setUserRole"]["errors"][0]["field"] == "role"
    off = await execute(resources, SET_ACTIVE, {"id": gid(admin), "active": False}, user=admin)
    assert off.data["setUserActive"]["errors"] == [{"code": "CONFLICT", "field": "active"}]

    # With a second admin, one may step down; then the other is the last one.
    other = await make_user(resources, Role.ADMIN)
    step_down = await execute(
        resources, SET_ROLE, {"id": gid(admin), "role": "MANAGER"}, user=admin
    )
    assert step_down.data["setUserRole"]["errors"] == []
    with pytest.raises(Conflict):
        await users.set_user_active(resources, other, ObjectId(other.user_id), False)


async def test_two_admins_cannot_demote_each_other_at_once(resources: Resources) -> None:
    a = await make_user(resources, Role.ADMIN)
    b = await make_user(resources, Role.ADMIN)
    outcomes = await asyncio.gather(
        users.set_user_role(resources, a, ObjectId(b.user_id), Role.STAFF),
        users.set_user_role(resources, b, ObjectId(a.user_id), Role.STAFF),
        return_exceptions=True,
    )
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1, outcomes
    assert await resources.db.users.count_documents({"role": "ADMIN", "active": True}) == 1


async def test_create_admin_creates_but_never_takes_over(resources: Resources) -> None:
    created = await users.create_admin(resources, "Root@Example.com", PASSWORD, "Root")
    assert (created.email, created.role) == ("root@example.com", "ADMIN")
    again = await users.create_admin(resources, "root@example.com", PASSWORD, "Root")
    assert again.id == created.id
    await users.create_user(resources, None, email="c@example.com", password=PASSWORD, name="C")
    with pytest.raises(users.AdminEmailTaken):
        await users.create_admin(resources, "c@example.com", "another long pass", "C")
    # The existing user is left alone: role and password.
    result = await users.authenticate(resources, email="c@example.com", password=PASSWORD)
    assert result.user.role == "CUSTOMER"
    with pytest.raises(BadUserInput) as bad:
        await users.create_admin(resources, "x@example.com", "short", "X")
    assert bad.value.field == "password"


async def test_bootstrap_is_idempotent_across_workers(mongo_uri: str) -> None:
    settings = make_settings(
        mongo_uri, admin_email="boss@example.com", admin_password="correct horse battery"
    )

    async def worker() -> None:
        async with open_resources(settings):
            pass

    # Three workers starting at once: exactly one admin.
    await asyncio.gather(worker(), worker(), worker())
    async with open_resources(settings) as res:
        assert await res.db.users.count_documents({"email": "boss@example.com"}) == 1
        assert await bootstrap_admin(res) is True
        assert await res.db.users.count_documents({"role": "ADMIN"}) == 1
        await res.client.drop_database(settings.mongodb_db)


async def test_bootstrap_rejects_a_weak_password(mongo_uri: str) -> None:
    settings = make_settings(mongo_uri, admin_email="boss@example.com", admin_password="weak")
    with pytest.raises(RuntimeError, match="ADMIN_EMAIL/ADMIN_PASSWORD rejected"):
        async with open_resources(settings):
            pass  # pragma: no cover


def test_create_admin_cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MONGODB_URI", settings.mongodb_uri or "")
    monkeypatch.setenv("MONGODB_DB", settings.mongodb_db)
    monkeypatch.setenv("ENV", "test")
    monkeypatch.setenv("PASSWORD_HASH_MEMORY_COST", "8")
    monkeypatch.setenv("PASSWORD_HASH_PARALLELISM", "1")
    args = ["create-admin", "--email", "cli@example.com", "--password", PASSWORD]
    assert cli_main(args) == 0
    assert "admin cli@example.com ready" in capsys.readouterr().out
    assert cli_main(["create-admin", "--email", "bad", "--password", PASSWORD]) == 1
    assert "error: Enter a valid email address." in capsys.readouterr().err
    client: MongoClient[dict[str, Any]]
    with MongoClient(settings.mongodb_uri) as client:
        admin = client[settings.mongodb_db].users.find_one({"email": "cli@example.com"})
        assert admin is not None
        assert admin["role"] == "ADMIN"
        client.drop_database(settings.mongodb_db)

"""Feature flags: CRUD, validation, permissions, deterministic bucketing and targeting."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId

from alawael.auth.permissions import Actor, Role
from alawael.context import Resources
from alawael.records.flags import FlagRecord
from alawael.schema.node import to_global_id
from alawael.server import create_app
from alawael.services import flags
from tests.conftest import make_settings
from tests.support.graphql import execute, make_user

SET_FLAG = """
mutation Set($input: SetFeatureFlagInput!) {
  setFeatureFlag(input: $input) {
    flag {
      id key description enabled rolloutPercentage allowedRoles allowedUserIds
      allowedUsers { email }
      createdAt updatedAt
    }
    errors { code field message }
  }
}
"""

DELETE_FLAG = """
mutation Delete($key: String!) {
  deleteFeatureFlag(key: $key) { deletedKey errors { code field } }
}
"""

LIST_FLAGS = """
query List($first: Int, $after: String) {
  featureFlags(first: $first, after: $after) {
    totalCount
    edges { cursor node { key enabled } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

FLAG = "query One($key: String!) { flag(key: $key) { key enabled } }"
EVALUATED = "query { evaluatedFlags { key enabled } }"


def flag_input(key: str = "new_checkout", **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "key": key,
        "description": "The new checkout flow",
        "enabled": True,
        "rolloutPercentage": 100,
        "allowedRoles": [],
        "allowedUserIds": [],
    }
    values.update(overrides)
    return values


async def set_flag(res: Resources, admin: Actor, **fields: Any) -> dict[str, Any]:
    result = await execute(res, SET_FLAG, {"input": flag_input(**fields)}, user=admin)
    assert result.errors is None, result.errors
    payload: dict[str, Any] = result.data["setFeatureFlag"]
    return payload


async def is_on(res: Resources, key: str, user: Actor | None) -> bool:
    result = await execute(res, FLAG, {"key": key}, user=user)
    assert result.errors is None, result.errors
    return bool(result.data["flag"]["enabled"])


async def test_flag_crud_audits_and_publishes(resources: Resources) -> None:
    admin = await make_user(resources, Role.ADMIN)
    customer = await make_user(resources, Role.CUSTOMER, email="c@example.com")
    async with resources.events.subscribe("flags") as events:
        created = (await set_flag(resources, admin, allowedUserIds=[]))["flag"]
        assert created["key"] == "new_checkout"
        assert created["rolloutPercentage"] == 100
        assert await asyncio.wait_for(anext(events), 1) == {
            "key": "new_checkout",
            "deleted": False,
        }

        customer_gid = to_global_id("User", customer.user_id)
        updated = await set_flag(
            resources,
            admin,
            description="changed",
            rolloutPercentage=25,
            allowedRoles=["CUSTOMER", "STAFF", "CUSTOMER"],
            allowedUserIds=[customer_gid, customer_gid],
        )
        flag = updated["flag"]
        assert updated["errors"] == []
        assert flag["id"] == created["id"]  # an upsert, not a second flag
        assert flag["createdAt"] == created["createdAt"]
        assert flag["updatedAt"] >= created["updatedAt"]
        assert flag["description"] == "changed"
        assert sorted(flag["allowedRoles"]) == ["CUSTOMER", "STAFF"]
        assert flag["allowedUserIds"] == [customer_gid]
        assert flag["allowedUsers"] == [{"email": "c@example.com"}]
        await asyncio.wait_for(anext(events), 1)

        listed = await execute(resources, LIST_FLAGS, user=admin)
        assert listed.data["featureFlags"]["totalCount"] == 1
        assert listed.data["featureFlags"]["edges"][0]["node"] == {
            "key": "new_checkout",
            "enabled": True,
        }

        deleted = await execute(resources, DELETE_FLAG, {"key": "new_checkout"}, user=admin)
        assert deleted.data["deleteFeatureFlag"] == {"deletedKey": "new_checkout", "errors": []}
        assert await asyncio.wait_for(anext(events), 1) == {
            "key": "new_checkout",
            "deleted": True,
        }

    again = await execute(resources, DELETE_FLAG, {"key": "new_checkout"}, user=admin)
    assert again.data["deleteFeatureFlag"]["errors"] == [{"code": "NOT_FOUND", "field": "key"}]
    assert await resources.db.feature_flags.count_documents({}) == 0

    trail = await resources.db.audit_trail.find({"entity": "feature_flag"}).to_list(None)
    assert [entry["action"] for entry in trail] == [
        "setFeatureFlag",
        "setFeatureFlag",
        "deleteFeatureFlag",
    ]
    assert trail[0]["before"] is None
    assert trail[1]["before"]["rolloutPercentage"] == 100
    assert trail[1]["after"]["rolloutPercentage"] == 25
    assert trail[2]["after"] is None
    assert all(entry["userId"] == ObjectId(admin.user_id) for entry in trail)


async def test_feature_flags_connection_pages_by_key(resources: Resources) -> None:
    admin = await make_user(resources, Role.ADMIN)
    for key in ("gamma", "alpha", "beta"):
        await set_flag(resources, admin, key=key)
    first = await execute(resources, LIST_FLAGS, {"first": 2}, user=admin)
    page = first.data["featureFlags"]
    assert [e["node"]["key"] for e in page["edges"]] == ["alpha", "beta"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await execute(
        resources, LIST_FLAGS, {"first": 2, "after": page["pageInfo"]["endCursor"]}, user=admin
    )
    assert [e["node"]["key"] for e in rest.data["featureFlags"]["edges"]] == ["gamma"]


async def test_validation_errors_are_typed(resources: Resources) -> None:
    admin = await make_user(resources, Role.ADMIN)
    cases: list[tuple[dict[str, Any], str]] = [
        (flag_input(key="Bad Key"), "key"),
        (flag_input(key="x"), "key"),
        (flag_input(key="9lives"), "key"),
        (flag_input(key="a" * 65), "key"),
        (flag_input(rolloutPercentage=101), "rolloutPercentage"),
        (flag_input(rolloutPercentage=-1), "rolloutPercentage"),
        (flag_input(description="d" * 501), "description"),
        (flag_input(allowedUserIds=["not-an-id"]), "allowedUserIds"),
        (flag_input(allowedUserIds=[to_global_id("Product", ObjectId())]), "allowedUserIds"),
        (flag_input(allowedUserIds=[to_global_id("User", ObjectId())]), "allowedUserIds"),
    ]
    for values, field in cases:
        result = await execute(resources, SET_FLAG, {"input": values}, user=admin)
        assert result.errors is None
        payload = result.data["setFeatureFlag"]
        assert payload["flag"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("BAD_USER_INPUT", field)]
    assert await resources.db.feature_flags.count_documents({}) == 0
    assert await resources.db.audit_trail.count_documents({}) == 0
    # The longest and shortest legal keys are accepted.
    assert (await set_flag(resources, admin, key="a" + "b.-_9" * 12 + "xyz"))["errors"] == []
    assert (await set_flag(resources, admin, key="ab"))["errors"] == []


async def test_permissions(resources: Resources) -> None:
    manager = await make_user(resources, Role.MANAGER)
    customer = await make_user(resources, Role.CUSTOMER)
    for user, code in ((manager, "FORBIDDEN"), (customer, "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        for query, variables in (
            (SET_FLAG, {"input": flag_input()}),
            (DELETE_FLAG, {"key": "new_checkout"}),
            (LIST_FLAGS, {}),
        ):
            result = await execute(resources, query, variables, user=user)
            assert result.errors is not None
            assert result.errors[0].extensions["code"] == code
    assert await resources.db.feature_flags.count_documents({}) == 0
    # Evaluation is open to everyone, anonymous callers included.
    assert (await execute(resources, EVALUATED, user=None)).data == {"evaluatedFlags": []}
    assert await is_on(resources, "anything", customer) is False


def test_bucketing_is_deterministic_and_matches_the_rollout() -> None:
    now = datetime.now(UTC)
    doc = {"_id": ObjectId(), "key": "gradual", "enabled": True, "rolloutPercentage": 30}
    flag = FlagRecord.from_doc({**doc, "createdAt": now, "updatedAt": now})
    users = [Actor(user_id=str(ObjectId()), role=Role.CUSTOMER) for _ in range(1000)]
    first = [flags.evaluate(flag, user) for user in users]
    assert first == [flags.evaluate(flag, user) for user in users]
    # 1,000 draws at p=0.3: the standard deviation is ~14.5, so +-60 is over 4 sigma.
    assert 240 <= sum(first) <= 360
    # Raising the rollout only adds users: buckets are stable, nobody flips off.
    wider = [flags.evaluate(replace(flag, rollout_percentage=60), user) for user in users]
    assert all(w for f, w in zip(first, wider, strict=True) if f)
    assert 540 <= sum(wider) <= 660
    # The bucket is the documented hash, so other services can reproduce it.
    assert (
        flags.bucket_of("gradual", "u1")
        == int(__import__("hashlib").sha256(b"gradual:u1").hexdigest()[:8], 16) % 100
    )
    # 0% and 100% are exact.
    assert not any(flags.evaluate(replace(flag, rollout_percentage=0), u) for u in users)
    assert all(flags.evaluate(replace(flag, rollout_percentage=100), u) for u in users)


async def test_rollout_through_the_api_is_stable_per_user(resources: Resources) -> None:
    admin = await make_user(resources, Role.ADMIN)
    await set_flag(resources, admin, key="gradual", rolloutPercentage=50)
    users = [await make_user(resources, Role.CUSTOMER) for _ in range(20)]
    answers = [await is_on(resources, "gradual", user) for user in users]
    assert answers == [flags.bucket_of("gradual", u.user_id) < 50 for u in users]
    assert answers == [await is_on(resources, "gradual", user) for user in users]


async def test_role_and_user_targeting(resources: Resources) -> None:
    admin = await make_user(resources, Role.ADMIN)
    manager = await make_user(resources, Role.MANAGER)
    vip = await make_user(resources, Role.CUSTOMER)
    other = await make_user(resources, Role.CUSTOMER)
    await set_flag(
        resources,
        admin,
        key="dashboard",
        allowedRoles=["MANAGER", "ADMIN"],
        allowedUserIds=[to_global_id("User", vip.user_id)],
    )
    await set_flag(resources, admin, key="everyone")
    await set_flag(
        resources,
        admin,
        key="off",
        enabled=False,
        allowedUserIds=[to_global_id("User", vip.user_id)],
    )
    await set_flag(resources, admin, key="half", rolloutPercentage=50)

    assert await is_on(resources, "dashboard", manager) is True
    assert await is_on(resources, "dashboard", admin) is True
    assert await is_on(resources, "dashboard", vip) is True  # named users beat role targeting
    assert await is_on(resources, "dashboard", other) is False
    assert await is_on(resources, "off", vip) is False  # disabled beats everything
    # Anonymous callers: only flags on for every user (100%, no role targeting).
    assert await is_on(resources, "everyone", None) is True
    assert await is_on(resources, "dashboard", None) is False
    assert await is_on(resources, "half", None) is False

    result = await execute(resources, EVALUATED, user=other)
    evaluated = {row["key"]: row["enabled"] for row in result.data["evaluatedFlags"]}
    assert evaluated == {
        "dashboard": False,
        "everyone": True,
        "half": flags.bucket_of("half", other.user_id) < 50,
        "off": False,
    }


async def test_definitions_are_cached_and_writes_invalidate(resources: Resources) -> None:
    admin = await make_user(resources, Role.ADMIN)
    customer = await make_user(resources, Role.CUSTOMER)
    await set_flag(resources, admin, key="cached", enabled=False)
    assert await is_on(resources, "cached", customer) is False
    # A change behind the service's back is not seen: the definitions come from the cache...
    now = datetime.now(UTC)
    await resources.db.feature_flags.update_one({"key": "cached"}, {"$set": {"enabled": True}})
    await resources.db.feature_flags.insert_one(
        {
            "key": "sneaky",
            "enabled": True,
            "rolloutPercentage": 100,
            "allowedRoles": [],
            "allowedUserIds": [],
            "description": "",
            "createdAt": now,
            "updatedAt": now,
        }
    )
    assert await is_on(resources, "cached", customer) is False
    assert await is_on(resources, "sneaky", customer) is False
    # ...while a write through the service bumps the scope and is visible at once.
    await set_flag(resources, admin, key="cached", enabled=True)
    assert await is_on(resources, "cached", customer) is True
    assert await is_on(resources, "sneaky", customer) is True


async def test_evaluation_through_the_redis_cache(mongo_uri: str, redis_url: str) -> None:
    """Definitions cached in Redis keep their ObjectId user lists; a write on one worker
    is seen by the next read (generations live in Redis)."""
    settings = make_settings(mongo_uri, redis_url=redis_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        res: Resources = app.state.resources
        try:
            admin = await make_user(res, Role.ADMIN)
            vip = await make_user(res, Role.CUSTOMER)
            other = await make_user(res, Role.CUSTOMER)
            vip_gid = to_global_id("User", vip.user_id)
            await set_flag(res, admin, key="pilot", rolloutPercentage=0, allowedUserIds=[vip_gid])
            for _ in range(2):  # fills Redis, then reads the BSON back
                assert await is_on(res, "pilot", vip) is True
                assert await is_on(res, "pilot", other) is False
            await set_flag(res, admin, key="pilot", rolloutPercentage=100)
            assert await is_on(res, "pilot", other) is True
        finally:
            await res.client.drop_database(settings.mongodb_db)


NODE = "query Node($id: ID!) { node(id: $id) { id ... on FeatureFlag { key } } }"


async def test_flags_are_relay_nodes_for_admins_only(resources: Resources) -> None:
    admin = await make_user(resources, Role.ADMIN)
    manager = await make_user(resources, Role.MANAGER)
    flag_id = (await set_flag(resources, admin, key="noded"))["flag"]["id"]
    found = await execute(resources, NODE, {"id": flag_id}, user=admin)
    assert found.data == {"node": {"id": flag_id, "key": "noded"}}
    for user in (manager, None):
        hidden = await execute(resources, NODE, {"id": flag_id}, user=user)
        assert hidden.data == {"node": None}
    missing = to_global_id("FeatureFlag", ObjectId())
    assert (await execute(resources, NODE, {"id": missing}, user=admin)).data == {"node": None}

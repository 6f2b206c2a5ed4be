"""REST endpoints 20-22: the sales summary and feature flags."""

from __future__ import annotations

import httpx

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.schema.node import to_global_id
from tests.support.rest import add_product, signed_in

SUMMARY = "/api/analytics/summary"
FLAGS = "/api/feature-flags"


async def test_sales_summary(client: httpx.AsyncClient, resources: Resources) -> None:
    _, manager = await signed_in(resources, Role.MANAGER)
    _, staff = await signed_in(resources, Role.STAFF)
    _, pid = await add_product(resources, price_cents=1000, stock=10)
    await client.post(
        "/api/orders", json={"items": [{"productId": pid, "quantity": 3}]}, headers=staff
    )

    response = await client.get(SUMMARY, params={"granularity": "WEEK"}, headers=manager)
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["revenue"], data["orderCount"], data["granularity"]) == ("30.00", 1, "WEEK")
    assert data["topProducts"][0]["productId"] == pid
    assert sum(point["orderCount"] for point in data["series"]) == 1

    ranged = await client.get(
        SUMMARY,
        params={"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"},
        headers=manager,
    )
    assert ranged.json()["data"]["revenue"] == "0.00"
    assert ranged.json()["data"]["from"] == "2020-01-01T00:00:00+00:00"

    assert (await client.get(SUMMARY)).status_code == 401
    assert (await client.get(SUMMARY, headers=staff)).status_code == 403
    backwards = {"from": "2021-01-01T00:00:00Z", "to": "2020-01-01T00:00:00Z"}
    assert (await client.get(SUMMARY, params=backwards, headers=manager)).status_code == 422
    assert (
        await client.get(SUMMARY, params={"granularity": "YEAR"}, headers=manager)
    ).status_code == 422


async def test_feature_flags(client: httpx.AsyncClient, resources: Resources) -> None:
    _, admin = await signed_in(resources, Role.ADMIN)
    customer, customer_headers = await signed_in(resources, Role.CUSTOMER)
    _, manager = await signed_in(resources, Role.MANAGER)

    everyone = await client.put(f"{FLAGS}/new-checkout", json={"enabled": True}, headers=admin)
    assert everyone.status_code == 200
    assert everyone.json()["data"]["definition"]["rolloutPercentage"] == 100
    targeted = await client.put(
        f"{FLAGS}/beta",
        json={
            "enabled": True,
            "rolloutPercentage": 0,
            "allowedUserIds": [to_global_id("User", customer.user_id)],
        },
        headers=admin,
    )
    assert targeted.status_code == 200

    anonymous = await client.get(FLAGS)
    assert anonymous.json()["data"] == [
        {"key": "beta", "enabled": False, "definition": None},
        {"key": "new-checkout", "enabled": True, "definition": None},
    ]
    mine = await client.get(FLAGS, headers=customer_headers)
    assert [(f["key"], f["enabled"]) for f in mine.json()["data"]] == [
        ("beta", True),
        ("new-checkout", True),
    ]
    full = await client.get(FLAGS, headers=admin)
    assert full.json()["data"][0]["definition"]["allowedUserIds"] == [
        to_global_id("User", customer.user_id)
    ]

    assert (await client.put(f"{FLAGS}/x-y", json={}, headers=manager)).status_code == 403
    assert (await client.put(f"{FLAGS}/x-y", json={})).status_code == 401
    bad_key = await client.put(f"{FLAGS}/Bad Key!", json={}, headers=admin)
    assert bad_key.status_code == 422
    assert bad_key.json()["error"]["details"]["field"] == "key"
    for body in ({"rolloutPercentage": 101}, {"enabled": "yes"}, {"allowedRoles": ["GOD"]}):
        assert (await client.put(f"{FLAGS}/x-y", json=body, headers=admin)).status_code == 422
    assert (await client.get(FLAGS, headers={"Authorization": "Bearer junk"})).status_code == 401


async def test_flag_audit_entries_carry_the_request_id_on_both_doors(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    """Flag writes are audited with the request id, as every other write (they dropped it)."""
    _, admin = await signed_in(resources, Role.ADMIN)
    rest = await client.put(
        "/api/feature-flags/new-checkout",
        json={"enabled": True},
        headers={**admin, "X-Request-ID": "rest-flag-1"},
    )
    assert rest.status_code == 200, rest.text
    deleted = await client.post(
        "/graphql",
        json={"query": 'mutation { deleteFeatureFlag(key: "new-checkout") { __typename } }'},
        headers={**admin, "X-Request-ID": "graphql-flag-2"},
    )
    assert "errors" not in deleted.json(), deleted.json()
    entries = await resources.db.audit_trail.find(
        {"entity": "feature_flag"}, {"action": 1, "requestId": 1, "_id": 0}
    ).to_list()
    assert sorted((e["action"], e["requestId"]) for e in entries) == [
        ("deleteFeatureFlag", "graphql-flag-2"),
        ("setFeatureFlag", "rest-flag-1"),
    ]

"""REST endpoints 18-19: the caller's notifications."""

from __future__ import annotations

import httpx
from bson import ObjectId

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.records.notifications import NotificationType
from alawael.schema.node import to_global_id
from alawael.services.notifications import notify
from tests.support.rest import signed_in

NOTIFICATIONS = "/api/notifications"


async def test_list_mark_read_and_ownership(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    me, headers = await signed_in(resources, Role.CUSTOMER)
    _, other = await signed_in(resources, Role.CUSTOMER)
    order_id = ObjectId()
    docs = []
    for i in range(2):
        docs += await notify(
            resources,
            [ObjectId(me.user_id)],
            type=NotificationType.ORDER_STATUS,
            title=f"Update {i}",
            body="",
            data={"orderId": order_id},
        )

    listed = await client.get(NOTIFICATIONS, headers=headers)
    assert listed.status_code == 200
    items = listed.json()["data"]
    assert len(items) == 2
    assert not any(n["read"] for n in items)
    assert items[0]["data"] == {"orderId": to_global_id("Order", order_id)}
    assert (await client.get(NOTIFICATIONS, headers=other)).json()["data"] == []

    url = f"{NOTIFICATIONS}/{items[0]['id']}/read"
    assert (await client.post(url, headers=other)).status_code == 404
    marked = await client.post(url, headers=headers)
    assert marked.status_code == 200
    assert marked.json()["data"]["read"] is True
    assert marked.json()["data"]["readAt"]
    assert (await client.post(url, headers=headers)).status_code == 200  # idempotent

    unread = await client.get(NOTIFICATIONS, params={"unread": "true"}, headers=headers)
    assert [n["id"] for n in unread.json()["data"]] == [items[1]["id"]]


async def test_refusals(client: httpx.AsyncClient, resources: Resources) -> None:
    _, headers = await signed_in(resources, Role.CUSTOMER)
    assert (await client.get(NOTIFICATIONS)).status_code == 401
    missing = to_global_id("Notification", ObjectId())
    assert (await client.post(f"{NOTIFICATIONS}/{missing}/read")).status_code == 401
    assert (
        await client.post(f"{NOTIFICATIONS}/{missing}/read", headers=headers)
    ).status_code == 404
    assert (await client.post(f"{NOTIFICATIONS}/bad/read", headers=headers)).status_code == 404
    bad = await client.get(NOTIFICATIONS, params={"unread": "perhaps"}, headers=headers)
    assert bad.status_code == 422
    assert (
        await client.get(NOTIFICATIONS, params={"limit": 500}, headers=headers)
    ).status_code == 422

from __future__ import annotations

import asyncio

from bson import ObjectId

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.records.notifications import NotificationType
from alawael.schema.node import to_global_id
from alawael.services import notifications
from tests.support.graphql import execute, make_user

LIST = """
query($unreadOnly: Boolean!, $first: Int, $after: String) {
  notifications(unreadOnly: $unreadOnly, first: $first, after: $after) {
    edges { node { id type title read data order { number } } }
    pageInfo { hasNextPage endCursor }
  }
  unreadNotificationCount
}
"""
MARK = """
mutation($id: ID!) {
  markNotificationRead(id: $id) { notification { id read readAt } errors { code field } }
}
"""
MARK_ALL = "mutation { markAllNotificationsRead { count errors { code } } }"
ME_NOTES = """
query($id: ID!) { node(id: $id) { ... on User { notifications { edges { node { title } } } } } }
"""


async def seed(res: Resources, user_id: str, count: int) -> list[str]:
    ids = []
    for i in range(count):
        docs = await notifications.notify(
            res,
            [ObjectId(user_id)],
            type=NotificationType.DAILY_SUMMARY,
            title=f"t{i}",
            body="b",
            data={"n": i},
        )
        ids.append(str(to_global_id("Notification", docs[0].id)))
    return ids


async def test_list_count_and_mark_read(resources: Resources) -> None:
    alice = await make_user(resources, Role.CUSTOMER)
    bob = await make_user(resources, Role.CUSTOMER)
    async with resources.events.subscribe("notifications") as events:
        ids = await seed(resources, alice.user_id, 3)
        published = [await asyncio.wait_for(anext(events), 1) for _ in range(3)]
    assert {e["userId"] for e in published} == {alice.user_id}
    await seed(resources, bob.user_id, 1)

    page = await execute(resources, LIST, {"unreadOnly": False, "first": 2}, user=alice)
    assert page.errors is None
    data = page.data
    assert [e["node"]["title"] for e in data["notifications"]["edges"]] == ["t2", "t1"]
    assert data["notifications"]["pageInfo"]["hasNextPage"] is True
    assert data["unreadNotificationCount"] == 3
    rest = await execute(
        resources,
        LIST,
        {"unreadOnly": False, "after": data["notifications"]["pageInfo"]["endCursor"]},
        user=alice,
    )
    assert [e["node"]["title"] for e in rest.data["notifications"]["edges"]] == ["t0"]

    marked = await execute(resources, MARK, {"id": ids[0]}, user=alice)
    assert marked.data["markNotificationRead"]["notification"]["read"] is True
    assert marked.data["markNotificationRead"]["notification"]["readAt"] is not None
    unread = await execute(resources, LIST, {"unreadOnly": True}, user=alice)
    assert [e["node"]["title"] for e in unread.data["notifications"]["edges"]] == ["t2", "t1"]
    assert unread.data["unreadNotificationCount"] == 2

    # Someone else's notification: NOT_FOUND, and it stays unread.
    stolen = await execute(resources, MARK, {"id": ids[1]}, user=bob)
    assert stolen.data["markNotificationRead"]["errors"] == [{"code": "NOT_FOUND", "field": "id"}]
    all_read = await execute(resources, MARK_ALL, user=alice)
    assert all_read.data["markAllNotificationsRead"] == {"count": 2, "errors": []}
    bob_view = await execute(resources, LIST, {"unreadOnly": False}, user=bob)
    assert bob_view.data["unreadNotificationCount"] == 1
    audits = await resources.db.audit_trail.distinct("action", {"entity": "notification"})
    assert sorted(audits) == ["markAllNotificationsRead", "markNotificationRead"]


async def test_notifications_are_private(resources: Resources) -> None:
    alice = await make_user(resources, Role.CUSTOMER)
    admin = await make_user(resources, Role.ADMIN)
    ids = await seed(resources, alice.user_id, 1)
    anonymous = await execute(resources, LIST, {"unreadOnly": False})
    assert anonymous.errors[0].extensions["code"] == "UNAUTHENTICATED"
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert (await execute(resources, node, {"id": ids[0]}, user=admin)).data["node"] is None
    assert (await execute(resources, node, {"id": ids[0]}, user=alice)).data["node"] == {
        "id": ids[0]
    }
    alice_gid = to_global_id("User", alice.user_id)
    own = await execute(resources, ME_NOTES, {"id": alice_gid}, user=alice)
    assert own.data["node"]["notifications"]["edges"] == [{"node": {"title": "t0"}}]
    other = await execute(resources, ME_NOTES, {"id": alice_gid}, user=admin)
    assert other.data["node"]["notifications"] is None
    assert other.errors[0].extensions["code"] == "FORBIDDEN"


USER_NOTIFICATIONS = """
query($id: ID!) { user(id: $id) { email notifications { totalCount } } }
"""


async def test_nobody_reads_another_users_notifications_through_user(
    resources: Resources,
) -> None:
    admin = await make_user(resources, Role.ADMIN)
    alice = await make_user(resources, Role.CUSTOMER)
    await notifications.notify(
        resources,
        [ObjectId(alice.user_id)],
        type=NotificationType.ORDER_PLACED,
        title="Yours",
        body="",
        data={},
    )
    variables = {"id": to_global_id("User", alice.user_id)}
    own = await execute(resources, USER_NOTIFICATIONS, variables, user=alice)
    assert own.data["user"]["notifications"]["totalCount"] == 1
    # An admin may read the user, but not their notifications.
    other = await execute(resources, USER_NOTIFICATIONS, variables, user=admin)
    assert other.errors[0].extensions["code"] == "FORBIDDEN"
    assert other.data["user"]["notifications"] is None

"""Notifications: paging backward as well as forward, and the pushed unread count (new
notifications, read marks and mark-all-read from another device), over a real WebSocket."""

from __future__ import annotations

import httpx
from bson import ObjectId

from alawael.auth.permissions import Actor, Role
from alawael.context import Resources
from alawael.records.notifications import NotificationType
from alawael.services.notifications import notify
from tests.support.graphql import execute
from tests.support.rest import signed_in
from tests.support.ws import codes_of, gql_socket, running_app, signed_in_token

PAGE = """
query ($first: Int, $after: String, $last: Int, $before: String) {
  notifications(first: $first, after: $after, last: $last, before: $before) {
    edges { node { title } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
USER_PAGE = """
query ($last: Int, $before: String) {
  me { notifications(last: $last, before: $before) { edges { node { title } } } }
}
"""
COUNT = "subscription { unreadNotificationCount }"
MARK = "mutation ($id: ID!) { markNotificationRead(id: $id) { errors { code } } }"
LIST_IDS = "{ notifications { edges { node { id title } } } }"


async def _notify(resources: Resources, actor: Actor, title: str) -> None:
    await notify(
        resources,
        [ObjectId(actor.user_id)],
        type=NotificationType.ORDER_STATUS,
        title=title,
        body="",
        data={},
    )


def _titles(connection: dict[str, object]) -> list[str]:
    edges = connection["edges"]
    assert isinstance(edges, list)
    return [edge["node"]["title"] for edge in edges]


async def test_notifications_page_backward(resources: Resources) -> None:
    me, _ = await signed_in(resources, Role.CUSTOMER)
    for i in range(5):
        await _notify(resources, me, f"n{i}")  # newest first: n4 n3 n2 n1 n0

    first = await execute(resources, PAGE, {"first": 2}, user=me)
    page = first.data["notifications"]
    assert _titles(page) == ["n4", "n3"]
    second = await execute(
        resources, PAGE, {"first": 2, "after": page["pageInfo"]["endCursor"]}, user=me
    )
    page2 = second.data["notifications"]
    assert _titles(page2) == ["n2", "n1"]

    # Back from the second page: the two before it, in the same (newest first) order.
    back = await execute(
        resources, PAGE, {"last": 2, "before": page2["pageInfo"]["startCursor"]}, user=me
    )
    assert back.errors is None
    assert _titles(back.data["notifications"]) == ["n4", "n3"]
    assert back.data["notifications"]["pageInfo"]["hasPreviousPage"] is False
    oldest = await execute(resources, PAGE, {"last": 2}, user=me)
    assert _titles(oldest.data["notifications"]) == ["n1", "n0"]
    assert oldest.data["notifications"]["pageInfo"]["hasPreviousPage"] is True

    on_user = await execute(resources, USER_PAGE, {"last": 3}, user=me)
    assert on_user.errors is None
    assert _titles(on_user.data["me"]["notifications"]) == ["n2", "n1", "n0"]
    both = await execute(resources, PAGE, {"first": 1, "last": 1}, user=me)
    assert both.errors
    assert both.errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_unread_count_is_pushed_to_every_device(mongo_uri: str) -> None:
    async with running_app(mongo_uri) as served:
        res = served.resources
        token, me, _ = await signed_in_token(res, Role.CUSTOMER)
        _, stranger, _ = await signed_in_token(res, Role.CUSTOMER)
        auth = {"Authorization": f"Bearer {token}"}
        async with (
            gql_socket(served.ws, token) as badge,
            httpx.AsyncClient(base_url=served.http, headers=auth) as other_device,
        ):
            op = await badge.start(COUNT)

            async def next_count() -> int:
                message = await badge.recv()
                assert message["id"] == op, message
                assert message["type"] == "next", message
                count: int = message["payload"]["data"]["unreadNotificationCount"]
                return count

            assert await next_count() == 0  # the count now, on subscribe
            await _notify(res, stranger, "not yours")  # no push: another user's
            await _notify(res, me, "a")
            assert await next_count() == 1
            await _notify(res, me, "b")
            assert await next_count() == 2

            # Read on another device (GraphQL over HTTP): the badge follows.
            listed = await other_device.post("/graphql", json={"query": LIST_IDS})
            newest = listed.json()["data"]["notifications"]["edges"][0]["node"]
            marked = await other_device.post(
                "/graphql", json={"query": MARK, "variables": {"id": newest["id"]}}
            )
            assert marked.json()["data"]["markNotificationRead"]["errors"] == []
            assert await next_count() == 1
            # Marking it again changes nothing and pushes nothing; the next push is the
            # REST mark-all-read.
            await other_device.post(
                "/graphql", json={"query": MARK, "variables": {"id": newest["id"]}}
            )
            all_read = await other_device.post("/api/notifications/read-all")
            assert all_read.json() == {"data": {"count": 1}}
            assert await next_count() == 0


async def test_unread_count_subscription_needs_a_user(mongo_uri: str) -> None:
    async with running_app(mongo_uri) as served, gql_socket(served.ws) as anonymous:
        assert codes_of(await anonymous.request(COUNT)) == ["UNAUTHENTICATED"]

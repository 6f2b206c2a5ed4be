"""Subscription events rendered once per visibility scope (alawael.realtime.shared_render):
who shares a render, who gets their own, and what goes on the wire for both protocols."""

from __future__ import annotations

import json
from typing import Any

import pytest
from graphql import parse

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.realtime import render_purity, shared_render
from alawael.schema.build import exported_schema
from alawael.schema.node import to_global_id
from alawael.services import orders
from alawael.services.orders import OrderStatus
from tests.support.graphql import make_user
from tests.support.schema_subscriptions import Sub, listening, place, product
from tests.support.subscriptions import (
    LEGACY,
    TRANSPORT,
    open_ws,
    placed,
    recv,
    running_app,
    subscribe,
    subscribers,
    token_for,
)

UPDATED = """
subscription {
  orderUpdated {
    id status total customer { email }
    statusHistory { status by { email } }
    items { quantity product { sku } }
  }
}
"""
# Same subscription, another selection: must never be served the render above.
UPDATED_SHORT = "subscription { orderUpdated { id number } }"
# `notifications` depends on *who* asks (their own only), not just on the role.
UPDATED_WHO_ASKS = """
subscription { orderUpdated { id customer { notifications { edges { node { id } } } } } }
"""


def _payload(result: Any) -> dict[str, Any]:
    assert result is not None
    assert not result.errors, result.errors
    data: dict[str, Any] = result.data
    return data


async def test_same_scope_shares_one_render(resources: Resources) -> None:
    alice = await make_user(resources, Role.CUSTOMER)
    staff = [await make_user(resources, Role.STAFF) for _ in range(3)]
    oid = await place(resources, alice, await product(resources))
    subs = [Sub(resources, UPDATED, actor) for actor in staff]
    await listening(resources, "orders", len(subs))

    await orders.update_order_status(resources, staff[0], oid, OrderStatus.CONFIRMED)
    first, *others = [_payload(await sub.next()) for sub in subs]
    assert first["orderUpdated"]["status"] == "CONFIRMED"
    for data in others:
        # The very same object: one execution for the scope, not one per subscriber.
        assert data is first
    for sub in subs:
        await sub.close()


async def test_each_scope_sees_what_it_may_and_nothing_else(resources: Resources) -> None:
    alice = await make_user(resources, Role.CUSTOMER, email="alice-shared@example.com")
    bob = await make_user(resources, Role.CUSTOMER)
    staff = await make_user(resources, Role.STAFF)
    manager = await make_user(resources, Role.MANAGER)
    oid = await place(resources, alice, await product(resources))
    subs = {
        "alice": Sub(resources, UPDATED, alice),
        "alice2": Sub(resources, UPDATED, alice),  # a second tab: alice's own scope
        "bob": Sub(resources, UPDATED, bob),
        "staff": Sub(resources, UPDATED, staff),
        "manager": Sub(resources, UPDATED, manager),
    }
    await listening(resources, "orders", len(subs))

    await orders.update_order_status(resources, manager, oid, OrderStatus.CONFIRMED)
    got = {who: _payload(await subs[who].next()) for who in ("alice", "alice2", "staff", "manager")}
    await subs["bob"].nothing()

    # Everybody allowed sees the order; only alice's own tabs share her render.
    assert got["alice2"] is got["alice"]
    assert got["staff"] is not got["alice"]
    assert got["manager"] is not got["staff"]
    for data in got.values():
        assert data["orderUpdated"]["customer"]["email"] == "alice-shared@example.com"
    # Who changed the status: staff see the manager, the customer does not (and the
    # staff render never leaks into hers).
    assert got["alice"]["orderUpdated"]["statusHistory"][-1]["by"] is None
    assert got["staff"]["orderUpdated"]["statusHistory"][-1]["by"] is not None
    assert got["manager"]["orderUpdated"]["statusHistory"][-1]["by"] is not None
    for sub in subs.values():
        await sub.close()


async def test_a_different_selection_gets_its_own_render(resources: Resources) -> None:
    alice = await make_user(resources, Role.CUSTOMER)
    staff = [await make_user(resources, Role.STAFF) for _ in range(2)]
    oid = await place(resources, alice, await product(resources))
    full, short = Sub(resources, UPDATED, staff[0]), Sub(resources, UPDATED_SHORT, staff[1])
    await listening(resources, "orders", 2)

    await orders.update_order_status(resources, staff[0], oid, OrderStatus.CONFIRMED)
    full_data, short_data = _payload(await full.next()), _payload(await short.next())
    assert set(short_data["orderUpdated"]) == {"id", "number"}
    assert "statusHistory" in full_data["orderUpdated"]
    assert full_data["orderUpdated"]["id"] == short_data["orderUpdated"]["id"]
    await full.close()
    await short.close()


async def test_a_selection_that_depends_on_who_asks_is_rendered_per_subscriber(
    resources: Resources,
) -> None:
    schema = exported_schema()._schema
    operation = parse(UPDATED_WHO_ASKS).definitions[0]
    assert not render_purity.shareable(schema, operation, ())  # type: ignore[arg-type]
    assert render_purity.shareable(schema, parse(UPDATED).definitions[0], ())  # type: ignore[arg-type]

    alice = await make_user(resources, Role.CUSTOMER)
    staff = [await make_user(resources, Role.STAFF) for _ in range(2)]
    oid = await place(resources, alice, await product(resources))
    subs = [Sub(resources, UPDATED_WHO_ASKS, actor) for actor in staff]
    await listening(resources, "orders", 2)

    await orders.update_order_status(resources, staff[0], oid, OrderStatus.CONFIRMED)
    results = [await sub.next() for sub in subs]
    # Each staff member asked for alice's notifications: FORBIDDEN for both, each from
    # their own execution.
    assert results[0].data is not results[1].data
    for result in results:
        assert result.errors[0].extensions["code"] == "FORBIDDEN"
    for sub in subs:
        await sub.close()


@pytest.fixture
def encodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the payloads actually encoded by shared renders (not served from one)."""
    encoded: list[int] = []
    original = shared_render.Rendered.payload_text

    def counting(self: shared_render.Rendered, extensions: Any) -> str | None:
        if self._payload is None:
            encoded.append(id(self))
        return original(self, extensions)

    monkeypatch.setattr(shared_render.Rendered, "payload_text", counting)
    return encoded


async def _three_staff_sockets(url: str, res: Resources, query: str) -> list[tuple[str, str, Any]]:
    """(op id, protocol, socket): two graphql-transport-ws and one legacy graphql-ws staff
    socket subscribed to `query`, listening."""
    sockets = []
    for op_id, protocol in (("t1", TRANSPORT), ("t2", TRANSPORT), ("l1", LEGACY)):
        token, _ = await token_for(res, Role.STAFF)
        ws = await open_ws(url, token, protocol)
        assert (await recv(ws))["type"] == "connection_ack"
        if protocol == TRANSPORT:
            await subscribe(ws, query, op_id)
        else:
            await ws.send(json.dumps({"id": op_id, "type": "start", "payload": {"query": query}}))
        sockets.append((op_id, protocol, ws))
    await subscribers(res, "orders", len(sockets))
    return sockets


async def _same_payload_own_ids(sockets: list[tuple[str, str, Any]]) -> None:
    """The next message on each socket: its own id and protocol type, one payload for all."""
    payloads = []
    for op_id, protocol, ws in sockets:
        message = await recv(ws, skip=("ping", "ka"))
        assert message["id"] == op_id
        assert message["type"] == ("next" if protocol == TRANSPORT else "data")
        payloads.append(message["payload"])
    assert payloads[0]["data"]["orderPlaced"]["status"] == "PENDING"
    assert payloads[1] == payloads[0]
    assert payloads[2] == payloads[0]


async def test_both_protocols_get_one_encoding_with_their_own_ids(
    mongo_uri: str, encodes: list[int]
) -> None:
    query = "subscription { orderPlaced { id number status total } }"
    async with running_app(mongo_uri) as (url, res):
        sockets = await _three_staff_sockets(url, res, query)

        await placed(res)
        await _same_payload_own_ids(sockets)
        for _, _, ws in sockets:
            await ws.close()
        assert len(encodes) == 1  # one encoding for the three sockets


ONE_ORDER = "subscription ($id: ID) { orderUpdated(orderId: $id) { id status } }"


async def test_variables_split_groups_and_a_filtered_leader_holds_nobody_up(
    resources: Resources,
) -> None:
    alice = await make_user(resources, Role.CUSTOMER)
    staff = [await make_user(resources, Role.STAFF) for _ in range(4)]
    pid = await product(resources)
    first, second = await place(resources, alice, pid), await place(resources, alice, pid)
    on_first = [
        Sub(resources, ONE_ORDER, actor, {"id": to_global_id("Order", first)})
        for actor in staff[:2]
    ]
    on_second = [
        Sub(resources, ONE_ORDER, actor, {"id": to_global_id("Order", second)})
        for actor in staff[2:]
    ]
    await listening(resources, "orders", 4)

    # Each group's leader skips the other group's event: its followers must not wait on
    # it, and the two groups never share a render.
    await orders.update_order_status(resources, staff[0], second, OrderStatus.CONFIRMED)
    await orders.update_order_status(resources, staff[0], first, OrderStatus.CONFIRMED)
    a, b = [_payload(await sub.next()) for sub in on_first]
    c, d = [_payload(await sub.next()) for sub in on_second]
    assert a is b
    assert c is d
    assert a["orderUpdated"]["id"] == to_global_id("Order", first)
    assert c["orderUpdated"]["id"] == to_global_id("Order", second)
    for sub in (*on_first, *on_second):
        await sub.nothing()
        await sub.close()


@pytest.fixture
def express(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The frames followers sent themselves (alawael.realtime.stream's express path)."""
    from alawael.realtime import stream

    sent: list[str] = []
    original = stream.express_frame

    def counting(*args: Any) -> str | None:
        frame = original(*args)
        if frame is not None:
            sent.append(frame)
        return frame

    monkeypatch.setattr(stream, "express_frame", counting)
    return sent


async def test_followers_send_the_groups_frame_themselves_from_their_second_event(
    mongo_uri: str, express: list[str]
) -> None:
    # From its second event on, a follower's frame comes from `express_frame` (no execution,
    # no Strawberry): the frames must stay exactly what the normal path sends.
    query = "subscription { orderPlaced { id number status total customer { email } } }"
    async with running_app(mongo_uri) as (url, res):
        sockets = await _three_staff_sockets(url, res, query)

        for event in range(3):
            await placed(res)
            await _same_payload_own_ids(sockets)
            # The first event teaches each subscriber its frame; from then on the two
            # followers of each event send it themselves, the leader renders.
            assert len(express) == 2 * event
        for _, _, ws in sockets:
            await ws.close()


def test_express_frame_only_for_an_error_free_render_with_the_same_extensions() -> None:
    import asyncio

    from graphql import ExecutionResult, GraphQLError

    from alawael.infra.fanout import Delivery

    group = (("orderPlaced", "staff", Role.STAFF), ("doc", b"{}"))
    template = shared_render.FrameTemplate('"7"', "next", {"cost": 3})

    async def frames() -> list[str | None]:
        out, deliveries = [], []
        for result in (
            ExecutionResult(data={"a": 1}),
            ExecutionResult(data=None, errors=[GraphQLError("boom")]),
        ):
            delivery = Delivery("orders", {"type": "ORDER_PLACED"})
            rendered = shared_render.Rendered(result)
            rendered.payload_text({"cost": 3})  # encoded for the leader

            async def render(value: shared_render.Rendered = rendered) -> shared_render.Rendered:
                return value

            await delivery.memo(("render", *group), render)
            deliveries.append(delivery)
            out.append(shared_render.express_frame(delivery, group, template))
        # The error-free render, for a subscriber whose extensions differ from the encoded.
        other = shared_render.FrameTemplate('"8"', "data", {"cost": 4})
        out.append(shared_render.express_frame(deliveries[0], group, other))
        # No render for this group in this event: nothing to send.
        out.append(shared_render.express_frame(Delivery("orders", {}), group, template))
        return out

    ok, with_errors, other_extensions, missing = asyncio.run(frames())
    assert ok == '{"id":"7","type":"next","payload":{"data":{"a":1},"extensions":{"cost":3}}}'
    assert with_errors is None
    assert other_extensions is None
    assert missing is None


async def _socket_for(url: str, res: Resources, actor: Any) -> Any:
    """A graphql-transport-ws socket signed in as `actor` with a session of its own."""
    from bson import ObjectId

    from alawael.auth.sessions import create_session
    from alawael.auth.tokens import issue_access_token

    session, _ = await create_session(res, ObjectId(actor.user_id), user_agent=None, ip=None)
    token = issue_access_token(
        res.settings, user_id=actor.user_id, role=actor.role, session_id=str(session["_id"])
    )
    ws = await open_ws(url, token, TRANSPORT)
    assert (await recv(ws))["type"] == "connection_ack"
    return ws


async def test_express_frames_stay_within_their_scope_over_real_sockets(
    mongo_uri: str, express: list[str]
) -> None:
    # Staff, managers and two customers (one on two devices), several events: every socket
    # gets exactly the orders it may see, with its own operation id, and the followers'
    # frames (taken from their group) never cross a scope or a role.
    query = "subscription { orderUpdated { id status total customer { email } } }"
    async with running_app(mongo_uri) as (url, res):
        alice = await make_user(res, Role.CUSTOMER, email="alice-express@example.com")
        bob = await make_user(res, Role.CUSTOMER, email="bob-express@example.com")
        staff = await make_user(res, Role.STAFF)
        pid = await product(res)
        a1, a2 = await place(res, alice, pid), await place(res, alice, pid)
        b1 = await place(res, bob, pid)
        who = {
            "staff1": await make_user(res, Role.STAFF),
            "staff2": await make_user(res, Role.STAFF),
            "manager1": await make_user(res, Role.MANAGER),
            "manager2": await make_user(res, Role.MANAGER),
            "alice-phone": alice,
            "alice-laptop": alice,
            "bob": bob,
        }
        sockets = {}
        for op_id, actor in who.items():
            sockets[op_id] = await _socket_for(url, res, actor)
            await subscribe(sockets[op_id], query, op_id)
        await subscribers(res, "orders", len(sockets))

        steps = [
            (a1, OrderStatus.CONFIRMED),
            (b1, OrderStatus.CONFIRMED),
            (a2, OrderStatus.CONFIRMED),
            (a1, OrderStatus.SHIPPED),
            (a2, OrderStatus.SHIPPED),
        ]
        mine = {"alice-phone": {a1, a2}, "alice-laptop": {a1, a2}, "bob": {b1}}
        emails = {a1: "alice-express@example.com", a2: "alice-express@example.com"}
        emails[b1] = "bob-express@example.com"
        for oid, status in steps:
            await orders.update_order_status(res, staff, oid, status)
            for op_id, ws in sockets.items():
                if op_id in mine and oid not in mine[op_id]:
                    continue
                message = await recv(ws, skip=("ping",))
                assert message["id"] == op_id
                assert message["type"] == "next"
                order = message["payload"]["data"]["orderUpdated"]
                assert order["id"] == to_global_id("Order", oid), op_id
                assert order["status"] == status.value
                assert order["customer"]["email"] == emails[oid]
        for ws in sockets.values():
            with pytest.raises(TimeoutError):  # nothing else arrived: no foreign order
                await recv(ws, wait=0.3, skip=("ping",))
            await ws.close()
        # One follower per two-member group per event once its frame is learned: staff and
        # managers on events 2-5, alice's second device on her events 2-4; bob is alone.
        assert len(express) == 4 + 4 + 3

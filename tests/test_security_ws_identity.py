"""Attacks on the WebSocket door's identity (issue 15, finding 1): queries and mutations sent
over an open graphql-transport-ws socket must run with an identity checked as freshly as on
HTTP, an expired access token must authorize nothing, and the socket closes with 4403 at
expiry unless the client re-authenticates (a `ping` carrying a fresh token)."""

from __future__ import annotations

import asyncio
import time

from bson import ObjectId

from alawael.auth.permissions import Role
from alawael.auth.tokens import decode_access_token, issue_access_token
from alawael.services import users
from alawael.services.users import logout_all
from tests.support.graphql import make_user
from tests.support.ws import gql_socket, http_graphql, running_app, signed_in_token

USERS = "{ users { nodes { email role } } }"
ME = "{ me { email role } }"
ESCALATE = """mutation($id: ID!) {
  a: setUserActive(id: $id, active: true) { __typename }
  b: setUserRole(id: $id, role: ADMIN) { __typename }
}"""
FORBIDDEN_CLOSE = 4403


def user_gid(user_id: str) -> str:
    from alawael.schema.node import to_global_id

    return to_global_id("User", user_id)


async def test_demoted_and_deactivated_admin_cannot_use_her_open_socket(mongo_uri: str) -> None:
    async with running_app(mongo_uri, session_check_ttl_seconds=0) as srv:
        res = srv.resources
        token, eve, _ = await signed_in_token(res, Role.ADMIN)
        boss = await make_user(res, Role.ADMIN)
        async with gql_socket(srv.ws, token) as ws:
            assert (await ws.request(ME))["payload"]["data"]["me"]["role"] == "ADMIN"
            await users.set_user_role(res, boss, ObjectId(eve.user_id), Role.CUSTOMER)
            await users.set_user_active(res, boss, ObjectId(eve.user_id), False)
            # Over HTTP her token is refused at once...
            http = (await http_graphql(srv.http, ME, token)).json()
            assert http["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            # ...and the socket must refuse too: no data, no self re-promotion.
            op_id = await ws.start(ESCALATE, variables={"id": user_gid(eve.user_id)})
            await ws.start(USERS)
            leaked = []
            try:
                while True:
                    message = await ws.recv(wait=5)
                    if message.get("type") == "next" and message["payload"].get("data"):
                        leaked.append((message["id"], message["payload"]["data"]))
            except Exception:  # the socket closed (or nothing more came)
                pass
            assert not leaked, f"a stale identity ran operations: {leaked} (first id {op_id})"
            assert ws.conn.close_code == FORBIDDEN_CLOSE
        doc = await res.db.users.find_one({"_id": ObjectId(eve.user_id)})
        assert doc is not None
        assert doc["role"] == "CUSTOMER"
        assert doc["active"] is False


async def test_logout_all_ends_the_open_socket(mongo_uri: str) -> None:
    async with running_app(mongo_uri, session_check_ttl_seconds=0) as srv:
        token, eve, _ = await signed_in_token(srv.resources, Role.CUSTOMER)
        async with gql_socket(srv.ws, token) as ws:
            assert (await ws.request(ME))["payload"]["data"]["me"]
            await logout_all(srv.resources, eve)
            await ws.start(ME)
            assert await ws.closed_with() == FORBIDDEN_CLOSE


async def test_role_change_takes_effect_on_the_socket(mongo_uri: str) -> None:
    async with running_app(mongo_uri, session_check_ttl_seconds=0) as srv:
        res = srv.resources
        token, staff, _ = await signed_in_token(res, Role.MANAGER)
        boss = await make_user(res, Role.ADMIN)
        async with gql_socket(srv.ws, token) as ws:
            assert (await ws.request(USERS))["type"] == "next"
            await users.set_user_role(res, boss, ObjectId(staff.user_id), Role.CUSTOMER)
            await ws.start(USERS)
            assert await ws.closed_with() == FORBIDDEN_CLOSE


async def test_expired_access_token_closes_the_socket_with_4403(mongo_uri: str) -> None:
    async with running_app(mongo_uri, jwt_leeway_seconds=0, access_token_ttl_seconds=30) as srv:
        # A token that expires about one second from now.
        issued = time.time() - 29
        token, _, _ = await signed_in_token(srv.resources, Role.CUSTOMER, issued_at=issued)
        async with gql_socket(srv.ws, token) as ws:
            assert (await ws.request(ME))["payload"]["data"]["me"]
            assert await ws.closed_with(wait=15) == FORBIDDEN_CLOSE
            assert ws.conn.close_reason is not None
            assert "expired" in ws.conn.close_reason.lower()


async def test_ping_with_a_fresh_token_keeps_the_socket(mongo_uri: str) -> None:
    async with running_app(mongo_uri, jwt_leeway_seconds=0, access_token_ttl_seconds=30) as srv:
        res = srv.resources
        token, eve, sid = await signed_in_token(res, Role.CUSTOMER, issued_at=time.time() - 28)
        old_exp = decode_access_token(res.settings, token)["exp"]
        fresh = issue_access_token(
            res.settings, user_id=eve.user_id, role=Role.CUSTOMER, session_id=str(sid)
        )
        async with gql_socket(srv.ws, token) as ws:
            await ws.send({"type": "ping", "payload": {"authorization": f"Bearer {fresh}"}})
            pong = await ws.recv(skip=("ping", "ka"))
            assert pong["type"] == "pong"
            assert pong["payload"]["expiresAt"] > old_exp
            # Wait (polling, with a deadline) until the first token is past its expiry.
            deadline = time.monotonic() + 15
            while time.time() <= old_exp + 0.5:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            answer = await ws.request(ME)
            assert answer["payload"]["data"]["me"]["role"] == "CUSTOMER"


async def test_reauthenticating_as_someone_else_closes_the_socket(mongo_uri: str) -> None:
    async with running_app(mongo_uri) as srv:
        token, _, _ = await signed_in_token(srv.resources, Role.CUSTOMER)
        other, _, _ = await signed_in_token(srv.resources, Role.ADMIN)
        async with gql_socket(srv.ws, token) as ws:
            await ws.send({"type": "ping", "payload": {"authorization": f"Bearer {other}"}})
            assert await ws.closed_with() == FORBIDDEN_CLOSE


async def test_reauthenticating_with_a_bad_token_closes_the_socket(mongo_uri: str) -> None:
    async with running_app(mongo_uri) as srv:
        token, _, _ = await signed_in_token(srv.resources, Role.CUSTOMER)
        async with gql_socket(srv.ws, token) as ws:
            await ws.send({"type": "ping", "payload": {"authorization": "Bearer nope"}})
            assert await ws.closed_with() == FORBIDDEN_CLOSE


async def test_plain_ping_still_answers_pong(mongo_uri: str) -> None:
    async with running_app(mongo_uri) as srv, gql_socket(srv.ws) as ws:
        await ws.send({"type": "ping"})
        assert (await ws.recv(skip=("ping", "ka")))["type"] == "pong"
        assert (await ws.request(ME))["payload"]["data"]["me"] is None

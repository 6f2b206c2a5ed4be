"""Sentry events say whose request failed: the user id, never the email or phone, for GraphQL
over HTTP, REST and GraphQL over WebSocket; an anonymous request's event names nobody.

The app runs in a child interpreter (sentry_sdk.init patches Starlette, Strawberry and
logging process-wide), with a transport that keeps the events in memory and prints them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # a child interpreter: seconds, not milliseconds

PHONE = "+966500000042"

CHILD = """
import asyncio, json, sys
import httpx, sentry_sdk
from bson import ObjectId
from sentry_sdk.transport import Transport
from websockets.asyncio.client import connect
from alawael.auth.permissions import Role
from alawael.infra.observability import configure_logging, init_sentry
from alawael.rest import users as rest_users
from tests.conftest import make_settings
from tests.support.ws import TRANSPORT, GqlSocket, running_app, signed_in_token

EVENTS = []

class Keep(Transport):
    def capture_envelope(self, envelope):
        event = envelope.get_event()
        if event is not None:
            EVENTS.append(event)

BROKEN = "query Broken { serverInfo { uptimeSeconds } }"

async def rest_bug(*args, **kwargs):
    raise RuntimeError("REST handler bug")

async def main(mongo_uri):
    settings = make_settings(mongo_uri, sentry_dsn="http://public@127.0.0.1:9/1")
    configure_logging(settings)
    assert init_sentry(settings, transport=Keep)
    rest_users.users.get_user = rest_bug  # a genuine-looking bug behind GET /api/users/{id}
    async with running_app(mongo_uri, sentry_dsn="http://public@127.0.0.1:9/1") as served:
        res = served.resources
        res.started_at = "not-a-number"  # serverInfo.uptimeSeconds now raises TypeError
        token, actor, _ = await signed_in_token(res, Role.CUSTOMER)
        await res.db.users.update_one(
            {"_id": ObjectId(actor.user_id)}, {"$set": {"phone": PHONE}}
        )
        user = await res.db.users.find_one({"_id": ObjectId(actor.user_id)})
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=served.http) as client:
            await client.post(
                "/graphql", json={"query": BROKEN}, headers={**auth, "X-Request-ID": "gql-http"}
            )
            await client.post("/graphql", json={"query": BROKEN}, headers={"X-Request-ID": "anon"})
            r = await client.get(
                f"/api/users/{actor.user_id}", headers={**auth, "X-Request-ID": "rest"}
            )
            assert r.status_code == 500, r.text
        async with connect(
            served.ws, subprotocols=[TRANSPORT], additional_headers={"X-Request-ID": "ws"}
        ) as conn:
            sock = GqlSocket(conn, TRANSPORT)
            assert (await sock.init({"authorization": f"Bearer {token}"}))["type"] == (
                "connection_ack"
            )
            answer = await sock.request(BROKEN)
            assert answer["payload"]["errors"], answer
    sentry_sdk.flush(10)
    print(json.dumps({"user": {"id": actor.user_id, "email": user["email"]}, "events": EVENTS},
                     default=str))

asyncio.run(main(sys.argv[1]))
""".replace("PHONE", repr(PHONE))


def _request_id(event: dict[str, Any]) -> str | None:
    rid = (event.get("extra") or {}).get("request_id")
    return str(rid) if rid is not None else None


def test_error_events_carry_the_user_id_only(mongo_uri: str, repo_root: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, mongo_uri],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    report = json.loads(child.stdout.strip().splitlines()[-1])
    user, events = report["user"], report["events"]

    by_request = {_request_id(event): event for event in events}
    for rid in ("gql-http", "rest", "ws"):
        assert rid in by_request, f"no event for {rid}: {list(by_request)}"
        assert by_request[rid].get("user") == {"id": user["id"]}, rid
    assert "anon" in by_request
    assert "id" not in (by_request["anon"].get("user") or {})  # nobody's id leaked in

    everything = json.dumps(events)
    assert user["email"] not in everything
    assert PHONE not in everything

"""MongoDB faults: a dedicated SecantusDB with test commands, failed by `configureFailPoint`
(`failCommand`) and by stopping and restarting the server on the same port and data.

While MongoDB fails, clients get a clear SERVICE_UNAVAILABLE (GraphQL) / 503 with the JSON
error shape (HTTP), `/readyz` says 503; a transient transaction error is retried by the
driver's `with_transaction`; when MongoDB is back the same app serves again, unrestarted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pymongo import MongoClient
from starlette.applications import Starlette

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.infra.db import EmbeddedMongo
from alawael.server import create_app
from tests.conftest import make_settings
from tests.reliability.support import (
    PLACE_ORDER,
    User,
    check_invariants,
    gql,
    make_product,
    make_token_user,
    order_input,
)

PRODUCTS = "query { products(first: 5) { edges { node { id sku stock } } } }"
ME = "query { me { id role } }"
FAILING = ["find", "aggregate", "findAndModify", "insert", "update", "delete", "count", "ping"]


@pytest.fixture(scope="module")
def mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedMongo]:
    path = tmp_path_factory.mktemp("faultdb")
    server = EmbeddedMongo(
        path / "data", extra_args=["--enable-test-commands"], log_file=path / "secantus.log"
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def app(mongo: EmbeddedMongo) -> AsyncIterator[Starlette]:
    # A short server-selection timeout: requests during an outage fail in 0.5 s, not 3 s.
    # No cache: every request below must really reach MongoDB.
    settings = make_settings(mongo.uri, mongodb_timeout_ms=500, cache_enabled=False)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
    c: MongoClient[dict[str, Any]]
    with MongoClient(mongo.uri) as c:
        c.drop_database(settings.mongodb_db)


@pytest.fixture
def resources(app: Starlette) -> Resources:
    res: Resources = app.state.resources
    return res


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def failpoint(uri: str, mode: Any, data: dict[str, Any] | None = None) -> None:
    """Set failCommand for the app's connections only (appName "alawael"), so this test's
    own admin client is never the one failed."""
    command: dict[str, Any] = {"configureFailPoint": "failCommand", "mode": mode}
    if data is not None:
        command["data"] = {"appName": "alawael", **data}
    c: MongoClient[dict[str, Any]]
    with MongoClient(uri, appname="fault-admin", serverSelectionTimeoutMS=5000) as c:
        c.admin.command(command)


def _codes(response: httpx.Response) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in response.json().get("errors", [])]


async def _assert_unavailable(client: httpx.AsyncClient, admin: User) -> None:
    anonymous = await gql(client, PRODUCTS)
    assert anonymous.status_code in (200, 503), anonymous.text
    assert _codes(anonymous) == ["SERVICE_UNAVAILABLE"]
    assert "Traceback" not in anonymous.text
    # A token whose session must be re-read (auth happens before the resolver runs).
    authed = await gql(client, ME, user=admin)
    assert authed.status_code in (200, 503), authed.text
    body = authed.json()
    if "error" in body:  # failed in the HTTP layer: the REST/HTTP JSON error shape
        assert authed.status_code == 503
        assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    else:
        assert _codes(authed) == ["SERVICE_UNAVAILABLE"]
    place = await gql(client, PLACE_ORDER, order_input([]), user=admin)
    assert place.status_code < 500
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    health = await client.get("/api/health")
    assert health.status_code == 503  # the load balancer drains this instance
    assert health.json()["mongodb"].startswith("error")


async def _wait_recovered(client: httpx.AsyncClient, admin: User, limit: float = 20) -> float:
    start = time.monotonic()
    while True:
        ready = await client.get("/readyz")
        response = await gql(client, ME, user=admin)
        if ready.status_code == 200 and "errors" not in response.json():
            assert response.json()["data"]["me"]["role"] == "ADMIN"
            return time.monotonic() - start
        assert time.monotonic() - start < limit, (ready.text, response.text)
        await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_failpoint_outage_gives_service_unavailable_then_recovers(
    mongo: EmbeddedMongo, client: httpx.AsyncClient, resources: Resources
) -> None:
    await make_product(resources, "FP-1", 5)
    admin = await make_token_user(resources, Role.ADMIN)
    # Connections dropped on every data command, as when a node dies mid-request.
    failpoint(mongo.uri, "alwaysOn", {"failCommands": FAILING, "closeConnection": True})
    try:
        await asyncio.sleep(2.1)  # past SESSION_CHECK_TTL: the token's session is re-read
        await _assert_unavailable(client, admin)
    finally:
        failpoint(mongo.uri, "off")
    await _wait_recovered(client, admin)
    ok = await gql(client, PRODUCTS)
    assert [e["node"]["sku"] for e in ok.json()["data"]["products"]["edges"]] == ["FP-1"]


@pytest.mark.slow
async def test_stopped_server_then_restart_on_same_port_recovers_without_app_restart(
    mongo: EmbeddedMongo, client: httpx.AsyncClient, resources: Resources
) -> None:
    pid = await make_product(resources, "STOP-1", 7)
    admin = await make_token_user(resources, Role.ADMIN)
    await asyncio.to_thread(mongo.stop)
    try:
        await asyncio.sleep(2.1)  # past the session-check cache
        await _assert_unavailable(client, admin)
    finally:
        await asyncio.to_thread(mongo.start)  # same port, same data directory
    await _wait_recovered(client, admin)
    product = await resources.db.products.find_one({"_id": pid})
    assert product is not None
    assert product["stock"] == 7  # committed data survived the restart


async def test_transient_transaction_error_is_retried_and_the_order_placed_once(
    mongo: EmbeddedMongo, client: httpx.AsyncClient, resources: Resources
) -> None:
    pid = await make_product(resources, "TXN-1", 10)
    buyer = await make_token_user(resources)
    # The first insert after this is the order's insert inside placeOrder's transaction
    # (the pre-check reads, the counter is findAndModify): fail it once as MongoDB does
    # on a write conflict.
    failpoint(
        mongo.uri,
        {"times": 1},
        {
            "failCommands": ["insert"],
            "errorCode": 112,
            "errorLabels": ["TransientTransactionError"],
        },
    )
    try:
        response = await gql(client, PLACE_ORDER, order_input([(pid, 3)]), user=buyer)
    finally:
        failpoint(mongo.uri, "off")
    payload = response.json()["data"]["placeOrder"]
    assert payload["errors"] == []
    assert payload["order"]["items"] == [{"quantity": 3, "lineTotal": "37.50"}]
    db = resources.db
    assert await db.orders.count_documents({}) == 1
    product = await db.products.find_one({"_id": pid})
    assert product is not None
    assert product["stock"] == 7  # decremented once, not once per attempt
    checked = await check_invariants(resources, initial_stock={pid: 10})
    assert checked.problems == []
    assert checked.audit_entries == 1

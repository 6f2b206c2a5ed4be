"""Attacks on the WebSocket door's policies (issue 15, findings 2 and 8): every operation on a
socket meets the HTTP rules (safelist, limits, per-user and per-IP budgets, access log and
analytics), handshakes are budgeted per IP, and legacy graphql-ws answers a query with a
typed error instead of a traceback."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from alawael.auth.permissions import Role
from tests.support.polling import eventually
from tests.support.ws import (
    LEGACY,
    codes_of,
    gql_socket,
    http_graphql,
    running_app,
    signed_in_token,
)

ME = "query Me { me { email } }"
ALLOWED = "{ serverInfo { version } }"
DEEP = "{ me { " + "id " + "} }"


async def test_safelist_holds_on_the_socket(mongo_uri: str, tmp_path: Path) -> None:
    safelist = tmp_path / "safelist.json"
    safelist.write_text(json.dumps([ALLOWED]))
    async with running_app(
        mongo_uri, graphql_safelist_only=True, graphql_safelist_file=safelist
    ) as srv:
        refused = (await http_graphql(srv.http, ME)).json()
        assert refused["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
        async with gql_socket(srv.ws) as ws:
            assert codes_of(await ws.request(ME)) == ["PERSISTED_QUERY_NOT_ALLOWED"]
            assert (await ws.request(ALLOWED))["type"] == "next"


async def test_query_limits_hold_on_the_socket(mongo_uri: str) -> None:
    async with running_app(mongo_uri, graphql_max_aliases=2) as srv:
        query = "{ a: serverInfo { version } b: serverInfo { version } c: serverInfo { version } }"
        async with gql_socket(srv.ws) as ws:
            assert codes_of(await ws.request(query)) == ["QUERY_TOO_COMPLEX"]


async def test_per_user_budget_counts_socket_operations(mongo_uri: str, redis_url: str) -> None:
    async with running_app(
        mongo_uri, redis_url=redis_url, rate_limit_enabled=True, rate_limit_user="3/minute"
    ) as srv:
        token, _, _ = await signed_in_token(srv.resources, Role.CUSTOMER)
        async with gql_socket(srv.ws, token) as ws:
            answers = [await ws.request(ME) for _ in range(5)]
        assert [codes_of(a) for a in answers[:3]] == [[], [], []]
        assert codes_of(answers[3]) == ["RATE_LIMITED"]
        assert answers[3]["payload"][0]["extensions"]["retryAfter"] >= 1
        # The socket spent the same budget HTTP uses.
        assert (await http_graphql(srv.http, ME, token)).status_code == 429


async def test_per_ip_budget_exhausted_over_http_holds_on_the_socket(
    mongo_uri: str, redis_url: str
) -> None:
    async with (
        running_app(
            mongo_uri, redis_url=redis_url, rate_limit_enabled=True, rate_limit_default="2/minute"
        ) as srv,
        gql_socket(srv.ws) as ws,
    ):
        statuses = [(await http_graphql(srv.http, ALLOWED)).status_code for _ in range(3)]
        assert statuses[-1] == 429
        assert codes_of(await ws.request(ALLOWED)) == ["RATE_LIMITED"]


async def test_websocket_handshakes_are_budgeted_per_ip(mongo_uri: str, redis_url: str) -> None:
    async with running_app(
        mongo_uri, redis_url=redis_url, rate_limit_enabled=True, rate_limit_ws_connect="2/minute"
    ) as srv:
        for _ in range(2):
            async with gql_socket(srv.ws):
                pass
        with pytest.raises(InvalidStatus) as refused:
            async with connect(srv.ws, subprotocols=["graphql-transport-ws"]):  # type: ignore[list-item]
                pass
        assert refused.value.response.status_code == 429
        assert refused.value.response.headers["retry-after"]


async def test_socket_operations_reach_access_log_and_analytics(
    mongo_uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_app(mongo_uri, analytics_enabled=True, analytics_flush_seconds=0.1) as srv:
        token, actor, _ = await signed_in_token(srv.resources, Role.CUSTOMER)
        with caplog.at_level(logging.INFO, logger="alawael.access"):
            async with gql_socket(srv.ws, token) as ws:
                assert (await ws.request(ME))["type"] == "next"
        lines = [r for r in caplog.records if r.getMessage().startswith("WS graphql:Me 200")]
        assert lines, [r.getMessage() for r in caplog.records]
        assert getattr(lines[0], "user_id", None) == actor.user_id
        query = {"apiEndpoint": "graphql:Me", "method": "WS"}

        async def recorded() -> bool:
            return await srv.resources.db.analytics.find_one(query) is not None

        await eventually(recorded, what="an analytics record for the socket operation")
        record = await srv.resources.db.analytics.find_one(query)
        assert record is not None
        assert str(record["userId"]) == actor.user_id


@pytest.mark.parametrize("query", ["{ serverInfo { version } }", "mutation { logout { revoked } }"])
async def test_legacy_protocol_answers_queries_with_a_client_error(
    mongo_uri: str, query: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_app(mongo_uri) as srv:
        token, _, _ = await signed_in_token(srv.resources, Role.CUSTOMER)
        with caplog.at_level(logging.INFO):
            async with gql_socket(srv.ws, token, protocol=LEGACY) as ws:
                answer = await ws.request(query)
                assert answer["type"] == "error"
                assert codes_of(answer) == ["BAD_USER_INPUT"]
                # The socket stays usable.
                assert codes_of(await ws.request(query)) == ["BAD_USER_INPUT"]
        tracebacks = [r for r in caplog.records if r.exc_info]
        assert not tracebacks, [r.getMessage() for r in tracebacks]

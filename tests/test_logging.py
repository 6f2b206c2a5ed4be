"""Logs: one structured line per request, JSON in production, security events kept."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bson import ObjectId
from starlette.applications import Starlette

from alawael.auth.permissions import Role
from alawael.auth.sessions import create_session
from alawael.auth.tokens import issue_access_token
from alawael.context import Resources
from alawael.infra.observability import SECURITY_LOGGER, JsonFormatter, configure_logging
from tests.conftest import make_settings
from tests.support.graphql import make_user
from tests.support.polling import wait_until
from tests.support.processes import ServerProcess

NAMED = "query WhoIsAsking { serverInfo { name } }"


def _access(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "alawael.access"]


async def test_one_line_per_graphql_request_with_operation_user_and_request_id(
    client: httpx.AsyncClient, resources: Resources, caplog: pytest.LogCaptureFixture
) -> None:
    actor = await make_user(resources, Role.MANAGER)
    session, _ = await create_session(resources, ObjectId(actor.user_id), user_agent=None, ip=None)
    token = issue_access_token(
        resources.settings, user_id=actor.user_id, role=actor.role, session_id=str(session["_id"])
    )
    with caplog.at_level(logging.INFO, logger="alawael.access"):
        response = await client.post(
            "/graphql",
            json={"query": NAMED},
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-123"},
        )
    assert response.status_code == 200
    [record] = _access(caplog)
    assert record.request_id == "req-123"  # type: ignore[attr-defined]
    assert record.user_id == actor.user_id  # type: ignore[attr-defined]
    assert record.operation == "WhoIsAsking"  # type: ignore[attr-defined]
    assert record.route == "/graphql"  # type: ignore[attr-defined]
    assert record.method == "POST"  # type: ignore[attr-defined]
    assert record.status == 200  # type: ignore[attr-defined]
    assert record.duration_ms > 0  # type: ignore[attr-defined]
    assert token not in record.getMessage()


async def test_rest_lines_carry_the_caller(
    client: httpx.AsyncClient, resources: Resources, caplog: pytest.LogCaptureFixture
) -> None:
    actor = await make_user(resources, Role.CUSTOMER)
    session, _ = await create_session(resources, ObjectId(actor.user_id), user_agent=None, ip=None)
    token = issue_access_token(
        resources.settings, user_id=actor.user_id, role=actor.role, session_id=str(session["_id"])
    )
    with caplog.at_level(logging.INFO, logger="alawael.access"):
        response = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    [record] = _access(caplog)
    assert record.route == "/api/users/me"  # type: ignore[attr-defined]
    assert record.user_id == actor.user_id  # type: ignore[attr-defined]


async def test_rest_lines_carry_the_route_template_and_failures_their_status(
    app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with caplog.at_level(logging.INFO, logger="alawael.access"):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.get("/api/health")
            assert (await client.get("/_test/boom")).status_code == 500
    ok, boom = _access(caplog)
    assert (ok.route, ok.status, ok.user_id) == ("/api/health", 200, None)  # type: ignore[attr-defined]
    assert (boom.route, boom.status) == ("/_test/boom", 500)  # type: ignore[attr-defined]
    assert boom.request_id  # type: ignore[attr-defined]


def test_json_formatter_writes_one_object_per_line_with_the_extra_fields() -> None:
    record = logging.LogRecord("alawael.access", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    record.request_id = "abc"
    record.status = 200
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "GET /x"
    assert entry["request_id"] == "abc"
    assert entry["status"] == 200
    assert entry["level"] == "INFO"
    assert entry["ts"].endswith("Z")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    security_level = logging.getLogger(SECURITY_LOGGER).level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger(SECURITY_LOGGER).setLevel(security_level)


@pytest.mark.usefixtures("restore_logging")
def test_log_level_and_format_come_from_settings(mongo_uri: str) -> None:
    configure_logging(
        make_settings(mongo_uri, log_level="warning", env="production", jwt_secret="x" * 40)
    )
    root = logging.getLogger()
    assert root.level == logging.WARNING
    assert isinstance(root.handlers[0].formatter, JsonFormatter)
    # Security events stay visible at INFO even when the rest is quieter.
    assert logging.getLogger(SECURITY_LOGGER).isEnabledFor(logging.INFO)
    assert not logging.getLogger("alawael.access").isEnabledFor(logging.INFO)

    configure_logging(make_settings(mongo_uri, log_level="DEBUG", env="development"))
    assert logging.getLogger().level == logging.DEBUG
    assert not isinstance(logging.getLogger().handlers[0].formatter, JsonFormatter)


async def _disconnecting_request(app: Starlette, path: str) -> list[dict[str, object]]:
    """A POST whose client hangs up before sending its body (as stopping wrk does)."""
    sent: list[dict[str, object]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"t"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000),
        "server": ("t", 80),
        "app": app,
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # must not raise: uvicorn would log a traceback
    return sent


@pytest.mark.parametrize("path", ["/graphql", "/api/auth/login"])
async def test_a_client_disconnect_is_one_info_line_and_a_counter(
    app: Starlette, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    def disconnects(text: str) -> float:
        for line in text.splitlines():
            if line.startswith("alawael_client_disconnects_total "):
                return float(line.split()[1])
        return 0.0

    before = disconnects((await client.get("/metrics")).text)
    with caplog.at_level(logging.DEBUG):
        sent = await _disconnecting_request(app, path)
    assert sent == []  # nobody is left to answer
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not any(r.exc_info for r in caplog.records)
    [record] = _access(caplog)
    assert record.levelno == logging.INFO
    assert record.status == 499  # type: ignore[attr-defined]
    assert disconnects((await client.get("/metrics")).text) == before + 1


@pytest.mark.slow
def test_websockets_log_one_access_line_not_uvicorns_two(mongo_uri: str, tmp_path: Path) -> None:
    """uvicorn wrote "connection open" and '"WebSocket /graphql" [accepted]' at INFO for
    every socket (2,000 lines for 1,000 subscribers); they go to DEBUG, and our access
    middleware's one line per socket stays."""
    from websockets.sync.client import connect

    log_path = tmp_path / "server.log"
    env = {
        "MONGODB_URI": mongo_uri,
        "MONGODB_DB": f"t_wslog_{uuid.uuid4().hex[:8]}",
        "LOG_LEVEL": "INFO",
        "ANALYTICS_ENABLED": "false",
    }
    with ServerProcess(env, log_path=log_path) as server:
        for _ in range(2):
            with connect(
                server.url.replace("http", "ws") + "/graphql",
                subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                open_timeout=10,
            ) as ws:
                ws.send(json.dumps({"type": "connection_init", "payload": {}}))
                assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        wait_until(
            lambda: log_path.read_text().count("WEBSOCKET /graphql closed") == 2,
            what="the access line of each socket",
        )
    log = log_path.read_text()
    assert "Application startup complete" in log  # uvicorn's other INFO lines still pass
    assert "connection open" not in log
    assert "[accepted]" not in log
    assert "connection closed" not in log


async def test_a_websocket_client_leaving_mid_result_is_one_info_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Seen against a production server: a client that closed its socket while a query's
    result was being sent made Strawberry log "Exception in worker task" with a traceback at
    ERROR, once per operation. It is one INFO line and a counter now; real errors still log."""
    from datetime import timedelta

    from prometheus_client import REGISTRY
    from strawberry.http.exceptions import WebSocketDisconnected

    from alawael.realtime.websocket import TransportWSHandler

    handler = TransportWSHandler(
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,
        None,  # type: ignore[arg-type]
        timedelta(seconds=1),
    )
    before = REGISTRY.get_sample_value("alawael_client_disconnects_total") or 0.0
    with caplog.at_level(logging.INFO):
        await handler.handle_task_exception(WebSocketDisconnected())
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert not any(r.exc_info for r in caplog.records)
    assert REGISTRY.get_sample_value("alawael_client_disconnects_total") == before + 1

    caplog.clear()
    with caplog.at_level(logging.INFO):
        await handler.handle_task_exception(RuntimeError("a real bug"))
    assert [r.levelno for r in caplog.records] == [logging.ERROR]

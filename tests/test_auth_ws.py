"""WebSocket authentication: the token rides in connection_init; a bad one closes with 4403."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from alawael.config import Settings
from alawael.server import create_app
from tests.conftest import make_settings

REGISTER = """
mutation { register(input: {email: "ws@example.com", password: "correct horse battery",
                            name: "WS"}) { accessToken } }"""
LOGOUT = "mutation { logout { revoked } }"
ME = "{ me { email role } }"
PROTOCOL = ["graphql-transport-ws"]


@pytest.fixture
def ws_settings(mongo_uri: str) -> Settings:
    return make_settings(mongo_uri, session_check_ttl_seconds=0)


@pytest.fixture
def tc(ws_settings: Settings) -> Iterator[TestClient]:
    app = create_app(ws_settings)
    with TestClient(app) as client:
        yield client
        assert client.portal is not None
        client.portal.call(app.state.resources.client.drop_database, ws_settings.mongodb_db)


def register(tc: TestClient) -> str:
    response = tc.post("/graphql", json={"query": REGISTER})
    token: str = response.json()["data"]["register"]["accessToken"]
    return token


def me_over_ws(tc: TestClient, payload: dict[str, Any] | None, **kw: Any) -> Any:
    with tc.websocket_connect("/graphql", subprotocols=PROTOCOL, **kw) as ws:
        init: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            init["payload"] = payload
        ws.send_json(init)
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": ME}})
        message = ws.receive_json()
        assert message["type"] == "next", message
        return message["payload"]["data"]["me"]


def rejected(tc: TestClient, payload: dict[str, Any]) -> WebSocketDisconnect:
    with tc.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "connection_init", "payload": payload})
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
    return info.value


def test_anonymous_connection_is_accepted(tc: TestClient) -> None:
    assert me_over_ws(tc, None) is None
    assert me_over_ws(tc, {}) is None


def test_valid_token_in_connection_init(tc: TestClient) -> None:
    token = register(tc)
    expected = {"email": "ws@example.com", "role": "CUSTOMER"}
    assert me_over_ws(tc, {"authorization": f"Bearer {token}"}) == expected
    assert me_over_ws(tc, {"token": token}) == expected
    # Non-browser clients may authenticate the handshake itself.
    assert me_over_ws(tc, None, headers={"Authorization": f"Bearer {token}"}) == expected


@pytest.mark.parametrize(
    "payload",
    [
        {"authorization": "Bearer not-a-token"},
        {"token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
    ],
)
def test_invalid_token_closes_with_4403(tc: TestClient, payload: dict[str, Any]) -> None:
    closed = rejected(tc, payload)
    assert closed.code == 4403
    assert closed.reason == "Forbidden"


def test_revoked_token_closes_with_4403(tc: TestClient) -> None:
    token = register(tc)
    headers = {"Authorization": f"Bearer {token}"}
    assert tc.post("/graphql", json={"query": LOGOUT}, headers=headers).json()["data"]
    assert rejected(tc, {"authorization": f"Bearer {token}"}).code == 4403

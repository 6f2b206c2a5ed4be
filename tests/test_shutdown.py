"""Graceful shutdown of a real `alawael serve`: SIGTERM lets an in-flight request finish,
tells WebSocket clients 1001 "going away", stops the embedded database, and exits 0."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support.processes import ServerProcess

pytestmark = pytest.mark.slow


def _embedded_running(path: Path) -> bool:
    found = subprocess.run(["pgrep", "-f", f"storage-path {path}"], capture_output=True)
    return found.returncode == 0


def test_sigterm_finishes_requests_closes_websockets_and_exits_cleanly(tmp_path: Path) -> None:
    db_path = tmp_path / "db"
    server = ServerProcess(
        {"EMBEDDED_DB_PATH": str(db_path), "LOG_LEVEL": "INFO"},
        log_path=tmp_path / "server.log",
    ).start()
    try:
        assert _embedded_running(db_path)
        ws = connect(
            server.url.replace("http", "ws") + "/graphql",
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            open_timeout=10,
        )
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"

        result: dict[str, object] = {}

        def slow_request() -> None:
            response = httpx.get(f"{server.url}/_test/slow", params={"seconds": "2"}, timeout=30)
            result["status"] = response.status_code
            result["body"] = response.json()

        thread = threading.Thread(target=slow_request)
        thread.start()
        # Wait until the request is being served (its log line comes only at the end, so
        # give the server a moment to read it); it sleeps 2 s, well past this point.
        time.sleep(0.5)
        code = server.stop()
        thread.join(10)

        assert result == {"status": 200, "body": {"slept": 2.0}}, "in-flight request finished"
        assert code == 0
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1001
        assert not _embedded_running(db_path), "the embedded database was stopped"
    finally:
        server.stop()
    log = (tmp_path / "server.log").read_text()
    assert "Application shutdown complete" in log
    assert "closed 1 websocket(s) with 1001 going away" in log

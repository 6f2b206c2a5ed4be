"""Sentry: unexpected errors reach a (fake, local) Sentry with their real exception type,
expected errors do not, and no personal data is sent.

The app runs in a child interpreter: `sentry_sdk.init` patches Starlette, Strawberry and
logging process-wide, and the rest of the test session should not run under those patches.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # a child interpreter: seconds, not milliseconds

SECRET_TOKEN = "very-secret-bearer-token"
SECRET_COOKIE = "session=cookie-secret-value"
BROKEN_QUERY = "query BrokenInfo { serverInfo { uptimeSeconds } }"
INVALID_QUERY = "query Invalid { serverInfo { noSuchField } }"

CHILD = """
import asyncio, sys
import httpx, sentry_sdk
from tests.conftest import make_settings
from alawael.infra.observability import configure_logging, init_sentry
from alawael.server import create_app

async def main(dsn: str, mongo_uri: str) -> None:
    settings = make_settings(mongo_uri, sentry_dsn=dsn, release="alawael@test-release")
    configure_logging(settings)
    assert init_sentry(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        res = app.state.resources
        # A genuine bug: serverInfo computes time.time() - started_at.
        res.started_at = "not-a-number"
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        headers = {"Authorization": "Bearer TOKEN", "Cookie": "COOKIE"}
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.post("/graphql", json={"query": BROKEN}, headers=headers)
            assert r.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR", r.text
            r = await client.post("/graphql", json={"query": INVALID}, headers=headers)
            assert r.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
            r = await client.get("/_test/boom", headers=headers)
            assert r.status_code == 500, r.status_code
        await res.client.drop_database(settings.mongodb_db)
    sentry_sdk.flush(10)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""
CHILD = (
    CHILD.replace("TOKEN", SECRET_TOKEN)
    .replace("COOKIE", SECRET_COOKIE)
    .replace("BROKEN", repr(BROKEN_QUERY))
    .replace("INVALID", repr(INVALID_QUERY))
)


class FakeSentry(BaseHTTPRequestHandler):
    envelopes: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        type(self).envelopes.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def fake_sentry() -> Iterator[tuple[str, list[bytes]]]:
    FakeSentry.envelopes = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSentry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield f"http://publickey@127.0.0.1:{port}/1", FakeSentry.envelopes
    finally:
        server.shutdown()
        server.server_close()


def _events(envelopes: list[bytes]) -> list[dict[str, Any]]:
    events = []
    for raw in envelopes:
        lines = raw.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


def _exception_types(event: dict[str, Any]) -> list[str]:
    return [v.get("type") for v in (event.get("exception") or {}).get("values", [])]


def test_unexpected_errors_reach_sentry_without_pii(
    fake_sentry: tuple[str, list[bytes]], mongo_uri: str, repo_root: Path
) -> None:
    dsn, envelopes = fake_sentry
    child = subprocess.run(
        [sys.executable, "-c", CHILD, dsn, mongo_uri],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert child.returncode == 0, child.stderr[-3000:]

    events = _events(envelopes)
    types = [t for event in events for t in _exception_types(event)]
    assert "TypeError" in types, f"the GraphQL resolver's bug arrived: {types}"
    assert "RuntimeError" in types, f"the REST handler's bug arrived: {types}"
    assert "GraphQLError" not in types, "expected (validation) errors are not sent"

    graphql_event = next(e for e in events if "TypeError" in _exception_types(e))
    assert graphql_event["environment"] == "test"
    assert graphql_event["release"] == "alawael@test-release"
    assert graphql_event.get("logger") == "alawael.errors"
    assert graphql_event.get("extra", {}).get("request_id"), "the log's request id rides along"

    everything = b"".join(envelopes).decode("utf-8", "replace")
    assert SECRET_TOKEN not in everything
    assert "cookie-secret-value" not in everything
    for event in events:
        assert "ip_address" not in (event.get("user") or {})

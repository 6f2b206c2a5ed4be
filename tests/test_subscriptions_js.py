"""The PWA's client library against our server: the npm `graphql-ws` client (under node)
authenticates in connection_init, subscribes, and receives payloads as JSON."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from alawael.auth.permissions import Role
from tests.support.npm import npm_ci
from tests.support.subscriptions import placed, running_app, token_for

JS_DIR = Path(__file__).parent / "js" / "subscriptions"
ORDER_PLACED = "subscription { orderPlaced { number status } }"


@pytest.fixture(scope="session")
def node_client() -> Path:
    return npm_ci(JS_DIR) / "subscribe.mjs"


async def run_node(script: Path, *args: str) -> tuple[asyncio.subprocess.Process, list[Any]]:
    proc = await asyncio.create_subprocess_exec(
        "node", str(script), *args, stdout=asyncio.subprocess.PIPE, cwd=JS_DIR
    )
    return proc, []


async def read_line(proc: asyncio.subprocess.Process, wait: float = 15.0) -> Any:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), wait)
    assert line, "node exited early"
    return json.loads(line)


async def test_graphql_ws_client_receives_payloads(mongo_uri: str, node_client: Path) -> None:
    async with running_app(mongo_uri) as (url, res):
        token, _ = await token_for(res, Role.STAFF)
        proc, _ = await run_node(node_client, url, token, "2", ORDER_PLACED)
        try:
            assert await read_line(proc) == {"event": "connected"}
            fanout = res.events.fanout  # type: ignore[attr-defined]
            for _ in range(500):
                if fanout.subscriber_count("orders"):
                    break
                await asyncio.sleep(0.01)
            await placed(res, 2)
            first, second = await read_line(proc), await read_line(proc)
            assert first["data"]["orderPlaced"]["status"] == "PENDING"
            assert second["data"]["orderPlaced"]["number"].startswith("ORD-")
            assert await asyncio.wait_for(proc.wait(), 10) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def test_graphql_ws_client_sees_auth_refusal(mongo_uri: str, node_client: Path) -> None:
    async with running_app(mongo_uri) as (url, _res):
        proc, _ = await run_node(node_client, url, "bad-token", "1", ORDER_PLACED)
        try:
            lines = [await read_line(proc)]
            while lines[-1].get("event") != "error":
                lines.append(await read_line(proc))
            assert {"event": "closed", "code": 4403} in lines
            assert await asyncio.wait_for(proc.wait(), 10) == 1
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

from __future__ import annotations

import re

import httpx
import pytest

from alawael import __version__


async def test_api_health_reports_dependencies(client: httpx.AsyncClient) -> None:
    for path in ("/api/health", "/health"):
        response = await client.get(path)
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["version"] == __version__
        assert body["mongodb"] == "ok"
        assert body["redis"] == "disabled"
        assert body["uptime"] >= 0


async def test_liveness_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32


async def test_unknown_route_uses_the_json_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "sent",
    [
        "<script>alert(1)</script>",
        "a b",
        "x" * 65,
        'id"; DROP',
        "ûnicode",
        "-starts-with-dash",
        "tab\there",
    ],
)
async def test_a_request_id_that_is_not_an_id_is_replaced(
    client: httpx.AsyncClient, sent: str
) -> None:
    """X-Request-ID lands in logs, Sentry and the audit trail: only id-like values pass."""
    response = await client.get("/healthz", headers={"X-Request-ID": sent.encode("utf-8")})
    returned = response.headers["x-request-id"]
    assert returned != sent
    assert re.fullmatch(r"[0-9a-f]{32}", returned)


async def test_trace_style_request_ids_pass_through(client: httpx.AsyncClient) -> None:
    for sent in ("3f2b6c1e-9d4a-4a7b-8c1d-2e5f6a7b8c9d", "00-4bf92f3577b34da6-01", "svc.a:42_x"):
        response = await client.get("/healthz", headers={"X-Request-ID": sent})
        assert response.headers["x-request-id"] == sent

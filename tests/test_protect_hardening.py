"""Security headers, the request body limit (413) and the operator-injection guard."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from alawael.protect.injection import reject_operators, require_scalar
from alawael.server import create_app
from alawael.shared.errors import BadUserInput
from tests.conftest import make_settings

QUERY = {"query": "{ serverInfo { name } }"}


async def test_security_headers_without_hsts_outside_production(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=QUERY)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers
    assert (await client.get("/healthz")).headers["x-frame-options"] == "DENY"


async def test_hsts_in_production(mongo_uri: str) -> None:
    app = create_app(make_settings(mongo_uri, env="production", jwt_secret="y" * 40))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as c:
            response = await c.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")


@pytest.fixture
async def small_body_client(mongo_uri: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(mongo_uri, max_body_bytes=2048))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


async def test_body_over_content_length_limit_is_413(small_body_client: httpx.AsyncClient) -> None:
    big = {"query": "{ serverInfo { name } }", "variables": {"pad": "x" * 4096}}
    response = await small_body_client.post("/graphql", json=big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    ok = await small_body_client.post("/graphql", json=QUERY)
    assert ok.status_code == 200


async def test_streamed_body_without_content_length_is_counted(
    small_body_client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ serverInfo { name } }", "variables": {"pad": "'
        for _ in range(10):
            yield b"x" * 512
        yield b'"}}'

    response = await small_body_client.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    "value",
    [
        {"$ne": None},
        {"email": {"$gt": ""}},
        [{"ok": 1}, {"$where": "sleep(1000)"}],
        {"a.b": 1},
        {"profile": {"nested": [{"$regex": ".*"}]}},
    ],
)
def test_reject_operators_refuses_operator_keys(value: object) -> None:
    with pytest.raises(BadUserInput) as info:
        reject_operators(value, "filter")
    assert info.value.field is not None
    assert info.value.field.startswith("filter")


def test_reject_operators_accepts_plain_data() -> None:
    reject_operators({"name": "Lamp", "tags": ["a", "b"], "price": {"amount": 5}}, "input")
    reject_operators("$not-a-key-just-a-string", "input")


def test_require_scalar() -> None:
    require_scalar("a@b.c", "email")
    with pytest.raises(BadUserInput):
        require_scalar({"$ne": None}, "email")

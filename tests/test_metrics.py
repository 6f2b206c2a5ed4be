"""/metrics: what it shows after real GraphQL and REST traffic, and who may read it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from bson import ObjectId
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from alawael.config import Settings
from alawael.context import Resources
from alawael.loaders import Loaders
from alawael.server import create_app
from tests.conftest import make_settings
from tests.support.processes import ServerProcess

SERVER_INFO = "query ServerInfoForMetrics { serverInfo { name version } }"
UNNAMED = "{ serverInfo { name } }"
BROKEN = "query Broken { serverInfo { noSuchField } }"


async def widget(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["widget_id"]})


@pytest.fixture
async def metrics_app(settings: Settings) -> AsyncIterator[Starlette]:
    app = create_app(settings)
    # A REST route with a path parameter: the histogram must show its template.
    app.router.routes.append(Route("/api/widgets/{widget_id}", widget, methods=["GET"]))
    async with app.router.lifespan_context(app):
        yield app
        res: Resources = app.state.resources
        await res.client.drop_database(settings.mongodb_db)


def _client(app: Starlette, host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def _value(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in exposition text (labels in any order)."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(2))
    return None


async def test_metrics_show_latency_by_route_and_operation_mongo_and_loaders(
    metrics_app: Starlette,
) -> None:
    res: Resources = metrics_app.state.resources
    before_invalid = (
        REGISTRY.get_sample_value(
            "alawael_errors_total", {"source": "graphql", "code": "GRAPHQL_VALIDATION_FAILED"}
        )
        or 0.0
    )
    async with _client(metrics_app) as client:
        for _ in range(3):
            ok = await client.post(
                "/graphql", json={"query": SERVER_INFO, "operationName": "ServerInfoForMetrics"}
            )
            assert ok.status_code == 200
        # No operationName field: the first operation's name is used, else "anonymous".
        await client.post("/graphql", json={"query": SERVER_INFO})
        await client.post("/graphql", json={"query": UNNAMED})
        await client.get("/graphql", params={"query": UNNAMED})
        await client.post("/graphql", json={"query": BROKEN})
        for raw in ("a1", "b2", str(ObjectId())):
            assert (await client.get(f"/api/widgets/{raw}")).status_code == 200
        assert (await client.get("/api/no-such-thing")).status_code == 404

        # One loader batch of three keys: one $in query on users.
        loaders = Loaders(res.db)
        ids = [ObjectId() for _ in range(3)]
        import asyncio

        await asyncio.gather(*(loaders.user_by_id.load(oid) for oid in ids))

        # Cache lookups (one miss, one hit) feed the hit-ratio gauge.
        async def compute() -> int:
            return 1

        for _ in range(2):
            await res.cache.get_or_compute(
                "metrics-test", ["k"], scopes=["products"], ttl=30, compute=compute
            )

        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text

    count = "alawael_graphql_request_duration_seconds_count"
    assert (_value(text, count, operation="ServerInfoForMetrics") or 0) >= 4
    assert (_value(text, count, operation="anonymous") or 0) >= 2
    rest = "alawael_http_request_duration_seconds_count"
    assert _value(text, rest, route="/api/widgets/{widget_id}", method="GET", status="200") == 3
    assert "/api/widgets/a1" not in text, "raw paths never become labels"
    assert (_value(text, rest, route="unmatched", method="GET", status="404") or 0) >= 1

    assert (
        _value(text, "alawael_mongo_commands_total", collection="users", command="find") or 0
    ) >= 1
    assert (_value(text, "alawael_mongo_command_duration_seconds_count", command="find") or 0) >= 1
    assert (_value(text, "alawael_dataloader_batch_size_count", collection="users") or 0) >= 1
    assert (
        _value(text, "alawael_dataloader_batch_size_bucket", collection="users", le="2.0") or 0
    ) < (_value(text, "alawael_dataloader_batch_size_bucket", collection="users", le="5.0") or 0), (
        "the batch held three keys"
    )

    assert (
        _value(text, "alawael_cache_requests_total", cache="metrics-test", result="hit") or 0
    ) >= 1
    ratio = _value(text, "alawael_cache_hit_ratio", cache="metrics-test")
    assert ratio is not None
    assert 0 < ratio < 1

    after_invalid = _value(
        text, "alawael_errors_total", source="graphql", code="GRAPHQL_VALIDATION_FAILED"
    )
    assert after_invalid == before_invalid + 1
    assert (_value(text, "alawael_errors_total", source="rest", code="NOT_FOUND") or 0) >= 1
    for name in (
        "alawael_websockets_open",
        "alawael_subscriptions_active",
        "alawael_rate_limited_total",
        "alawael_job_runs_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name


async def test_metrics_without_a_token_are_for_loopback_clients_only(
    metrics_app: Starlette,
) -> None:
    async with _client(metrics_app, host="10.1.2.3") as remote:
        assert (await remote.get("/metrics")).status_code == 403
    async with _client(metrics_app, host="::1") as local:
        assert (await local.get("/metrics")).status_code == 200


async def test_metrics_token_is_required_when_configured(mongo_uri: str) -> None:
    settings = make_settings(mongo_uri, metrics_token="s3cret-scrape-token")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with _client(app, host="127.0.0.1") as client:
            # Loopback is not enough once a token is configured.
            assert (await client.get("/metrics")).status_code == 403
            wrong = {"Authorization": "Bearer nope"}
            assert (await client.get("/metrics", headers=wrong)).status_code == 403
        async with _client(app, host="10.1.2.3") as remote:
            good = {"Authorization": "Bearer s3cret-scrape-token"}
            response = await remote.get("/metrics", headers=good)
            assert response.status_code == 200
            assert "alawael_http_request_duration_seconds" in response.text
        await app.state.resources.client.drop_database(settings.mongodb_db)


@pytest.mark.parametrize("token", [None, "", "   "])
async def test_production_refuses_metrics_without_a_token_even_from_loopback(
    mongo_uri: str, token: str | None
) -> None:
    """Behind a reverse proxy on the same host every client is loopback: production needs
    METRICS_TOKEN. An empty token (`METRICS_TOKEN: ${METRICS_TOKEN:-}` in compose) is unset,
    not a token that `Authorization: Bearer ` matches."""
    settings = make_settings(mongo_uri, env="production", jwt_secret="p" * 40, metrics_token=token)
    assert settings.metrics_token is None
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with _client(app, host="127.0.0.1") as local:
            refused = await local.get("/metrics")
            assert refused.status_code == 403
            assert "METRICS_TOKEN" in refused.text
            empty_bearer = await local.get("/metrics", headers={"Authorization": "Bearer "})
            assert empty_bearer.status_code == 403
        await app.state.resources.client.drop_database(settings.mongodb_db)


@pytest.mark.slow
def test_two_workers_share_one_metrics_view(mongo_uri: str, redis_url: str) -> None:
    """`alawael serve --workers 2` runs prometheus-client in multiprocess mode: whichever
    worker answers /metrics reports the requests of both."""
    env = {"MONGODB_URI": mongo_uri, "MONGODB_DB": f"t_{ObjectId()}", "REDIS_URL": redis_url}
    with ServerProcess(env, workers=2) as server:
        for _ in range(20):
            httpx.post(
                f"{server.url}/graphql", json={"query": "query TwoWorkers { serverInfo { name } }"}
            )
        texts = [httpx.get(f"{server.url}/metrics").text for _ in range(4)]
    for text in texts:
        count = _value(
            text, "alawael_graphql_request_duration_seconds_count", operation="TwoWorkers"
        )
        assert count == 20

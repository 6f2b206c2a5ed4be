"""The OpenAPI document and docs page, the generic error statuses, and parity with GraphQL
(the same product and order read through both doors)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from pymongo.errors import ServerSelectionTimeoutError

from alawael.auth.permissions import Role
from alawael.context import Resources
from alawael.services import products
from tests.support.graphql import execute
from tests.support.rest import add_product, signed_in

ENDPOINTS = {
    ("post", "/api/auth/register"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/refresh"),
    ("post", "/api/auth/logout"),
    ("get", "/api/users/me"),
    ("get", "/api/users"),
    ("get", "/api/users/{id}"),
    ("get", "/api/products"),
    ("get", "/api/products/{id}"),
    ("post", "/api/products"),
    ("put", "/api/products/{id}"),
    ("delete", "/api/products/{id}"),
    ("get", "/api/orders"),
    ("get", "/api/orders/{id}"),
    ("post", "/api/orders"),
    ("patch", "/api/orders/{id}/status"),
    ("post", "/api/orders/{id}/cancel"),
    ("get", "/api/notifications"),
    ("post", "/api/notifications/{id}/read"),
    ("get", "/api/analytics/summary"),
    ("get", "/api/feature-flags"),
    ("put", "/api/feature-flags/{key}"),
}
# Account self-service (alawael.rest.account).
ACCOUNT = {
    ("patch", "/api/users/me"),
    ("post", "/api/users"),
    ("post", "/api/auth/password"),
    ("post", "/api/auth/password-reset"),
    ("post", "/api/auth/password-reset/confirm"),
    ("post", "/api/auth/invitation/accept"),
}
# REST parity for integrators (issue 18).
PARITY = {
    ("post", "/api/products/{id}/stock"),
    ("post", "/api/products/{id}/restore"),
    ("get", "/api/products/by-sku/{sku}"),
    ("get", "/api/categories"),
    ("get", "/api/orders/by-number/{number}"),
    ("get", "/api/notifications/unread-count"),
    ("post", "/api/notifications/read-all"),
}
HEALTH = {("get", "/api/health"), ("get", "/health"), ("get", "/healthz"), ("get", "/readyz")}

PRODUCT_QUERY = """
query ($id: ID!) {
  product(id: $id) {
    id sku name description category price currency stock lowStockThreshold archived
    createdAt updatedAt
  }
}
"""
ORDER_QUERY = """
query ($id: ID!) {
  order(id: $id) {
    id number subtotal total currency status note createdAt updatedAt
    customer { id }
    items { sku name unitPrice quantity lineTotal product { id } }
    statusHistory { status at note by { id } }
  }
}
"""


async def test_document_lists_every_endpoint(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"] == "3.1.0"
    operations = {(m, p): op for p, methods in doc["paths"].items() for m, op in methods.items()}
    assert set(operations) == ENDPOINTS | ACCOUNT | PARITY | HEALTH
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"

    login = operations[("post", "/api/auth/login")]
    assert login["security"] == []
    assert login["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/LoginBody"
    }
    assert {"400", "415", "422", "401"} <= set(login["responses"])
    assert operations[("get", "/api/products")]["security"] == [{}, {"bearerAuth": []}]
    place = operations[("post", "/api/orders")]
    assert place["security"] == [{"bearerAuth": []}]
    assert {"201", "401", "403", "409", "422"} <= set(place["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in place["parameters"])
    error = place["responses"]["409"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ErrorBody"}
    listed = operations[("get", "/api/orders")]["responses"]["200"]["content"]
    assert listed["application/json"]["schema"]["required"] == ["data", "meta"]
    # Strict request models: unknown fields are not allowed by the document either.
    assert doc["components"]["schemas"]["PlaceOrderBody"]["additionalProperties"] is False


async def test_docs_page_is_self_contained(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "/api/orders/{id}/status" in html
    assert "Idempotency-Key" in html
    assert "<script" not in html
    assert "<link" not in html
    assert "https://" not in html


async def test_generic_statuses(client: httpx.AsyncClient) -> None:
    wrong_method = await client.delete("/api/orders")
    assert wrong_method.status_code == 405
    assert set(wrong_method.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert wrong_method.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    unknown = await client.get("/api/nothing-here")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (RuntimeError("secret internals"), 500, "INTERNAL_SERVER_ERROR"),
        (ServerSelectionTimeoutError("no primary"), 503, "SERVICE_UNAVAILABLE"),
    ],
)
async def test_unexpected_errors_are_masked(
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    status: int,
    code: str,
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(products, "list_products", broken)
    response = await client.get("/api/products")
    assert response.status_code == status
    body = response.json()["error"]
    assert body["code"] == code
    assert "secret" not in response.text
    assert "Traceback" not in response.text


async def test_rest_and_graphql_agree_on_a_product_and_an_order(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    staff, headers = await signed_in(resources, Role.STAFF)
    _, pid = await add_product(resources, price_cents=1999, stock=7, name="لوح")
    placed = await client.post(
        "/api/orders", json={"items": [{"productId": pid, "quantity": 2}]}, headers=headers
    )
    oid = placed.json()["data"]["id"]
    await client.patch(
        f"/api/orders/{oid}/status", json={"status": "CONFIRMED", "note": "ok"}, headers=headers
    )

    rest_product = (await client.get(f"/api/products/{pid}")).json()["data"]
    gql_product = (await execute(resources, PRODUCT_QUERY, {"id": pid})).data["product"]
    assert rest_product == gql_product

    rest_order = (await client.get(f"/api/orders/{oid}", headers=headers)).json()["data"]
    result = await execute(resources, ORDER_QUERY, {"id": oid}, user=staff)
    assert result.errors is None
    gql = result.data["order"]
    assert rest_order == {
        "id": gql["id"],
        "number": gql["number"],
        "customerId": gql["customer"]["id"],
        "items": [
            {
                "productId": item["product"]["id"],
                "sku": item["sku"],
                "name": item["name"],
                "unitPrice": item["unitPrice"],
                "quantity": item["quantity"],
                "lineTotal": item["lineTotal"],
            }
            for item in gql["items"]
        ],
        "subtotal": gql["subtotal"],
        "total": gql["total"],
        "currency": gql["currency"],
        "status": gql["status"],
        "statusHistory": [
            {"status": h["status"], "at": h["at"], "note": h["note"], "byUserId": h["by"]["id"]}
            for h in gql["statusHistory"]
        ],
        "note": gql["note"],
        "createdAt": gql["createdAt"],
        "updatedAt": gql["updatedAt"],
    }


async def test_every_path_parameter_is_declared(client: httpx.AsyncClient) -> None:
    """Each `{name}` of a path is a declared path parameter (GET /api/users/{id} once was
    not, and schemathesis refused the document); new endpoints are documented in full."""
    doc = (await client.get("/api/openapi.json")).json()
    for path, methods in doc["paths"].items():
        wanted = set(re.findall(r"{(\w+)}", path))
        for method, op in methods.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == wanted, (method, path)
            if wanted:
                assert "404" in op["responses"], (method, path)
    stock = doc["paths"]["/api/products/{id}/stock"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in stock["parameters"])
    assert {"200", "401", "403", "404", "409", "422"} <= set(stock["responses"])
    status = next(
        p for p in doc["paths"]["/api/orders"]["get"]["parameters"] if p["name"] == "status"
    )
    assert "PENDING,CONFIRMED" in status["schema"]["examples"]
    health = doc["paths"]["/api/health"]["get"]["responses"]
    assert {"200", "503"} <= set(health)

"""Every REST route: the 22 legacy `/api/...` endpoints, the OpenAPI document and its
HTML page. The endpoints are declared by importing the domain modules (alawael.rest.endpoints)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from alawael.rest.docs import docs_page
from alawael.rest.endpoints import DOMAINS, ENDPOINTS
from alawael.rest.openapi import openapi_json
from alawael.rest.routing import build_routes

__all__ = ["DOMAINS", "routes"]

routes: list[BaseRoute] = [
    Route("/api/openapi.json", openapi_json, methods=["GET"]),
    Route("/api/docs", docs_page, methods=["GET"]),
    *build_routes(ENDPOINTS),
]

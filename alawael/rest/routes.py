"""Every REST route: the 22 legacy `/api/...` endpoints, the OpenAPI document and its
HTML page. Importing the domain modules declares their endpoints (alawael.rest.routing)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from alawael.rest import analytics, auth, flags, notifications, orders, products, users
from alawael.rest.docs import docs_page
from alawael.rest.openapi import openapi_json
from alawael.rest.routing import ENDPOINTS, build_routes

DOMAINS = (auth, users, products, orders, notifications, analytics, flags)

routes: list[BaseRoute] = [
    Route("/api/openapi.json", openapi_json, methods=["GET"]),
    Route("/api/docs", docs_page, methods=["GET"]),
    *build_routes(ENDPOINTS),
]

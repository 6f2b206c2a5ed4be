"""Importing the domain modules declares their endpoints (alawael.rest.routing.ENDPOINTS).

Both the routes and the OpenAPI document import this module, so neither imports the other."""

from __future__ import annotations

from alawael.rest import account, analytics, auth, flags, notifications, orders, products, users
from alawael.rest.routing import ENDPOINTS

DOMAINS = (auth, users, products, orders, notifications, analytics, flags, account)

__all__ = ["DOMAINS", "ENDPOINTS"]

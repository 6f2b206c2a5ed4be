"""Access tokens (JWT). Filled in by the authentication work."""

from __future__ import annotations

from alawael.auth.permissions import Actor
from alawael.context import Resources
from alawael.errors import Unauthenticated


async def verify_access_token(resources: Resources, token: str) -> Actor:
    raise Unauthenticated("Invalid access token.")

"""Who is calling: the Actor behind an `Authorization: Bearer` header or a WebSocket
`connection_init` payload."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alawael.auth.permissions import Actor
from alawael.context import Resources


def bearer_token(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization") or headers.get("Authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def actor_from_token(resources: Resources, token: str | None) -> Actor | None:
    """Verify the access token and its session; None when no token was sent.
    Raises Unauthenticated for a bad or revoked token."""
    if token is None:
        return None
    from alawael.auth.tokens import verify_access_token  # the auth module owns the rules

    return await verify_access_token(resources, token)


def token_from_connection_params(params: Mapping[str, Any] | None) -> str | None:
    if not params:
        return None
    for key in ("authorization", "Authorization", "authToken", "token"):
        value = params.get(key)
        if isinstance(value, str) and value:
            return value.split(" ", 1)[1] if value.lower().startswith("bearer ") else value
    return None

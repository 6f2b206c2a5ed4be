"""Who is calling: the Actor behind an `Authorization: Bearer` header or a WebSocket
`connection_init` payload."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from alawael.auth.permissions import Actor
from alawael.infra.http import client_ip
from alawael.shared.errors import AppError, Unauthenticated

if TYPE_CHECKING:
    from alawael.infra.resources import Resources

__all__ = [
    "actor_from_token",
    "authenticate_request",
    "bearer_token",
    "client_ip",
    "require_actor",
    "token_from_connection_params",
]


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


async def authenticate_request(
    resources: Resources, token: str | None
) -> tuple[Actor | None, AppError | None]:
    """(actor, None) for a good token, (None, None) for no token, (None, error) for a bad
    one. The error is kept, not raised: it must reach the client as a GraphQL error with
    extensions.code UNAUTHENTICATED, not escape the view as an HTTP 500."""
    try:
        return await actor_from_token(resources, token), None
    except AppError as exc:
        return None, exc


class Identified(Protocol):
    """What require_actor reads from a door's context (alawael.context.Context)."""

    @property
    def user(self) -> Actor | None: ...
    @property
    def auth_error(self) -> AppError | None: ...


def require_actor(context: Identified) -> Actor:
    """The caller, or the reason there is none (the token's error, else 'Authentication
    required.')."""
    if context.user is not None:
        return context.user
    raise context.auth_error or Unauthenticated()


def token_from_connection_params(params: Mapping[str, Any] | None) -> str | None:
    if not params:
        return None
    for key in ("authorization", "Authorization", "authToken", "token"):
        value = params.get(key)
        if isinstance(value, str) and value:
            return value.split(" ", 1)[1] if value.lower().startswith("bearer ") else value
    return None

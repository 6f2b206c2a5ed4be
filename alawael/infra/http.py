"""HTTP helpers shared by auth, rate limits and analytics: who is the client?

The peer address comes from the ASGI scope. `X-Forwarded-For` is believed only when that
peer is one of `TRUSTED_PROXIES` (IPs or CIDR networks); otherwise any client could claim
any address and slip past per-IP limits.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from starlette.requests import HTTPConnection

from alawael.config import Settings

UNKNOWN = "unknown"
# Where GraphQL is served (HTTP and WebSocket): /graphql, and /api/graphql for CDNs and load
# balancers that forward only /api/* (the old deployment's). Both follow the same rules.
GRAPHQL_PATHS = ("/graphql", "/api/graphql")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _is_trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(request_or_scope: HTTPConnection | Mapping[str, Any], settings: Settings) -> str:
    """The client's IP for a Request, WebSocket or raw ASGI scope."""
    scope = (
        request_or_scope.scope
        if isinstance(request_or_scope, HTTPConnection)
        else (request_or_scope)
    )
    client = scope.get("client")
    peer = str(client[0]) if client else UNKNOWN
    if not settings.trusted_proxies:
        return peer
    networks = _networks(tuple(settings.trusted_proxies))
    if not _is_trusted(peer, networks):
        return peer
    forwarded: list[str] = []
    for name, value in scope.get("headers") or ():
        if name.lower() == b"x-forwarded-for":
            forwarded.extend(p.strip() for p in value.decode("latin-1").split(","))
    # Walk from the nearest hop back: the first address not ours is the client. Hops further
    # left were written by the client itself and prove nothing.
    for hop in reversed([p for p in forwarded if p]):
        if not _is_trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    # Every hop is one of ours: the left-most one is the client (an internal caller).
    leftmost = next((p for p in forwarded if p), None)
    return leftmost if leftmost and _is_valid_ip(leftmost) else peer


def _is_valid_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True

"""Who is behind a long-lived connection, checked as freshly as an HTTP request.

An HTTP request proves its identity once, with a token valid *now*. A WebSocket proves it at
`connection_init` and then lives for hours, so every operation sent on it asks `current()`,
which applies the HTTP rules again: the token's signature and expiry (JWT leeway included),
then the session and user behind it (`check_session`, cached for at most
SESSION_CHECK_TTL_SECONDS). Revocation, deactivation, logoutAll and expiry therefore end the
connection's authority within that interval, exactly as on HTTP.

A connection keeps one identity: user *and* role. A role change, or re-authenticating as
someone else, ends it (the door closes the socket) rather than silently switching, because
subscriptions already running on the socket were authorized for the old identity.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from alawael.auth.permissions import Actor
from alawael.auth.tokens import decode_access_token, verify_access_token
from alawael.infra.resources import Resources
from alawael.shared.errors import Unauthenticated

ROLE_CHANGED = "Your role changed; reconnect to continue."
NOT_THE_SAME_USER = "Re-authentication must keep the connection's user and role."
ANONYMOUS_REAUTH = "An anonymous connection cannot sign in; reconnect with a token."


@dataclass
class SocketIdentity:
    resources: Resources
    token: str | None = None
    actor: Actor | None = None
    expires_at: float | None = None  # epoch seconds, JWT leeway included

    async def sign_in(self, token: str | None) -> Actor | None:
        """The identity of a new connection (None: anonymous). Raises Unauthenticated."""
        if token is None:
            return None
        actor = await verify_access_token(self.resources, token)
        self._adopt(token, actor)
        return actor

    async def reauthenticate(self, token: str) -> Actor:
        """Swap in a fresh access token for the same user and role. Raises Unauthenticated
        (the door then closes the connection)."""
        if self.actor is None:
            raise Unauthenticated(ANONYMOUS_REAUTH)
        actor = await verify_access_token(self.resources, token)
        if actor.user_id != self.actor.user_id or actor.role != self.actor.role:
            raise Unauthenticated(NOT_THE_SAME_USER)
        self._adopt(token, actor)
        return actor

    async def current(self) -> Actor | None:
        """The identity to run the next operation with, re-checked now. Raises
        Unauthenticated when it ended (expired token, revoked session, inactive user, role
        changed) and ServiceUnavailable when it cannot be checked."""
        if self.token is None or self.actor is None:
            return None
        actor = await verify_access_token(self.resources, self.token)
        if actor.role != self.actor.role:
            raise Unauthenticated(ROLE_CHANGED)
        return actor

    def seconds_left(self) -> float | None:
        if self.expires_at is None:
            return None
        return self.expires_at - time.time()

    def _adopt(self, token: str, actor: Actor) -> None:
        settings = self.resources.settings
        claims = decode_access_token(settings, token)
        self.token, self.actor = token, actor
        self.expires_at = float(claims["exp"]) + settings.jwt_leeway_seconds

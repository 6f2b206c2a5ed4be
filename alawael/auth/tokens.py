"""Access tokens: short-lived JWTs (PyJWT) tied to a refresh session.

Claims: sub (user id), role, sid (session id), jti, iat, exp, iss, aud. Verification pins
the one configured algorithm, so neither `alg: none` nor an HS256 token "signed" with an
RS256 public key can pass, and every claim is required. A valid signature is not enough:
the session must still be live and the user active (see `sessions.check_session`), which
is what makes logout and deactivation take effect within seconds.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from alawael.auth.permissions import Actor, Role
from alawael.auth.sessions import check_session
from alawael.auth.verified_tokens import VERIFIED
from alawael.config import Settings
from alawael.infra.observability import identify_user
from alawael.infra.resources import Resources
from alawael.shared.errors import Unauthenticated

REQUIRED_CLAIMS = ("sub", "role", "sid", "jti", "iat", "exp", "iss", "aud")
INVALID_TOKEN = "Invalid or expired token."


@dataclass(frozen=True)
class SigningKeys:
    algorithm: str
    signing: Any  # str secret (HS256) or a private key object
    verifying: Any  # str secret (HS256) or a public key object


@lru_cache(maxsize=8)
def _load_keys(
    algorithm: str, secret: str, private: Path | None, public: Path | None
) -> SigningKeys:
    if algorithm == "HS256":
        return SigningKeys(algorithm, secret, secret)
    # Settings refuse RS256/EdDSA without both key files.
    assert private is not None
    assert public is not None
    return SigningKeys(
        algorithm,
        serialization.load_pem_private_key(private.read_bytes(), password=None),
        serialization.load_pem_public_key(public.read_bytes()),
    )


def keys_for(settings: Settings) -> SigningKeys:
    return _load_keys(
        settings.jwt_algorithm,
        settings.jwt_secret.get_secret_value(),
        settings.jwt_private_key_file,
        settings.jwt_public_key_file,
    )


def issue_access_token(
    settings: Settings, *, user_id: str, role: Role, session_id: str, now: float | None = None
) -> str:
    issued = int(now if now is not None else time.time())
    keys = keys_for(settings)
    claims = {
        "sub": user_id,
        "role": role.value,
        "sid": session_id,
        "jti": secrets.token_urlsafe(12),
        "iat": issued,
        "exp": issued + settings.access_token_ttl_seconds,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    return jwt.encode(claims, keys.signing, algorithm=keys.algorithm)


def decode_access_token(settings: Settings, token: str) -> dict[str, Any]:
    """The verified claims; raises Unauthenticated for anything short of a valid token."""
    keys = keys_for(settings)
    # Verified before by this worker under the same keys and rules, and not expired yet.
    rules = (
        id(keys),
        keys.algorithm,
        settings.jwt_audience,
        settings.jwt_issuer,
        settings.jwt_leeway_seconds,
    )
    known = VERIFIED.get(token, rules)
    if known is not None:
        return known
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            keys.verifying,
            algorithms=[keys.algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_seconds,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("Access token expired; refresh it.") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(INVALID_TOKEN) from exc
    if not isinstance(claims.get("sid"), str) or claims.get("role") not in Role.__members__:
        raise Unauthenticated(INVALID_TOKEN)
    VERIFIED.put(token, rules, claims, settings.jwt_leeway_seconds, keys)
    return claims


async def verify_access_token(resources: Resources, token: str) -> Actor:
    """Signature, claims, then the session and user behind them (cached for at most
    `session_check_ttl_seconds`). The role comes from the user document, so a role change
    also takes effect within seconds.

    Every door's token check ends here (REST, GraphQL over HTTP, each WebSocket operation),
    so this is where Sentry learns whose request it is: the user id, nothing else."""
    claims = decode_access_token(resources.settings, token)
    actor = await check_session(resources, user_id=claims["sub"], session_id=claims["sid"])
    identify_user(actor.user_id)
    return actor

"""Access tokens: only well-formed, correctly signed, current tokens for live sessions pass."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from pydantic import ValidationError

from alawael.auth.permissions import Role
from alawael.auth.tokens import decode_access_token, issue_access_token
from alawael.config import Settings
from alawael.context import Resources
from alawael.server import create_app
from alawael.services import users
from alawael.shared.errors import Unauthenticated
from tests.conftest import make_settings

ME = "{ me { email role } }"
USERS = "{ users(first: 1) { totalCount } }"
SERVER_INFO = "{ serverInfo { name } }"
PASSWORD = "correct horse battery"


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Resources]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        res: Resources = app.state.resources
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c, res
        await res.client.drop_database(settings.mongodb_db)


async def ask(client: httpx.AsyncClient, query: str, token: str | None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = await client.post("/graphql", json={"query": query}, headers=headers)
    # A bad token is a GraphQL error, never an HTTP failure.
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def forge(header: dict[str, Any], claims: dict[str, Any], sign: Any = None) -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    signature = sign(head.encode()) if sign else b""
    return head + "." + b64(signature)


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return decoded


async def signed_in(res: Resources, role: Role = Role.MANAGER) -> users.AuthResult:
    await users.create_user(
        res, None, email="t@example.com", password=PASSWORD, name="T", role=role
    )
    return await users.authenticate(res, email="t@example.com", password=PASSWORD)


@pytest.fixture
def rsa_keys(tmp_path: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _write_keys(tmp_path, key)


@pytest.fixture
def ed_keys(tmp_path: Path) -> tuple[Path, Path]:
    return _write_keys(tmp_path, ed25519.Ed25519PrivateKey.generate())


def _write_keys(tmp_path: Path, key: Any) -> tuple[Path, Path]:
    private, public = tmp_path / "jwt.pem", tmp_path / "jwt.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


async def test_valid_token_and_claims(settings: Settings) -> None:
    async with running(settings) as (client, res):
        auth = await signed_in(res)
        claims = claims_of(auth.access_token)
        assert set(claims) == {"sub", "role", "sid", "jti", "iat", "exp", "iss", "aud"}
        assert claims["exp"] - claims["iat"] == settings.access_token_ttl_seconds
        assert (claims["iss"], claims["aud"], claims["role"]) == (
            "alawael",
            "alawael-api",
            "MANAGER",
        )
        body = await ask(client, ME, auth.access_token)
        assert body["data"]["me"] == {"email": "t@example.com", "role": "MANAGER"}


async def test_bad_tokens_are_unauthenticated_errors(settings: Settings) -> None:
    async with running(settings) as (client, res):
        auth = await signed_in(res)
        good = auth.access_token
        claims = claims_of(good)
        head, payload, sig = good.split(".")
        secret = settings.jwt_secret.get_secret_value()
        now = int(time.time())
        stale = issue_access_token(
            settings,
            user_id=claims["sub"],
            role=Role.MANAGER,
            session_id=claims["sid"],
            now=now - settings.access_token_ttl_seconds - settings.jwt_leeway_seconds - 5,
        )
        promoted = b64(json.dumps({**claims, "role": "ADMIN"}).encode())
        bad = {
            "tampered": f"{head}.{promoted}.{sig}",
            "bad signature": f"{head}.{payload}.{b64(b'x' * 32)}",
            "other secret": jwt.encode(claims, "another-secret-of-32-characters!!", "HS256"),
            "alg none": forge({"alg": "none", "typ": "JWT"}, claims),
            "wrong audience": jwt.encode({**claims, "aud": "someone-else"}, secret, "HS256"),
            "wrong issuer": jwt.encode({**claims, "iss": "evil"}, secret, "HS256"),
            "missing sid": jwt.encode(
                {k: v for k, v in claims.items() if k != "sid"}, secret, "HS256"
            ),
            "missing jti": jwt.encode(
                {k: v for k, v in claims.items() if k != "jti"}, secret, "HS256"
            ),
            "unknown role": jwt.encode({**claims, "role": "ROOT"}, secret, "HS256"),
            "expired": stale,
            "garbage": "not.a.jwt",
        }
        for name, token in bad.items():
            with pytest.raises(Unauthenticated):
                decode_access_token(settings, token)
            for query in (ME, USERS):
                body = await ask(client, query, token)
                error = body["errors"][0]
                assert error["extensions"]["code"] == "UNAUTHENTICATED", name
                assert "token" in error["message"].lower(), (name, error)
            # Public fields still answer: the bad token only costs the caller their identity.
            assert (await ask(client, SERVER_INFO, token))["data"]["serverInfo"]["name"]
        expired = await ask(client, ME, stale)
        assert expired["errors"][0]["message"] == "Access token expired; refresh it."


async def test_leeway_accepts_slightly_expired_tokens(settings: Settings) -> None:
    async with running(settings) as (_client, res):
        auth = await signed_in(res)
        claims = claims_of(auth.access_token)
        token = issue_access_token(
            settings,
            user_id=claims["sub"],
            role=Role.MANAGER,
            session_id=claims["sid"],
            now=time.time() - settings.access_token_ttl_seconds - settings.jwt_leeway_seconds // 2,
        )
        assert decode_access_token(settings, token)["sub"] == claims["sub"]


async def test_anonymous_is_not_an_error(client: httpx.AsyncClient) -> None:
    body = await ask(client, ME, None)
    assert body["data"] == {"me": None}
    assert "errors" not in body
    body = await ask(client, USERS, None)
    assert body["errors"][0]["message"] == "Authentication required."


async def test_rs256_refuses_hs256_signed_with_the_public_key(
    mongo_uri: str, rsa_keys: tuple[Path, Path]
) -> None:
    private, public = rsa_keys
    settings = make_settings(
        mongo_uri, jwt_algorithm="RS256", jwt_private_key_file=private, jwt_public_key_file=public
    )
    async with running(settings) as (client, res):
        auth = await signed_in(res)
        assert jwt.get_unverified_header(auth.access_token)["alg"] == "RS256"
        assert (await ask(client, ME, auth.access_token))["data"]["me"]["role"] == "MANAGER"

        claims = claims_of(auth.access_token)
        # The classic key-confusion attack: HMAC with the (public) PEM as the secret.
        pem = public.read_bytes()
        confused = forge(
            {"alg": "HS256", "typ": "JWT"},
            claims,
            lambda msg: hmac.new(pem, msg, hashlib.sha256).digest(),
        )
        for token in (confused, forge({"alg": "none", "typ": "JWT"}, claims)):
            with pytest.raises(Unauthenticated):
                decode_access_token(settings, token)
            body = await ask(client, ME, token)
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_eddsa_tokens(mongo_uri: str, ed_keys: tuple[Path, Path]) -> None:
    private, public = ed_keys
    settings = make_settings(
        mongo_uri, jwt_algorithm="EdDSA", jwt_private_key_file=private, jwt_public_key_file=public
    )
    async with running(settings) as (client, res):
        auth = await signed_in(res, Role.STAFF)
        assert jwt.get_unverified_header(auth.access_token)["alg"] == "EdDSA"
        assert (await ask(client, ME, auth.access_token))["data"]["me"]["role"] == "STAFF"
        hs = jwt.encode(claims_of(auth.access_token), "x" * 32, "HS256")
        with pytest.raises(Unauthenticated):
            decode_access_token(settings, hs)


def test_asymmetric_algorithms_need_key_files(mongo_uri: str) -> None:
    with pytest.raises(ValidationError, match="JWT_PRIVATE_KEY_FILE"):
        make_settings(mongo_uri, jwt_algorithm="RS256")


async def test_role_comes_from_the_user_not_the_token(mongo_uri: str) -> None:
    """A demoted user's unexpired token carries the old role; the session check uses the
    current one."""
    settings = make_settings(mongo_uri, session_check_ttl_seconds=0)
    async with running(settings) as (client, res):
        auth = await signed_in(res, Role.MANAGER)
        assert "errors" not in await ask(client, USERS, auth.access_token)
        await res.db.users.update_one({"_id": auth.user.id}, {"$set": {"role": "CUSTOMER"}})
        body = await ask(client, USERS, auth.access_token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

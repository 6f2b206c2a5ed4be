"""REST endpoints 1-4: register, login, refresh, logout; and the request pipeline's
generic failures (400, 413, 415, 422, 401)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from alawael.context import Resources

REGISTER = "/api/auth/register"
LOGIN = "/api/auth/login"
REFRESH = "/api/auth/refresh"
LOGOUT = "/api/auth/logout"
ME = "/api/users/me"
PASSWORD = "a-long-enough-password"
NEW_USER = {"email": "Sara@Example.com", "password": PASSWORD, "name": "Sara"}


def _auth(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['accessToken']}"}


async def test_register_signs_in_a_customer(client: httpx.AsyncClient) -> None:
    response = await client.post(REGISTER, json=NEW_USER)
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["user"]["email"] == "sara@example.com"
    assert data["user"]["role"] == "CUSTOMER"
    assert data["tokenType"] == "Bearer"
    assert data["expiresIn"] > 0
    me = await client.get(ME, headers=_auth(data))
    assert me.json()["data"]["id"] == data["user"]["id"]


async def test_register_duplicate_is_409_and_weak_password_422(client: httpx.AsyncClient) -> None:
    assert (await client.post(REGISTER, json=NEW_USER)).status_code == 201
    again = await client.post(REGISTER, json=NEW_USER)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "CONFLICT"
    weak = await client.post(REGISTER, json={**NEW_USER, "email": "x@example.com", "password": "1"})
    assert weak.status_code == 422
    assert weak.json()["error"]["details"]["field"] == "password"


async def test_login_refresh_logout(client: httpx.AsyncClient) -> None:
    await client.post(REGISTER, json=NEW_USER)
    login = await client.post(LOGIN, json={"email": "sara@example.com", "password": PASSWORD})
    assert login.status_code == 200
    tokens = login.json()["data"]

    refreshed = await client.post(REFRESH, json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 200
    new = refreshed.json()["data"]
    assert new["refreshToken"] != tokens["refreshToken"]
    # The old refresh token was used up: reuse is refused.
    reused = await client.post(REFRESH, json={"refreshToken": tokens["refreshToken"]})
    assert reused.status_code == 401

    fresh = await client.post(LOGIN, json={"email": "sara@example.com", "password": PASSWORD})
    session = fresh.json()["data"]
    out = await client.post(LOGOUT, headers=_auth(session))
    assert out.status_code == 200
    assert out.json() == {"data": {"revoked": True}}
    assert (
        await client.post(REFRESH, json={"refreshToken": session["refreshToken"]})
    ).status_code == 401


async def test_login_failures(client: httpx.AsyncClient) -> None:
    await client.post(REGISTER, json=NEW_USER)
    wrong = await client.post(
        LOGIN, json={"email": "sara@example.com", "password": "nope-nope-nope"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == {
        "code": "UNAUTHENTICATED",
        "message": "Invalid email or password.",
    }
    assert wrong.headers["www-authenticate"].startswith("Bearer")
    missing = await client.post(LOGIN, json={"email": "sara@example.com"})
    assert missing.status_code == 422
    assert missing.json()["error"]["details"]["fields"][0]["field"] == "password"


async def test_logout_needs_a_valid_token(client: httpx.AsyncClient) -> None:
    assert (await client.post(LOGOUT)).status_code == 401
    bad = await client.post(LOGOUT, headers={"Authorization": "Bearer not-a-jwt"})
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "UNAUTHENTICATED"


async def test_body_problems_have_their_own_statuses(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    malformed = await client.post(
        LOGIN, content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "BAD_REQUEST"

    form = await client.post(LOGIN, data={"email": "a@b.co", "password": "x"})
    assert form.status_code == 415
    assert form.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"

    empty = await client.post(LOGIN)
    assert empty.status_code == 422

    not_object = await client.post(LOGIN, json=["a"])
    assert not_object.status_code == 422

    extra = await client.post(LOGIN, json={"email": "a@b.co", "password": "x", "admin": True})
    assert extra.status_code == 422
    fields = extra.json()["error"]["details"]["fields"]
    assert fields == [
        {"field": "admin", "message": "Extra inputs are not permitted", "type": "extra_forbidden"}
    ]

    # A string where a string belongs, but an object smuggling an operator: refused.
    operator = await client.post(LOGIN, json={"email": {"$ne": None}, "password": "x"})
    assert operator.status_code == 422

    limit = resources.settings.max_body_bytes
    huge = await client.post(
        REGISTER,
        content=b'{"name": "' + b"x" * (limit + 10) + b'"}',
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert huge.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_streamed_body_over_the_limit_is_413(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    """No Content-Length to check up front: the limit is enforced while the body streams,
    and the handler's body read turns that into the same 413 error shape."""
    chunk = b"x" * 65_536
    chunks = resources.settings.max_body_bytes // len(chunk) + 2

    async def body() -> AsyncIterator[bytes]:
        yield b'{"email": "'
        for _ in range(chunks):
            yield chunk

    response = await client.post(
        LOGIN, content=body(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

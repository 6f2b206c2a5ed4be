"""Endpoints 1-4: sign-up, login, token refresh, logout (alawael.services.users)."""

from __future__ import annotations

from alawael.rest.models import LoginBody, LogoutOut, RefreshBody, RegisterBody, TokensOut, UserOut
from alawael.rest.routing import Call, endpoint
from alawael.services import users
from alawael.services.users import AuthResult

TAG = "Auth"


def _tokens(result: AuthResult) -> TokensOut:
    return TokensOut(
        user=UserOut.from_record(result.user),
        access_token=result.access_token,
        refresh_token=result.refresh_token,
        expires_in=result.expires_in,
    )


@endpoint(
    "POST",
    "/api/auth/register",
    summary="Create a customer account and sign it in",
    tag=TAG,
    access="anonymous",
    body=RegisterBody,
    response=TokensOut,
    status=201,
    errors=(409,),
)
async def register(call: Call) -> TokensOut:
    """Always a CUSTOMER account. An email already in use is a 409."""
    body = call.body_as(RegisterBody)
    return _tokens(
        await users.register(
            call.res,
            email=body.email,
            password=body.password,
            name=body.name,
            phone=body.phone,
            **call.client,
        )
    )


@endpoint(
    "POST",
    "/api/auth/login",
    summary="Sign in with email and password",
    tag=TAG,
    access="anonymous",
    body=LoginBody,
    response=TokensOut,
    errors=(401,),
)
async def login(call: Call) -> TokensOut:
    """Wrong credentials are a 401; repeated failures per account or IP are a 429 with
    `Retry-After`."""
    body = call.body_as(LoginBody)
    return _tokens(
        await users.authenticate(call.res, email=body.email, password=body.password, **call.client)
    )


@endpoint(
    "POST",
    "/api/auth/refresh",
    summary="Exchange a refresh token for a new token pair",
    tag=TAG,
    access="anonymous",
    body=RefreshBody,
    response=TokensOut,
    errors=(401,),
)
async def refresh_tokens(call: Call) -> TokensOut:
    """A refresh token works once; reusing one revokes its whole session (401)."""
    body = call.body_as(RefreshBody)
    return _tokens(await users.refresh(call.res, refresh_token=body.refresh_token, **call.client))


@endpoint(
    "POST",
    "/api/auth/logout",
    summary="Revoke the current session",
    tag=TAG,
    access="user",
    response=LogoutOut,
)
async def logout(call: Call) -> LogoutOut:
    """Revokes the refresh token at once and the access tokens within seconds."""
    return LogoutOut(revoked=await users.logout(call.res, call.actor, request_id=call.request_id))

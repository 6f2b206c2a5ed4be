"""updateMe, changePassword and staff invitations (createUser / acceptInvitation), through
GraphQL and REST, with the invitation read from a real SMTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from alawael.auth import passwords
from alawael.auth.permissions import Role
from tests.support.accounts import ME, NEW_PASSWORD, PASSWORD, REFRESH, Env, accounts_env, code
from tests.support.smtp import SmtpSink, text_of, token_in, wait_for_mails

EMAIL = "omar@example.com"
ADMIN = "admin@example.com"
UPDATE_ME = """
mutation ($name: String, $phone: String, $locale: Locale) {
  updateMe(name: $name, phone: $phone, locale: $locale) {
    user { name phone locale } errors { code field }
  }
}"""
UPDATE_NAME_ONLY = 'mutation { updateMe(name: "Omar B") { user { name phone locale } } }'
CHANGE = """
mutation ($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) {
    revokedSessions errors { code field message }
  }
}"""
CREATE = """
mutation ($email: String!, $role: Role!, $locale: Locale!) {
  createUser(email: $email, name: "New Staff", role: $role, locale: $locale) {
    user { email role locale } errors { code field }
  }
}"""
ACCEPT = """
mutation ($token: String!, $pw: String!) {
  acceptInvitation(token: $token, password: $pw) { success errors { code field } }
}"""
RESET = """
mutation ($token: String!, $pw: String!) {
  resetPassword(token: $token, newPassword: $pw) { success errors { code field } }
}"""


@pytest.fixture
async def env(mongo_uri: str, smtp: SmtpSink) -> AsyncIterator[Env]:
    async with accounts_env(mongo_uri, smtp.port) as e:
        await e.add_user(EMAIL)
        await e.add_user(ADMIN, role=Role.ADMIN)
        yield e


async def test_update_me_through_graphql(env: Env) -> None:
    access, _ = await env.login(EMAIL)
    body = await env.gql(
        UPDATE_ME, {"name": "  Omar   Bakr ", "phone": "+966 50 123 4567", "locale": "AR"}, access
    )
    assert body["data"]["updateMe"] == {
        "user": {"name": "Omar Bakr", "phone": "+966 50 123 4567", "locale": "AR"},
        "errors": [],
    }
    # Omitted arguments stay; an explicit null phone clears it.
    only_name = await env.gql(UPDATE_NAME_ONLY, token=access)
    assert only_name["data"]["updateMe"]["user"] == {
        "name": "Omar B",
        "phone": "+966 50 123 4567",
        "locale": "AR",
    }
    cleared = await env.gql(UPDATE_ME, {"phone": None}, access)
    assert cleared["data"]["updateMe"]["user"]["phone"] is None
    me = await env.gql(ME, token=access)
    assert me["data"]["me"]["locale"] == "AR"
    bad = await env.gql(UPDATE_ME, {"phone": "call me"}, access)
    assert bad["data"]["updateMe"]["errors"] == [{"code": "BAD_USER_INPUT", "field": "phone"}]
    anonymous = await env.gql(UPDATE_ME, {"name": "X"})
    assert code(anonymous) == "UNAUTHENTICATED"


async def test_update_me_through_rest(env: Env) -> None:
    access, _ = await env.login(EMAIL)
    auth = {"Authorization": f"Bearer {access}"}
    response = await env.client.patch(
        "/api/users/me", json={"locale": "ar", "phone": "0501234567"}, headers=auth
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["locale"], data["phone"], data["name"]) == ("ar", "0501234567", "Sara Ali")
    cleared = await env.client.patch("/api/users/me", json={"phone": None}, headers=auth)
    assert cleared.json()["data"]["phone"] is None
    got = await env.client.get("/api/users/me", headers=auth)
    assert got.json()["data"]["locale"] == "ar"
    bad = await env.client.patch("/api/users/me", json={"locale": "fr"}, headers=auth)
    assert bad.status_code == 422
    role = await env.client.patch("/api/users/me", json={"role": "ADMIN"}, headers=auth)
    assert role.status_code == 422  # unknown field: a user cannot promote themselves
    anonymous = await env.client.patch("/api/users/me", json={"name": "X"})
    assert anonymous.status_code == 401


async def test_change_password_with_a_wrong_current_password_fails_clearly(env: Env) -> None:
    access, _ = await env.login(EMAIL)
    body = await env.gql(CHANGE, {"current": "not my password", "new": NEW_PASSWORD}, access)
    error = body["data"]["changePassword"]["errors"][0]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "currentPassword")
    rest = await env.client.post(
        "/api/auth/password",
        json={"currentPassword": "not my password", "newPassword": NEW_PASSWORD},
        headers={"Authorization": f"Bearer {access}"},
    )
    assert rest.status_code == 422
    assert rest.json()["error"]["details"]["field"] == "currentPassword"
    # Wrong guesses pay the login throttle: after two, even the right password waits.
    throttled = await env.gql(CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD}, access)
    assert code(throttled) == "RATE_LIMITED"
    # The password is unchanged, and this session still works.
    user = await env.res.db.users.find_one({"email": EMAIL})
    assert user is not None
    assert await passwords.verify_password(env.res.settings, user["passwordHash"], PASSWORD)
    assert (await env.gql(ME, token=access))["data"]["me"]["email"] == EMAIL


async def test_change_password_revokes_every_other_session(env: Env) -> None:
    access_a, refresh_a = await env.login(EMAIL)
    access_b, refresh_b = await env.login(EMAIL)
    body = await env.gql(CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD}, access_a)
    assert body["data"]["changePassword"] == {"revokedSessions": 1, "errors": []}
    # The other device is signed out: its refresh fails, its access token is refused.
    assert code(await env.gql(REFRESH, {"t": refresh_b})) == "UNAUTHENTICATED"
    assert code(await env.gql(ME, token=access_b)) == "UNAUTHENTICATED"
    # This one stays.
    assert (await env.gql(ME, token=access_a))["data"]["me"]["email"] == EMAIL
    assert (await env.gql(REFRESH, {"t": refresh_a}))["data"]["refreshToken"]["accessToken"]
    access_c, _ = await env.login(EMAIL, NEW_PASSWORD)

    # REST: the same rule.
    rest = await env.client.post(
        "/api/auth/password",
        json={"currentPassword": NEW_PASSWORD, "newPassword": PASSWORD + "!"},
        headers={"Authorization": f"Bearer {access_c}"},
    )
    assert rest.status_code == 200, rest.text
    assert rest.json() == {"data": {"revokedSessions": 1}}  # session a
    assert code(await env.gql(ME, token=access_a)) == "UNAUTHENTICATED"
    await env.login(EMAIL, PASSWORD + "!")


async def test_staff_invitation_through_graphql(env: Env, smtp: SmtpSink) -> None:
    admin, _ = await env.login(ADMIN)
    body = await env.gql(
        CREATE, {"email": "staff@example.com", "role": "STAFF", "locale": "AR"}, admin
    )
    assert body["data"]["createUser"] == {
        "user": {"email": "staff@example.com", "role": "STAFF", "locale": "AR"},
        "errors": [],
    }
    (mail,) = await wait_for_mails(smtp, 1)
    assert mail["To"] == "staff@example.com"
    assert "https://erp.example.com/accept-invitation?token=" in text_of(mail)
    assert "7 أيام" in text_of(mail)  # the Arabic invitation
    token = token_in(mail)
    stored = await env.res.db.account_tokens.find_one({"purpose": "invitation"})
    assert stored is not None
    assert (stored["expireAt"] - stored["createdAt"]).days == 7

    # No password yet: nobody can sign in to the account.
    login = await env.gql(
        'mutation { login(input: {email: "staff@example.com", password: ""}) { accessToken } }'
    )
    assert code(login) == "UNAUTHENTICATED"

    # An invitation token is not a reset token.
    wrong = await env.gql(RESET, {"token": token, "pw": NEW_PASSWORD})
    assert wrong["data"]["resetPassword"]["errors"][0]["field"] == "token"

    done = await env.gql(ACCEPT, {"token": token, "pw": NEW_PASSWORD})
    assert done["data"]["acceptInvitation"] == {"success": True, "errors": []}
    await env.login("staff@example.com", NEW_PASSWORD)
    again = await env.gql(ACCEPT, {"token": token, "pw": NEW_PASSWORD})
    assert again["data"]["acceptInvitation"]["errors"][0]["code"] == "BAD_USER_INPUT"

    taken = await env.gql(
        CREATE, {"email": "staff@example.com", "role": "STAFF", "locale": "EN"}, admin
    )
    assert taken["data"]["createUser"]["errors"] == [{"code": "CONFLICT", "field": "email"}]
    customer, _ = await env.login(EMAIL)
    refused = await env.gql(
        CREATE, {"email": "x@example.com", "role": "ADMIN", "locale": "EN"}, customer
    )
    assert code(refused) == "FORBIDDEN"


async def test_staff_invitation_through_rest(env: Env, smtp: SmtpSink) -> None:
    admin, _ = await env.login(ADMIN)
    auth = {"Authorization": f"Bearer {admin}"}
    created = await env.client.post(
        "/api/users",
        json={"email": "manager@example.com", "name": "M", "role": "MANAGER"},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["locale"] == "en"
    (mail,) = await wait_for_mails(smtp, 1)
    assert "within 7 days" in text_of(mail)
    token = token_in(mail)
    weak = await env.client.post(
        "/api/auth/invitation/accept", json={"token": token, "password": "short"}
    )
    assert weak.status_code == 422
    ok = await env.client.post(
        "/api/auth/invitation/accept", json={"token": token, "password": NEW_PASSWORD}
    )
    assert ok.status_code == 200, ok.text
    signed_in = await env.client.post(
        "/api/auth/login", json={"email": "manager@example.com", "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 200
    assert signed_in.json()["data"]["user"]["role"] == "MANAGER"

    customer, _ = await env.login(EMAIL)
    refused = await env.client.post(
        "/api/users",
        json={"email": "y@example.com", "name": "Y", "role": "ADMIN"},
        headers={"Authorization": f"Bearer {customer}"},
    )
    assert refused.status_code == 403

"""Password reset by e-mail, through a real SMTP server: GraphQL and REST, single use,
expiry, hashed storage, no account enumeration, the Arabic template, per-address throttle."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from alawael.infra.clock import utcnow
from alawael.services.password_reset import ACCEPTED
from alawael.shared.locale import Locale
from tests.support.accounts import (
    ME,
    NEW_PASSWORD,
    PASSWORD,
    REFRESH,
    Env,
    accounts_env,
    code,
)
from tests.support.smtp import SmtpSink, html_of, text_of, token_in, wait_for_mails

EMAIL = "sara@example.com"
REQUEST = """
mutation ($email: String!) { requestPasswordReset(email: $email) { message errors { code } } }"""
RESET = """
mutation ($token: String!, $pw: String!) {
  resetPassword(token: $token, newPassword: $pw) { success errors { code field message } }
}"""


@pytest.fixture
async def env(mongo_uri: str, smtp: SmtpSink) -> AsyncIterator[Env]:
    async with accounts_env(mongo_uri, smtp.port) as e:
        await e.add_user(EMAIL)
        yield e


async def test_reset_through_graphql_with_the_mailed_link(env: Env, smtp: SmtpSink) -> None:
    access_a, refresh_a = await env.login(EMAIL)
    access_b, _ = await env.login(EMAIL)

    body = await env.gql(REQUEST, {"email": EMAIL.upper()})
    assert body["data"]["requestPasswordReset"] == {"message": ACCEPTED, "errors": []}
    await wait_for_mails(smtp, 1)
    mail = smtp.received()[0]
    assert mail["To"] == EMAIL
    assert mail.get_content_type() == "multipart/alternative"
    assert "https://erp.example.com/reset-password?token=" in text_of(mail)
    assert "https://erp.example.com/reset-password?token=" in html_of(mail)
    token = token_in(mail)

    # Stored hashed: the raw token is nowhere in the database.
    stored = await env.res.db.account_tokens.find_one({})
    assert stored is not None
    assert stored["tokenHash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(stored)
    assert stored["expireAt"] - stored["createdAt"] == timedelta(minutes=30)

    done = await env.gql(RESET, {"token": token, "pw": NEW_PASSWORD})
    assert done["data"]["resetPassword"] == {"success": True, "errors": []}

    # Every session is gone: refresh fails, the access tokens are refused.
    assert code(await env.gql(REFRESH, {"t": refresh_a})) == "UNAUTHENTICATED"
    for access in (access_a, access_b):
        assert code(await env.gql(ME, token=access)) == "UNAUTHENTICATED"
    # The new password signs in, the old one does not.
    await env.login(EMAIL, NEW_PASSWORD)
    failed = await env.gql(
        "mutation ($e: String!, $p: String!) { login(input: {email: $e, password: $p}) "
        "{ accessToken } }",
        {"e": EMAIL, "p": PASSWORD},
    )
    assert code(failed) == "UNAUTHENTICATED"

    # Single use.
    again = await env.gql(RESET, {"token": token, "pw": "yet another passphrase"})
    assert again["data"]["resetPassword"]["errors"][0]["code"] == "BAD_USER_INPUT"
    assert again["data"]["resetPassword"]["errors"][0]["field"] == "token"


async def test_reset_through_rest(env: Env, smtp: SmtpSink) -> None:
    _, refresh = await env.login(EMAIL)
    response = await env.client.post("/api/auth/password-reset", json={"email": EMAIL})
    assert response.status_code == 202
    assert response.json() == {"data": {"message": ACCEPTED}}
    await wait_for_mails(smtp, 1)
    token = token_in(smtp.received()[0])

    confirm = {"token": token, "newPassword": NEW_PASSWORD}
    ok = await env.client.post("/api/auth/password-reset/confirm", json=confirm)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"data": {"success": True}}
    login = await env.client.post(
        "/api/auth/login", json={"email": EMAIL, "password": NEW_PASSWORD}
    )
    assert login.status_code == 200
    stale = await env.client.post("/api/auth/refresh", json={"refreshToken": refresh})
    assert stale.status_code == 401

    reused = await env.client.post("/api/auth/password-reset/confirm", json=confirm)
    assert reused.status_code == 422
    assert reused.json()["error"]["details"]["field"] == "token"


async def test_unknown_address_gets_the_same_answer_and_no_mail(env: Env, smtp: SmtpSink) -> None:
    unknown = await env.gql(REQUEST, {"email": "nobody@example.com"})
    rest_unknown = await env.client.post(
        "/api/auth/password-reset", json={"email": "nobody@example.com"}
    )
    known = await env.gql(REQUEST, {"email": EMAIL})
    rest_known = await env.client.post("/api/auth/password-reset", json={"email": EMAIL})
    assert unknown == known
    assert (rest_unknown.status_code, rest_unknown.json()) == (
        rest_known.status_code,
        rest_known.json(),
    )
    # The mails are sent in order: once both of the known address's have arrived, a mail
    # for the unknown one (queued earlier) would have too.
    await wait_for_mails(smtp, 2)
    assert [m["To"] for m in smtp.received()] == [EMAIL, EMAIL]
    assert await env.res.db.account_tokens.count_documents({}) == 1  # the newest link only


async def test_only_the_newest_link_works(env: Env, smtp: SmtpSink) -> None:
    await env.gql(REQUEST, {"email": EMAIL})
    await env.gql(REQUEST, {"email": EMAIL})
    await wait_for_mails(smtp, 2)
    first, second = (token_in(m) for m in smtp.received())
    old = await env.gql(RESET, {"token": first, "pw": NEW_PASSWORD})
    assert old["data"]["resetPassword"]["errors"][0]["code"] == "BAD_USER_INPUT"
    new = await env.gql(RESET, {"token": second, "pw": NEW_PASSWORD})
    assert new["data"]["resetPassword"]["success"] is True


async def test_an_expired_link_is_refused(env: Env, smtp: SmtpSink) -> None:
    await env.gql(REQUEST, {"email": EMAIL})
    await wait_for_mails(smtp, 1)
    token = token_in(smtp.received()[0])
    # Backdated past its 30 minutes (the TTL index would delete it later; the query
    # itself refuses it at once).
    await env.res.db.account_tokens.update_many(
        {}, {"$set": {"expireAt": utcnow() - timedelta(seconds=1)}}
    )
    body = await env.gql(RESET, {"token": token, "pw": NEW_PASSWORD})
    error = body["data"]["resetPassword"]["errors"][0]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "token")
    await env.login(EMAIL, PASSWORD)  # unchanged


async def test_a_refused_password_does_not_spend_the_link(env: Env, smtp: SmtpSink) -> None:
    await env.gql(REQUEST, {"email": EMAIL})
    await wait_for_mails(smtp, 1)
    token = token_in(smtp.received()[0])
    weak = await env.gql(RESET, {"token": token, "pw": "short"})
    assert weak["data"]["resetPassword"]["errors"][0]["field"] == "password"
    good = await env.gql(RESET, {"token": token, "pw": NEW_PASSWORD})
    assert good["data"]["resetPassword"]["success"] is True


async def test_arabic_users_get_the_arabic_mail(env: Env, smtp: SmtpSink) -> None:
    await env.add_user("layla@example.com", locale=Locale.AR)
    await env.gql(REQUEST, {"email": "layla@example.com"})
    await wait_for_mails(smtp, 1)
    mail = smtp.received()[0]
    assert mail["Subject"] == "إعادة تعيين كلمة المرور في الأوائل"
    assert mail["Content-Language"] == "ar"
    assert "افتح هذا الرابط خلال 30 دقيقة" in text_of(mail)
    assert '<html lang="ar" dir="rtl">' in html_of(mail)
    assert token_in(mail)


async def test_mails_per_address_are_throttled_silently(mongo_uri: str, smtp: SmtpSink) -> None:
    async with accounts_env(
        mongo_uri, smtp.port, rate_limit_enabled=True, password_reset_per_email="2/hour"
    ) as env:
        await env.add_user(EMAIL)
        await env.add_user("other@example.com")
        answers = [await env.gql(REQUEST, {"email": EMAIL}) for _ in range(3)]
        assert all(a == answers[0] for a in answers)
        # A later mail to another address arriving means the three were all handled.
        await env.gql(REQUEST, {"email": "other@example.com"})
        await wait_for_mails(smtp, 3)
        assert [m["To"] for m in smtp.received()] == [EMAIL, EMAIL, "other@example.com"]


async def test_requests_pay_the_per_ip_auth_budget(mongo_uri: str, smtp: SmtpSink) -> None:
    async with accounts_env(
        mongo_uri, smtp.port, rate_limit_enabled=True, rate_limit_auth="2/minute"
    ) as env:
        await env.add_user(EMAIL)
        assert (await env.gql(REQUEST, {"email": EMAIL}))["data"]
        assert (await env.gql(REQUEST, {"email": "nobody@example.com"}))["data"]
        # Known or unknown, the third call from this IP is refused the same way.
        for address in (EMAIL, "nobody@example.com"):
            assert code(await env.gql(REQUEST, {"email": address})) == "RATE_LIMITED"
            rest = await env.client.post("/api/auth/password-reset", json={"email": address})
            assert rest.status_code == 429
            assert rest.headers["Retry-After"]

"""Outgoing mail: never blocks or fails a request, retries with backoff until an SMTP
server answers, counts failures in /metrics, and logs mail in development without SMTP."""

from __future__ import annotations

import logging
from email.message import EmailMessage

import pytest
from prometheus_client import REGISTRY
from pydantic import ValidationError

from alawael.config import Settings
from alawael.infra.mail import LogTransport, Mail, Mailer, SmtpTransport, build_message
from alawael.services.password_reset import ACCEPTED
from tests.conftest import make_settings
from tests.support.accounts import accounts_env
from tests.support.polling import eventually
from tests.support.smtp import SmtpSink, free_port, text_of, token_in, wait_for_mails

EMAIL = "sara@example.com"


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_smtp_down_the_request_succeeds_and_a_retry_delivers(mongo_uri: str) -> None:
    port = free_port()  # nothing listens here yet
    failures_before = _value("alawael_mail_send_failures_total")
    sent_before = _value("alawael_mail_messages_total", template="password-reset", result="sent")
    async with accounts_env(mongo_uri, port, mail_retry_base_seconds=0.1) as env:
        await env.add_user(EMAIL)
        response = await env.client.post("/api/auth/password-reset", json={"email": EMAIL})
        assert response.status_code == 202
        assert response.json() == {"data": {"message": ACCEPTED}}

        async def failed_once() -> bool:
            return env.mailer.failed_attempts >= 1

        await eventually(failed_once, what="a failed SMTP attempt")
        assert _value("alawael_mail_send_failures_total") >= failures_before + 1
        scraped = await env.client.get("/metrics")
        assert "alawael_mail_send_failures_total" in scraped.text

        sink = SmtpSink(port)  # the server comes (back) up
        sink.start()
        try:
            (mail,) = await wait_for_mails(sink, 1)
        finally:
            sink.stop()
        assert mail["To"] == EMAIL
        assert token_in(mail)

        async def sent() -> bool:  # the server keeps the mail before the client hears 250
            return env.mailer.sent == 1

        await eventually(sent, what="the delivery counted")
        assert len(env.mailer) == 0
        assert (
            _value("alawael_mail_messages_total", template="password-reset", result="sent")
            == sent_before + 1
        )


async def test_a_mail_is_given_up_after_the_last_attempt(mongo_uri: str) -> None:
    failed_before = _value(
        "alawael_mail_messages_total", template="password-reset", result="failed"
    )
    async with accounts_env(
        mongo_uri, free_port(), mail_max_attempts=2, mail_retry_base_seconds=0.01
    ) as env:
        await env.add_user(EMAIL)
        body = await env.gql(
            'mutation { requestPasswordReset(email: "sara@example.com") { message } }'
        )
        assert body["data"]["requestPasswordReset"]["message"] == ACCEPTED

        async def given_up() -> bool:
            return env.mailer.given_up == 1

        await eventually(given_up, what="the mail given up")
        assert env.mailer.failed_attempts == 2
        assert len(env.mailer) == 0
    assert (
        _value("alawael_mail_messages_total", template="password-reset", result="failed")
        == failed_before + 1
    )


async def test_without_smtp_host_the_mail_is_logged(
    mongo_uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="alawael.mail")
    async with accounts_env(mongo_uri, 25, smtp_host=None) as env:
        await env.add_user(EMAIL)
        await env.gql('mutation { requestPasswordReset(email: "sara@example.com") { message } }')

        async def logged() -> bool:
            return env.mailer.sent == 1

        await eventually(logged, what="the mail written to the log")
    (record,) = [r for r in caplog.records if r.name == "alawael.mail"]
    assert "To: sara@example.com" in record.getMessage()
    assert "https://erp.example.com/reset-password?token=" in record.getMessage()


async def test_in_production_the_log_fallback_keeps_the_link_out(
    caplog: pytest.LogCaptureFixture, mongo_uri: str
) -> None:
    settings = make_settings(
        mongo_uri, env="production", jwt_secret="x" * 40, metrics_token="metrics-token"
    )
    message = build_message(
        Mail(to=EMAIL, subject="Reset", text="secret link", html="<p>x</p>", template="t"),
        settings.mail_from,
    )
    caplog.set_level(logging.INFO, logger="alawael.mail")
    await LogTransport(settings).send(message)
    assert "not sent" in caplog.text
    assert "secret link" not in caplog.text
    assert EMAIL not in caplog.text


def test_messages_are_text_and_html_alternatives() -> None:
    mail = Mail(to=EMAIL, subject="مرحبا", text="نص", html="<p>نص</p>", template="t", language="ar")
    message = build_message(mail, "AlAwael <no-reply@erp.example.com>")
    assert isinstance(message, EmailMessage)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Message-ID"].endswith("@erp.example.com>")
    assert message["Content-Language"] == "ar"
    assert text_of(message).strip() == "نص"


def test_mail_settings_are_validated(mongo_uri: str) -> None:
    with pytest.raises(ValidationError, match="MAIL_FROM"):
        make_settings(mongo_uri, mail_from="not an address")
    with pytest.raises(ValidationError, match="SMTP_USERNAME and SMTP_PASSWORD"):
        make_settings(mongo_uri, smtp_username="mailer")
    with pytest.raises(ValidationError, match="PUBLIC_APP_URL"):
        make_settings(mongo_uri, public_app_url="erp.example.com")
    empty_is_unset = Settings(smtp_host="", smtp_username=" ", smtp_password="")
    assert empty_is_unset.smtp_host is None
    assert empty_is_unset.smtp_username is None


async def test_queued_mail_gets_a_last_attempt_at_shutdown(mongo_uri: str, smtp: SmtpSink) -> None:
    settings = make_settings(
        mongo_uri, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False
    )
    mailer = Mailer(settings, SmtpTransport(settings))  # never started: only close() sends
    mail = Mail(to=EMAIL, subject="Hi", text="text", html="<p>html</p>", template="t")
    assert mailer.submit(mail)
    await mailer.close()
    (received,) = smtp.received()  # close() returned after the delivery
    assert received["Subject"] == "Hi"
    assert mailer.sent == 1
    assert len(mailer) == 0


async def test_a_mail_that_cannot_be_composed_is_counted_and_skipped(
    mongo_uri: str, smtp: SmtpSink
) -> None:
    settings = make_settings(
        mongo_uri, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False
    )
    failed_before = _value("alawael_mail_messages_total", template="broken", result="failed")

    async def broken() -> Mail:
        raise RuntimeError("database away")

    async def fine() -> Mail:
        return Mail(to=EMAIL, subject="Fine", text="t", html="<p>h</p>", template="fine")

    mailer = Mailer(settings, SmtpTransport(settings))
    await mailer.start()
    try:
        assert mailer.submit_composed("broken", broken)
        assert mailer.submit_composed("fine", fine)
        (received,) = await wait_for_mails(smtp, 1)
        assert received["Subject"] == "Fine"
    finally:
        await mailer.close()
    assert _value("alawael_mail_messages_total", template="broken", result="failed") == (
        failed_before + 1
    )

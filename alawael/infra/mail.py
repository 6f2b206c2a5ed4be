"""Outgoing mail: an in-process queue and one background sender per worker.

A request only *queues* a mail (`send_later`, O(1), never waits, never raises): an SMTP
server that is slow, down or refusing must not slow down or fail a password reset. The
sender task delivers due mails one at a time with aiosmtplib; a failed attempt is put back
with a due time MAIL_RETRY_BASE_SECONDS * 2^(attempt-1) later (so one failing mail does not
hold up the others), and after MAIL_MAX_ATTEMPTS it is given up and logged. Every failed
attempt counts in `alawael_mail_send_failures_total`, every outcome in
`alawael_mail_messages_total`.

Without SMTP_HOST (development) the mail is written to the log instead, link included, so a
developer can follow a reset link from the console. In production without SMTP_HOST only
the fact that a mail was not sent is logged: reset links are credentials.

With several workers each worker sends what it queued; a worker that stops drops what it
has not sent yet (logged): the user asks for a new link.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol

import aiosmtplib

from alawael.config import Settings
from alawael.infra import metrics
from alawael.infra.resources import Resources
from alawael.infra.tasks import stop_task

log = logging.getLogger("alawael.mail")

_KEY = "mail"
IMPLICIT_TLS_PORT = 465
SHUTDOWN_SEND_SECONDS = 5.0


@dataclass(frozen=True)
class Mail:
    """One message: plain text and HTML renderings of the same content."""

    to: str
    subject: str
    text: str
    html: str
    template: str  # for metrics and logs: "password-reset", "invitation", ...
    language: str = "en"


def build_message(mail: Mail, sender: str) -> EmailMessage:
    """multipart/alternative: mail clients show the HTML part, others the text part."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    msg["Message-ID"] = make_msgid(domain=domain)
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    # After the content: set_content() clears every Content-* header.
    msg["Content-Language"] = mail.language
    return msg


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpTransport:
    """aiosmtplib, one connection per message: reset and invitation mails are rare, and a
    fresh connection never trips over a server that dropped an idle one."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host is not None
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        s = self.settings
        implicit_tls = s.smtp_port == IMPLICIT_TLS_PORT
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            use_tls=implicit_tls,
            start_tls=False if implicit_tls else s.smtp_starttls,
            timeout=s.smtp_timeout_seconds,
        )


class LogTransport:
    """No SMTP_HOST: the message goes to the log (whole in development, redacted in
    production, where a reset link in a log file would be a credential lying around)."""

    def __init__(self, settings: Settings) -> None:
        self.production = settings.is_production

    async def send(self, message: EmailMessage) -> None:
        if self.production:
            log.warning("SMTP_HOST is not set: mail %r not sent", str(message["Subject"]))
            return
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        log.info(
            "mail (SMTP_HOST unset, not sent)\nTo: %s\nSubject: %s\n\n%s",
            message["To"],
            message["Subject"],
            text,
        )


# Builds the mail in the sender task, off the request path; None: nothing to send.
Compose = Callable[[], Awaitable[Mail | None]]


@dataclass
class _Pending:
    template: str
    mail: Mail | None = None
    compose: Compose | None = None
    attempt: int = 0  # failed attempts so far


class Mailer:
    """The worker's queue and sender task (see the module docstring)."""

    def __init__(self, settings: Settings, transport: Transport) -> None:
        self.settings = settings
        self.transport = transport
        self.logged_only = isinstance(transport, LogTransport)
        self._due: list[tuple[float, int, _Pending]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Plain counters as well: tests and logs read them without parsing the registry.
        self.sent = 0
        self.failed_attempts = 0
        self.given_up = 0

    def __len__(self) -> int:
        return len(self._due)

    def submit(self, mail: Mail) -> bool:
        """Queue `mail` for now; never blocks or raises. False when the queue is full."""
        return self._enqueue(_Pending(mail.template, mail=mail))

    def submit_composed(self, template: str, compose: Compose) -> bool:
        """Queue a mail that `compose` builds in the sender task (once, not retried): the
        request does not wait for the work behind it (see alawael.services.password_reset:
        a request for an existing account must take as long as one for a missing one)."""
        return self._enqueue(_Pending(template, compose=compose))

    def _enqueue(self, pending: _Pending) -> bool:
        if len(self._due) >= self.settings.mail_queue_size:
            metrics.MAIL_MESSAGES.labels(pending.template, "dropped").inc()
            log.error("mail queue full (%d): %s mail dropped", len(self._due), pending.template)
            return False
        self._push(pending, 0.0)
        return True

    def _push(self, pending: _Pending, delay: float) -> None:
        due = asyncio.get_running_loop().time() + delay
        heapq.heappush(self._due, (due, next(self._seq), pending))
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mail-sender")

    async def close(self, grace: float = SHUTDOWN_SEND_SECONDS) -> None:
        """Stop the sender, then give every queued mail one last attempt (bounded by
        `grace`: a dead SMTP server cannot hold the shutdown hostage), so a reset asked for
        just before a deploy still goes out."""
        await stop_task(self._task)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._last_attempts(), grace)
        if self._due:
            log.warning("mail: %d queued mails not sent at shutdown", len(self._due))
            for _, _, pending in self._due:
                metrics.MAIL_MESSAGES.labels(pending.template, "dropped").inc()
            self._due.clear()

    async def _last_attempts(self) -> None:
        while self._due:
            _, _, pending = self._due[0]
            pending.attempt = self.settings.mail_max_attempts - 1  # no retry after this one
            await self._attempt(pending)
            heapq.heappop(self._due)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            if not self._due:
                await self._wake.wait()
                continue
            wait = self._due[0][0] - loop.time()
            if wait > 0:
                # Until the earliest retry is due, or a new mail arrives.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            _, _, pending = heapq.heappop(self._due)
            await self._attempt(pending)

    async def _attempt(self, pending: _Pending) -> None:
        mail = pending.mail or await self._compose(pending)
        if mail is None:
            return
        try:
            await self.transport.send(build_message(mail, self.settings.mail_from))
        except Exception as exc:  # any failure: SMTP refusals, DNS, timeouts, TLS
            pending.attempt += 1
            self.failed_attempts += 1
            metrics.MAIL_SEND_FAILURES.inc()
            if pending.attempt >= self.settings.mail_max_attempts:
                self.given_up += 1
                metrics.MAIL_MESSAGES.labels(mail.template, "failed").inc()
                log.error(
                    "%s mail not delivered after %d attempts: %s",
                    mail.template,
                    pending.attempt,
                    _describe(exc),
                )
                return
            delay = self.settings.mail_retry_base_seconds * 2 ** (pending.attempt - 1)
            log.warning(
                "%s mail attempt %d failed, retrying in %.1fs: %s",
                mail.template,
                pending.attempt,
                delay,
                _describe(exc),
            )
            self._push(pending, delay)
            return
        self.sent += 1
        result = "logged" if self.logged_only else "sent"
        metrics.MAIL_MESSAGES.labels(mail.template, result).inc()

    async def _compose(self, pending: _Pending) -> Mail | None:
        compose, pending.compose = pending.compose, None
        if compose is None:
            return None
        try:
            pending.mail = await compose()
        except Exception:
            metrics.MAIL_MESSAGES.labels(pending.template, "failed").inc()
            log.exception("%s mail could not be composed", pending.template)
            return None
        return pending.mail


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def make_transport(settings: Settings) -> Transport:
    return SmtpTransport(settings) if settings.smtp_host else LogTransport(settings)


def send_later(res: Resources, mail: Mail) -> bool:
    """Queue a mail on this worker's sender. Without one (a process that did not run the
    lifespan) the mail is dropped and logged, never raised: mail is not worth a failed
    request."""
    mailer = res.extras.get(_KEY)
    if not isinstance(mailer, Mailer):
        metrics.MAIL_MESSAGES.labels(mail.template, "dropped").inc()
        log.error("no mail sender in this process: %s mail dropped", mail.template)
        return False
    return mailer.submit(mail)


def send_composed(res: Resources, template: str, compose: Compose) -> bool:
    """`send_later` for a mail built in the background by `compose`."""
    mailer = mailer_of(res)
    if mailer is None:
        metrics.MAIL_MESSAGES.labels(template, "dropped").inc()
        log.error("no mail sender in this process: %s mail dropped", template)
        return False
    return mailer.submit_composed(template, compose)


def mailer_of(res: Resources) -> Mailer | None:
    mailer = res.extras.get(_KEY)
    return mailer if isinstance(mailer, Mailer) else None


@contextlib.asynccontextmanager
async def mail_subsystem(res: Resources) -> AsyncIterator[None]:
    """Lifespan subsystem: `res.extras["mail"]` is the worker's Mailer while it runs."""
    mailer = Mailer(res.settings, make_transport(res.settings))
    res.extras[_KEY] = mailer
    await mailer.start()
    try:
        yield
    finally:
        res.extras.pop(_KEY, None)
        await mailer.close()

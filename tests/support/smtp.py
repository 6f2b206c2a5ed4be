"""A real SMTP server for tests (aiosmtpd in its own thread), and reading what it got."""

from __future__ import annotations

import email
import re
import socket
import threading
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://\S+\?token=([A-Za-z0-9_\-%]+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class SmtpSink:
    """Accepts every message on 127.0.0.1:`port` and keeps it (thread-safe list)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(parsed)
        return "250 Message accepted"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)

    def count(self) -> int:
        with self._lock:
            return len(self.messages)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def token_in(message: EmailMessage) -> str:
    """The token of the link in the mail's text part (URL-decoded)."""
    from urllib.parse import unquote

    found = LINK.search(text_of(message))
    assert found is not None, text_of(message)
    return unquote(found.group(1))


async def wait_for_mails(sink: SmtpSink, n: int) -> list[EmailMessage]:
    """Poll until `sink` holds at least `n` messages; returns them."""
    from tests.support.polling import eventually

    async def arrived() -> bool:
        return sink.count() >= n

    await eventually(arrived, what=f"{n} mail(s) at the SMTP server")
    return sink.received()

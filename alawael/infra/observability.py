"""Logging (JSON in production, readable in development), metrics and Sentry."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from alawael.config import Settings

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; `extra={...}` fields become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.effective_log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # Security events (failed logins, refresh-token reuse, permission denials) are kept at
    # INFO and above even when LOG_LEVEL is WARNING or ERROR: they are the audit trail an
    # incident needs, and rare enough to cost nothing.
    security = logging.getLogger(SECURITY_LOGGER)
    security.setLevel(min(logging.INFO, logging.getLevelName(settings.log_level)))
    # uvicorn's access log is off (the access middleware writes one structured line per
    # request); its error log goes through our handler.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # ... except its two INFO lines per WebSocket, which go to DEBUG: our access middleware
    # already writes one line per WebSocket (on close, with duration and close code).
    uvicorn_error = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, WebSocketChatterToDebug) for f in uvicorn_error.filters):
        uvicorn_error.addFilter(WebSocketChatterToDebug())
    # APScheduler narrates every run at INFO; alawael.jobs logs one line per run instead.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))


SECURITY_LOGGER = "alawael.security"


class WebSocketChatterToDebug(logging.Filter):
    """uvicorn logs `connection open` (from the websockets library), `"WebSocket /graphql"
    [accepted]` and `connection closed` at INFO on `uvicorn.error` for every WebSocket:
    1,000 subscribers wrote 2,000 lines. Re-level them to DEBUG (dropped unless DEBUG is
    on); every other uvicorn record passes untouched."""

    _PLAIN = frozenset({"connection open", "connection closed"})

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        msg = record.msg
        if not isinstance(msg, str) or not (
            msg in self._PLAIN or msg.startswith('%s - "WebSocket %s"')
        ):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def _drop_graphql_view_errors(event: Any, hint: Any) -> Any:
    """Strawberry's Sentry view hook reports *every* GraphQL error of a response, already
    masked (no traceback), including the expected ones (NOT_FOUND, validation, ...). The
    unexpected ones reach Sentry through the logging integration instead, with their real
    exception and the request id (ErrorSchema.process_errors logs them), so these go."""
    for value in (event.get("exception") or {}).get("values") or []:
        if (value.get("mechanism") or {}).get("type") == "strawberry":
            return None
    return event


def init_sentry(settings: Settings, *, transport: Any = None) -> bool:
    """Turn on Sentry when SENTRY_DSN is set. Returns whether it is on. `transport` replaces
    the HTTP transport (tests capture the events in memory with it)."""
    if not settings.sentry_dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.integrations.starlette import StarletteIntegration
    from sentry_sdk.integrations.strawberry import StrawberryIntegration

    from alawael import __version__

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.sentry_environment or settings.env.value,
        release=settings.release or f"alawael@{__version__}",
        traces_sample_rate=settings.sentry_traces_sample_rate,
        send_default_pii=False,
        # Frame locals would ship raw ASGI scopes (Authorization and Cookie headers as
        # byte pairs, which the scrubber's key-based rules miss) and, in the auth code,
        # passwords: tracebacks go without them.
        include_local_variables=False,
        integrations=[
            StarletteIntegration(),
            # Sync mode: the async extension made a 1,000-item query ~10x slower
            # (sentry-python#3670).
            StrawberryIntegration(async_execution=False),
            # ERROR records with exc_info become events: unexpected resolver and REST
            # errors, subscription errors (strawberry funnels them through
            # Schema.process_errors, which logs them) and failed jobs.
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
        before_send=_drop_graphql_view_errors,
        **({"transport": transport} if transport is not None else {}),
    )
    return True


def identify_user(user_id: str) -> None:
    """Put the caller's user id (only the id: never email, phone or name) on the current
    Sentry scope, so an error event says whose request failed. Called wherever a token
    becomes an actor (alawael.auth.tokens.verify_access_token), which covers REST, GraphQL
    over HTTP and every operation on a WebSocket alike. The Starlette integration gives
    every HTTP request and every WebSocket connection its own isolation scope, so the id
    never leaks to another caller; without Sentry this is a no-op."""
    import sentry_sdk

    if sentry_sdk.get_client().is_active():
        sentry_sdk.set_user({"id": user_id})

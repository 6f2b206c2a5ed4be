"""The first admin: created on start-up when ADMIN_EMAIL and ADMIN_PASSWORD are set.

It only ever *creates* the account. If the address already belongs to an account that is not
an active admin, the start-up log says so and the account is left exactly as it is: it may
have been registered by an attacker who knows its password (promoting it would hand him the
server), or be an admin who was demoted or deactivated on purpose (and must not come back on
every restart). Promotion is an explicit operator action: `alawael promote-admin --email`.

Idempotent and safe when several workers start at once: the unique email index lets exactly
one insert win, and the others find the admin it created. The index is created here first,
since the background index task may not have run yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from pymongo.errors import PyMongoError

from alawael.infra.indexes import INDEXES
from alawael.infra.resources import Resources
from alawael.infra.tasks import stop_task
from alawael.services.users.signup import AdminEmailTaken, create_admin
from alawael.shared.errors import AppError

log = logging.getLogger(__name__)
# Operators watch this logger (it always logs, whatever LOG_LEVEL says).
security_log = logging.getLogger("alawael.security")


async def bootstrap_admin(res: Resources) -> bool:
    """Ensure the configured admin exists; False when none is configured, or when the
    address belongs to another kind of account (logged, left unchanged)."""
    settings = res.settings
    if not settings.admin_email or settings.admin_password is None:
        return False
    await res.db.users.create_indexes(INDEXES["users"])
    try:
        user = await create_admin(
            res,
            email=settings.admin_email,
            password=settings.admin_password.get_secret_value(),
            name="Administrator",
        )
    except AdminEmailTaken as exc:
        security_log.error("ADMIN_EMAIL not applied: %s", exc.message)
        return False
    log.info("admin account ready", extra={"email": user.email})
    return True


async def _retry_until_done(res: Resources) -> None:
    delay = 0.5
    while True:
        try:
            await bootstrap_admin(res)
            return
        except PyMongoError as exc:
            log.warning("admin bootstrap failed, retrying: %s", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30)


@contextlib.asynccontextmanager
async def admin_bootstrap(res: Resources) -> AsyncIterator[None]:
    """Lifespan subsystem: try once before serving; if MongoDB is away, keep trying in the
    background rather than refuse to start (readiness reports the outage meanwhile). Bad
    ADMIN_* values (e.g. a weak password) stop the start with a clear message."""
    task: asyncio.Task[None] | None = None
    try:
        await bootstrap_admin(res)
    except AppError as exc:
        raise RuntimeError(f"ADMIN_EMAIL/ADMIN_PASSWORD rejected: {exc.message}") from exc
    except PyMongoError as exc:
        log.warning("admin bootstrap postponed: %s", exc)
        task = asyncio.create_task(_retry_until_done(res))
    try:
        yield
    finally:
        await stop_task(task)

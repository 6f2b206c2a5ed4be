"""The first admin: created on start-up when ADMIN_EMAIL and ADMIN_PASSWORD are set.

Idempotent (an existing user is promoted, never duplicated) and safe when several workers
start at once: the unique email index lets exactly one insert win, and the others promote
(a no-op) instead. The index is created here first, since the background index task may not
have run yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from pymongo.errors import PyMongoError

from alawael.context import Resources
from alawael.db import INDEXES
from alawael.errors import AppError

log = logging.getLogger(__name__)


async def bootstrap_admin(res: Resources) -> bool:
    """Ensure the configured admin exists; False when none is configured."""
    from alawael.services.users import create_admin

    settings = res.settings
    if not settings.admin_email or settings.admin_password is None:
        return False
    await res.db.users.create_indexes(INDEXES["users"])
    user = await create_admin(
        res,
        email=settings.admin_email,
        password=settings.admin_password.get_secret_value(),
        name="Administrator",
    )
    log.info("admin account ready", extra={"email": user["email"]})
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
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

"""Login throttling: too many failed logins per account or per client IP -> RATE_LIMITED.

Moving windows from the `limits` library, kept in Redis when there is one (so every worker
counts the same failures) and in process otherwise. Accounts are keyed by a hash of the
e-mail, which also throttles guesses at addresses that do not exist: the answer for an
unknown address must look exactly like the answer for a known one.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from packaging.version import Version

from alawael.config import Settings
from alawael.context import Resources
from alawael.errors import RateLimited, ServiceUnavailable

log = logging.getLogger(__name__)

_KEY = "auth.login_throttle"


class RedisPyStorage(RedisStorage):
    """`RedisStorage` that loads only redis-py. The stock class imports every client it
    supports (coredis, valkey, ...) when first built: seconds of CPU that would block the
    event loop during a worker's first login. (No STORAGE_SCHEME: not registered.)"""

    DEPENDENCIES = {"redis": Version("5.2.0")}


def _account_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class LoginThrottle:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.limiter = MovingWindowRateLimiter(storage)
        window = settings.login_failure_window_seconds
        self.per_account: RateLimitItem = RateLimitItemPerSecond(
            settings.login_max_failures, window, namespace="login-fail"
        )
        self.per_ip: RateLimitItem = RateLimitItemPerSecond(
            settings.login_max_failures_per_ip, window, namespace="login-fail"
        )

    def _limits(self, email: str, ip: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        return [
            (self.per_account, ("account", _account_key(email))),
            (self.per_ip, ("ip", ip)),
        ]

    async def check(self, email: str, ip: str) -> None:
        """Raise RateLimited (with retryAfter seconds) when either budget is spent."""
        try:
            for item, ids in self._limits(email, ip):
                if not await self.limiter.test(item, *ids):
                    stats = await self.limiter.get_window_stats(item, *ids)
                    retry = max(1, math.ceil(stats.reset_time - time.time()))
                    raise RateLimited(
                        f"Too many failed login attempts; try again in {retry} seconds.",
                        retry_after=retry,
                    )
        except StorageError as exc:
            self._storage_down(exc)

    async def record_failure(self, email: str, ip: str) -> None:
        try:
            for item, ids in self._limits(email, ip):
                await self.limiter.hit(item, *ids)
        except StorageError as exc:
            self._storage_down(exc)

    async def reset_account(self, email: str) -> None:
        """A successful login forgives the account's failures (not the IP's)."""
        try:
            await self.limiter.clear(self.per_account, "account", _account_key(email))
        except StorageError as exc:
            self._storage_down(exc)

    def _storage_down(self, exc: Exception) -> None:
        if self.settings.rate_limit_fail_open:
            log.warning("login throttle storage unavailable; allowing the attempt: %s", exc)
            return
        raise ServiceUnavailable() from exc


def login_throttle(res: Resources) -> LoginThrottle:
    """The worker's throttle, built on first use (it shares the lifespan's Redis pool)."""
    throttle = res.extras.get(_KEY)
    if throttle is None:
        storage: Storage
        if res.redis is not None:
            storage = RedisPyStorage(
                "async+" + (res.settings.redis_url or "redis://"),
                wrap_exceptions=True,
                implementation="redispy",
                # Share the lifespan's pool: closed with it, no second set of connections.
                connection_pool=res.redis.connection_pool,  # type: ignore[arg-type]
            )
        else:
            storage = MemoryStorage()
        throttle = res.extras[_KEY] = LoginThrottle(res.settings, storage)
    assert isinstance(throttle, LoginThrottle)
    return throttle

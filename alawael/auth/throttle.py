"""Sign-in throttles, kept in the core so every door (GraphQL over HTTP or WebSocket, REST,
jobs) and every document shape (aliases, fragments) pays for every call.

1. The auth call budget (`RATE_LIMIT_AUTH`, per client IP): every login, register and
   refreshToken call is charged one unit *by the service* before it does any work, so 25
   aliased refreshToken fields in one document cost 25, however the document is written.
2. Failed-login lockout, keyed by **account and client IP** (`LOGIN_MAX_FAILURES` per
   `LOGIN_FAILURE_WINDOW_SECONDS`), with **growing delays** between failures of that pair
   (1 s after the second, then 2, 4, ... up to 60 s), plus a per-IP failure budget across all
   accounts (`LOGIN_MAX_FAILURES_PER_IP`). Keying by the pair means nobody can lock an owner
   out of their account from elsewhere: the attacker's IP is throttled, the owner's is not.
   Accounts are keyed by a hash of the e-mail, which also throttles guesses at addresses that
   do not exist (the answer for an unknown address must look like the one for a known one).

Moving windows from the `limits` library, in Redis when there is one (every worker counts
the same) and in process otherwise. A growing delay is a one-slot window whose length is the
delay: armed by the failure, it refuses the pair's next try until it expires.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from packaging.version import Version

from alawael.config import Settings
from alawael.infra.resources import Resources
from alawael.shared.errors import RateLimited, ServiceUnavailable

log = logging.getLogger(__name__)

_KEY = "auth.login_throttle"
# The delay armed by the n-th failure of an (account, IP) pair: none for the first (a typo),
# then doubling from 1 s, capped. A failure count only drops when failures age out of the
# window, long after any delay expired, so only the current count's delay needs testing.
_FREE_FAILURES = 1
_MAX_DELAY_SECONDS = 60


class RedisPyStorage(RedisStorage):
    """`RedisStorage` that loads only redis-py. The stock class imports every client it
    supports (coredis, valkey, ...) when first built: seconds of CPU that would block the
    event loop during a worker's first login. (No STORAGE_SCHEME: not registered.)"""

    DEPENDENCIES = {"redis": Version("5.2.0")}


def _account_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def delay_after(failures: int) -> int:
    """Seconds an (account, IP) pair waits after its `failures`-th failure."""
    if failures <= _FREE_FAILURES:
        return 0
    return int(min(2 ** (failures - _FREE_FAILURES - 1), _MAX_DELAY_SECONDS))


def _retry_after(reset_time: float) -> int:
    return max(1, math.ceil(reset_time - time.time()))


class LoginThrottle:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.limiter = MovingWindowRateLimiter(storage)
        window = settings.login_failure_window_seconds
        self.per_pair: RateLimitItem = RateLimitItemPerSecond(
            settings.login_max_failures, window, namespace="login-fail"
        )
        self.per_ip: RateLimitItem = RateLimitItemPerSecond(
            settings.login_max_failures_per_ip, window, namespace="login-fail"
        )
        self.calls: RateLimitItem = parse(settings.rate_limit_auth)

    def _delay_item(self, seconds: int) -> RateLimitItem:
        return RateLimitItemPerSecond(1, seconds, namespace="login-delay")

    @staticmethod
    def _pair(email: str, ip: str) -> tuple[str, ...]:
        return ("pair", _account_key(email), ip)

    async def charge_call(self, ip: str) -> None:
        """One unit of the per-IP auth budget for one login/register/refreshToken call;
        RateLimited once it is spent. Off with RATE_LIMIT_ENABLED=false."""
        if not self.settings.rate_limit_enabled:
            return
        try:
            if await self.limiter.hit(self.calls, "auth-call", ip):
                return
            stats = await self.limiter.get_window_stats(self.calls, "auth-call", ip)
        except StorageError as exc:
            self._storage_down(exc)
            return
        from alawael.infra.metrics import RATE_LIMITED

        RATE_LIMITED.labels(bucket="auth").inc()
        retry = _retry_after(stats.reset_time)
        raise RateLimited(
            f"Too many sign-in attempts; retry in {retry} seconds.", retry_after=retry
        )

    async def check(self, email: str, ip: str) -> None:
        """Raise RateLimited (with retryAfter seconds) while this (account, IP) pair is
        locked or waiting out its delay, or the IP's failure budget is spent."""
        try:
            pair = self._pair(email, ip)
            stats = await self.limiter.get_window_stats(self.per_pair, *pair)
            if stats.remaining <= 0:
                self._refuse(stats.reset_time)
            delay = delay_after(self.per_pair.amount - stats.remaining)
            if delay and not await self.limiter.test(self._delay_item(delay), *pair):
                waiting = await self.limiter.get_window_stats(self._delay_item(delay), *pair)
                self._refuse(waiting.reset_time)
            if not await self.limiter.test(self.per_ip, "ip", ip):
                by_ip = await self.limiter.get_window_stats(self.per_ip, "ip", ip)
                self._refuse(by_ip.reset_time)
        except StorageError as exc:
            self._storage_down(exc)

    @staticmethod
    def _refuse(reset_time: float) -> None:
        retry = _retry_after(reset_time)
        raise RateLimited(
            f"Too many failed login attempts; try again in {retry} seconds.", retry_after=retry
        )

    async def record_failure(self, email: str, ip: str) -> None:
        try:
            pair = self._pair(email, ip)
            await self.limiter.hit(self.per_pair, *pair)
            await self.limiter.hit(self.per_ip, "ip", ip)
            stats = await self.limiter.get_window_stats(self.per_pair, *pair)
            delay = delay_after(self.per_pair.amount - stats.remaining)
            if delay:
                await self.limiter.hit(self._delay_item(delay), *pair)
        except StorageError as exc:
            self._storage_down(exc)

    async def reset_account(self, email: str, ip: str) -> None:
        """A successful login forgives this pair's failures (not the IP's)."""
        try:
            await self.limiter.clear(self.per_pair, *self._pair(email, ip))
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

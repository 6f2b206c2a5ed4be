"""Password hashing (argon2id) and the password policy.

Hashing costs tens of milliseconds of CPU by design, so every hash and verify runs in a
worker thread: the event loop keeps serving other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from alawael.config import Settings
from alawael.shared.errors import BadUserInput

MIN_LENGTH = 10
# argon2 accepts any length, but a megabyte "password" is a CPU-burning request, not a secret.
MAX_LENGTH = 1024


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hasher_for(settings: Settings) -> PasswordHasher:
    return _hasher(
        settings.password_hash_time_cost,
        settings.password_hash_memory_cost,
        settings.password_hash_parallelism,
    )


@lru_cache(maxsize=8)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(16))


def check_policy(password: str, email: str) -> None:
    """Raise BAD_USER_INPUT (field "password") unless the password is acceptable."""
    if len(password) < MIN_LENGTH:
        raise BadUserInput(
            f"Password must be at least {MIN_LENGTH} characters long.", field="password"
        )
    if len(password) > MAX_LENGTH:
        raise BadUserInput(
            f"Password must be at most {MAX_LENGTH} characters long.", field="password"
        )
    lowered = password.lower()
    email = email.strip().lower()
    local = email.partition("@")[0]
    if email and (email in lowered or lowered == local):
        raise BadUserInput("Password must not contain your email address.", field="password")


async def hash_password(settings: Settings, password: str) -> str:
    return await asyncio.to_thread(hasher_for(settings).hash, password)


def _verify(hasher: PasswordHasher, stored: str | None, password: str) -> bool:
    # No stored hash (unknown user, or an account without a password): verify against a
    # dummy hash anyway, so the answer takes as long as for a real account.
    target = stored or _dummy_hash(hasher)
    try:
        hasher.verify(target, password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


async def verify_password(settings: Settings, stored: str | None, password: str) -> bool:
    return await asyncio.to_thread(_verify, hasher_for(settings), stored, password)


def needs_rehash(settings: Settings, stored: str) -> bool:
    """True when the hash was made with other parameters than the configured ones."""
    try:
        return hasher_for(settings).check_needs_rehash(stored)
    except InvalidHashError:
        return True

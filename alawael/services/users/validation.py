"""What a valid user looks like: e-mail, name and phone rules, shared by every door."""

from __future__ import annotations

import re

from bson import ObjectId

from alawael.infra.resources import Resources
from alawael.shared.errors import BadUserInput

# Never hand the password hash to callers (resolvers, cache, audit); the search keys are
# the search's business only.
PUBLIC = {"passwordHash": 0, "searchWords": 0, "searchSuffixes": 0}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
MAX_NAME = 100
MAX_SEARCH = 100


def normalize_email(email: str) -> str:
    # Uniqueness is case-insensitive: the stored form is lower-cased.
    return email.strip().lower()


def validate_email(email: str) -> str:
    value = normalize_email(email)
    if len(value) > 254 or not _EMAIL.match(value):
        raise BadUserInput("Enter a valid email address.", field="email")
    return value


def validate_name(name: str) -> str:
    value = " ".join(name.split())
    if not value:
        raise BadUserInput("Name is required.", field="name")
    if len(value) > MAX_NAME:
        raise BadUserInput(f"Name must be at most {MAX_NAME} characters.", field="name")
    return value


def validate_phone(phone: str | None) -> str | None:
    if phone is None or not phone.strip():
        return None
    value = phone.strip()
    if not _PHONE.match(value):
        raise BadUserInput("Enter a valid phone number.", field="phone")
    return value


def user_scopes(user_id: ObjectId) -> list[str]:
    """The cache scopes a change to this user invalidates."""
    return ["users", f"user:{user_id}"]


async def bump_user(res: Resources, user_id: ObjectId) -> None:
    await res.cache.bump(*user_scopes(user_id))

"""Single-use account links: password reset (30 minutes) and invitation (7 days).

The raw token (`secrets.token_urlsafe(32)`, 256 random bits) only ever exists in the mail;
the `account_tokens` collection holds its sha256, so a leaked database or backup holds no
usable link. A token is spent by one conditional `find_one_and_update` (unused, unexpired,
right purpose -> mark used), so of two concurrent uses exactly one wins. Issuing a new
token of a purpose deletes the user's unused older ones: only the latest link works.
Expired documents are removed by the TTL index on `expireAt`; the expiry is also checked in
the query, since TTL removal lags.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from enum import StrEnum

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from alawael.auth.sessions import hash_secret
from alawael.infra.clock import utcnow
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.shared.errors import BadUserInput

INVALID_LINK = "This link is invalid, already used or expired; ask for a new one."
# token_urlsafe(32) is 43 characters; anything much longer is not ours.
MAX_TOKEN_LENGTH = 128


class Purpose(StrEnum):
    PASSWORD_RESET = "password-reset"
    INVITATION = "invitation"


def ttl_seconds(res: Resources, purpose: Purpose) -> int:
    if purpose is Purpose.INVITATION:
        return res.settings.invitation_ttl_seconds
    return res.settings.password_reset_ttl_seconds


async def issue_token(
    res: Resources,
    user_id: ObjectId,
    purpose: Purpose,
    *,
    session: AsyncClientSession | None = None,
) -> str:
    """A new raw token for `user_id`; older unused tokens of this purpose stop working."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    await res.db.account_tokens.delete_many(
        {"userId": user_id, "purpose": purpose.value, "usedAt": None}, session=session
    )
    await res.db.account_tokens.insert_one(
        {
            "_id": ObjectId(),
            "userId": user_id,
            "purpose": purpose.value,
            "tokenHash": hash_secret(raw),
            "createdAt": now,
            "expireAt": now + timedelta(seconds=ttl_seconds(res, purpose)),
            "usedAt": None,
        },
        session=session,
    )
    return raw


def _query(raw: str, purpose: Purpose) -> Document:
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        raise BadUserInput(INVALID_LINK, field="token")
    return {
        "tokenHash": hash_secret(raw),
        "purpose": purpose.value,
        "usedAt": None,
        "expireAt": {"$gt": utcnow()},
    }


async def peek_token(res: Resources, raw: str, purpose: Purpose) -> Document:
    """The live token document, without spending it: callers validate the new password
    first, so a password the policy refuses does not burn the link."""
    doc = await res.db.account_tokens.find_one(_query(raw, purpose))
    if doc is None:
        raise BadUserInput(INVALID_LINK, field="token")
    return doc


async def spend_token(
    res: Resources, raw: str, purpose: Purpose, *, session: AsyncClientSession | None = None
) -> ObjectId:
    """Mark the token used and return its user id; BAD_USER_INPUT (field "token") when it
    is unknown, used, expired or of another purpose (one message for all: no oracle)."""
    doc = await res.db.account_tokens.find_one_and_update(
        _query(raw, purpose), {"$set": {"usedAt": utcnow()}}, session=session
    )
    if doc is None:
        raise BadUserInput(INVALID_LINK, field="token")
    user_id: ObjectId = doc["userId"]
    return user_id

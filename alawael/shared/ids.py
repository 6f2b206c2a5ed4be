"""Opaque global ids ("Type:objectid", base64url), the same in GraphQL and REST."""

from __future__ import annotations

import base64
import binascii

from bson import ObjectId
from bson.errors import InvalidId

from alawael.shared.errors import BadUserInput


def to_global_id(type_name: str, oid: ObjectId | str) -> str:
    raw = f"{type_name}:{oid}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def from_global_id(global_id: str, expected: str | None = None, field: str = "id") -> ObjectId:
    """Decode a global id; raises BAD_USER_INPUT (naming `field`) when malformed or of the
    wrong type."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw = base64.urlsafe_b64decode(padded).decode().partition(":")
        oid = ObjectId(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, InvalidId, TypeError) as exc:
        raise BadUserInput(f"Malformed id: {global_id!r}", field=field) from exc
    if expected is not None and type_name != expected:
        raise BadUserInput(f"Expected a {expected} id, got a {type_name} id", field=field)
    return oid


def type_of_global_id(global_id: str) -> str:
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        return base64.urlsafe_b64decode(padded).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise BadUserInput(f"Malformed id: {global_id!r}", field="id") from exc

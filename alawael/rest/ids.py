"""Ids as REST callers send them: the API's global ids, or raw 24-hex ObjectIds.

The old Node API handed out raw MongoDB ObjectIds, and integrators still store them, so the
REST door accepts both wherever an id is read (paths and bodies). A global id is checked
for its type (a User id where a Product is expected is refused); a raw ObjectId carries no
type, so it simply names nothing when it belongs to another collection (a 404 from the
service, like any id that matches nothing). Responses always carry global ids.
"""

from __future__ import annotations

import re

from bson import ObjectId

from alawael.shared.ids import from_global_id

# Exactly 24 hex digits. A global id is never this: "Type:<24 hex>" base64-encodes to 40+
# characters, so the two forms cannot be confused.
_RAW_OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}")


def parse_id(value: str, type_name: str, field: str = "id") -> ObjectId:
    """The ObjectId behind `value`; BAD_USER_INPUT (naming `field`) when it is neither a
    raw ObjectId nor a global id of `type_name`."""
    if _RAW_OBJECT_ID.fullmatch(value):
        return ObjectId(value)
    return from_global_id(value, type_name, field)

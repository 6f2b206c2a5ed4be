"""Keyset cursors: opaque to clients, and never a way to smuggle operators into a query."""

from __future__ import annotations

import base64

import bson
import pytest
from bson import ObjectId

from alawael.services.pagination import decode_cursor, encode_cursor
from alawael.shared.errors import BadUserInput


def _raw(doc: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(bson.encode(doc)).decode().rstrip("=")


def test_a_cursor_round_trips_its_sort_value_and_id() -> None:
    oid = ObjectId()
    assert decode_cursor(encode_cursor("شاي", oid), "after") == ("شاي", oid)
    assert decode_cursor(encode_cursor(1250, oid), "after") == (1250, oid)


@pytest.mark.parametrize(
    "forged",
    [
        {"v": {"$regex": "(a+)+$"}, "i": ObjectId()},  # an operator as the sort value
        {"v": "x", "i": {"$gt": ""}},  # an operator as the id
        {"v": ["a"], "i": ObjectId()},
        {"v": "x", "i": "not-an-object-id"},
        {"v": "x", "i": ObjectId(), "$where": "1"},
    ],
)
def test_forged_cursors_are_bad_input(forged: dict[str, object]) -> None:
    with pytest.raises(BadUserInput) as caught:
        decode_cursor(_raw(forged), "after")
    assert caught.value.field == "after"


def test_garbage_is_bad_input() -> None:
    with pytest.raises(BadUserInput):
        decode_cursor("not base64 at all!", "before")

"""The current time, as MongoDB will store it.

BSON datetimes have millisecond precision. A service that returned `datetime.now()` with
microseconds from a write would answer with a time that no later read reproduces (GraphQL
and REST must agree with themselves), so every timestamp we write is truncated first.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)

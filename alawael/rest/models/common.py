"""Shared REST model types: money, timestamps, ids, strict bodies, lax queries, pages, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from alawael.services.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from alawael.shared.money import cents_to_decimal

# --- shared types ----------------------------------------------------------------------

# At most 9,999,999.99: within the services' price bound, so schema-valid money is valid.
MONEY_PATTERN = r"^[0-9]{1,7}(\.[0-9]{1,2})?$"
# A decimal string with at most 2 decimals (the GraphQL Money scalar's input rule).
MoneyIn = Annotated[
    str,
    StringConstraints(pattern=MONEY_PATTERN),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": MONEY_PATTERN,
            "examples": ["12.50"],
            "description": "A decimal amount as a string, at most 2 decimals.",
        }
    ),
]
MoneyOut = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?[0-9]+\.[0-9]{2}$",
            "examples": ["12.50"],
            "description": "A decimal amount as a string with 2 decimals.",
        }
    ),
]


def _as_utc(value: datetime) -> datetime:
    # Naive datetimes are UTC (the API's only time zone), as in the GraphQL schema.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime) -> str:
    """isoformat(), as strawberry's DateTime prints. Services write millisecond times
    (alawael.infra.clock), so a write's response shows the same instant as later reads."""
    return value.isoformat()


Timestamp = Annotated[
    datetime,
    PlainSerializer(_iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
TimestampIn = Annotated[datetime, AfterValidator(_as_utc)]
GlobalId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 200,
            "description": "A global id as the API returns it, or a raw 24-hex ObjectId "
            "(as the old API handed out).",
        }
    ),
]


def money(cents: int) -> str:
    """Integer minor units -> "12.50", the GraphQL Money scalar's serialization."""
    return f"{cents_to_decimal(cents):.2f}"


class Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, frozen=True)


class Body(BaseModel):
    """A JSON request body: strict types, no unknown fields, camelCase names."""

    model_config = ConfigDict(
        alias_generator=to_camel, extra="forbid", strict=True, validate_by_name=False
    )


class Query(BaseModel):
    """A query string: lax types (it is all text), but no unknown parameters."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", validate_by_name=False)


class PageQuery(Query):
    limit: int = Field(
        default=DEFAULT_PAGE_SIZE,
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"Page size, 1-{MAX_PAGE_SIZE}.",
    )
    cursor: str | None = Field(
        default=None,
        max_length=500,
        description="`meta.nextCursor` of the previous page; omit for the first page.",
    )


class PageMeta(Out):
    """Keyset pagination: pass `nextCursor` back as `cursor` for the next page."""

    limit: int
    has_more: bool
    next_cursor: str | None = Field(description="Null on the last page.")


class ErrorDetail(Out):
    code: str = Field(description="Stable, machine-readable (e.g. BAD_USER_INPUT, NOT_FOUND).")
    message: str = Field(description="For humans.")
    details: dict[str, Any] | None = Field(
        default=None,
        description="`field` (the input field at fault), `fields` (every invalid field: "
        "`field`, `message`, `type`), `retryAfter` (seconds), `requestId` (on 500s).",
    )


class ErrorBody(Out):
    error: ErrorDetail

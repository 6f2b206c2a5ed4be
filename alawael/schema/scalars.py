"""Scalars: money is a decimal string, never a binary float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from alawael.shared.money import cents_to_decimal, decimal_to_cents

__all__ = ["MONEY_SCALAR", "SCALAR_MAP", "Money", "cents_to_decimal", "decimal_to_cents"]


def _parse_money(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        # Floats are refused on purpose: 0.1 + 0.2 is not a price.
        raise ValueError('Money must be a decimal string such as "12.50" (or an integer)')
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"Invalid money amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError("Money must be finite")
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("Money has at most 2 decimal places")
    return amount


# Annotate fields with `Money`; the schema maps it to the scalar through SCALAR_MAP
# (StrawberryConfig.scalar_map: passing a class to strawberry.scalar() is deprecated, and
# deprecation warnings are errors in the test suite).
Money = NewType("Money", Decimal)

MONEY_SCALAR = strawberry.scalar(
    name="Money",
    description='A decimal amount as a string with 2 decimal places, e.g. "1234.50". '
    "Stored as integer minor units; never a binary float.",
    serialize=lambda v: f"{Decimal(v):.2f}",
    parse_value=_parse_money,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {Money: MONEY_SCALAR}

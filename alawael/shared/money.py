"""Money arithmetic: integer minor units in storage, Decimal at the edges, never floats."""

from __future__ import annotations

from decimal import Decimal


def cents_to_decimal(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def decimal_to_cents(amount: Decimal | str) -> int:
    """A decimal amount (a Decimal, or a decimal string as REST sends it) in minor units."""
    return int((Decimal(amount) * 100).to_integral_value())


def optional_cents(amount: Decimal | str | None) -> int | None:
    return None if amount is None else decimal_to_cents(amount)

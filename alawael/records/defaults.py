"""Field defaults shared by records, validation and the doors' input types."""

from __future__ import annotations

DEFAULT_CURRENCY = "SAR"
DEFAULT_LOW_STOCK_THRESHOLD = 10

"""REST models of the catalogue."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
)

from alawael.records.defaults import DEFAULT_CURRENCY, DEFAULT_LOW_STOCK_THRESHOLD
from alawael.records.products import CategoryCount, ProductRecord
from alawael.rest.models.common import (
    Body,
    MoneyIn,
    MoneyOut,
    Out,
    PageQuery,
    Timestamp,
    money,
)
from alawael.services.products import MAX_STOCK
from alawael.services.search import HELP as SEARCH_HELP
from alawael.shared.ids import to_global_id

# --- products --------------------------------------------------------------------------

ProductSort = Literal[
    "createdAt", "-createdAt", "price", "-price", "name", "-name", "stock", "-stock"
]


class ProductListQuery(PageQuery):
    category: str | None = Field(default=None, max_length=100)
    # Named as in the GraphQL filter, so one ProductFilter.from_input reads both doors; the
    # query-string names stay those integrators know.
    search: str | None = Field(
        default=None,
        alias="q",
        max_length=100,
        description=SEARCH_HELP.format(fields="name, sku, category or description"),
    )
    price_min: MoneyIn | None = Field(default=None, alias="minPrice")
    price_max: MoneyIn | None = Field(default=None, alias="maxPrice")
    in_stock: bool | None = None
    archived: bool | None = Field(
        default=None, description="Managers only: true lists archived products instead."
    )
    sort: ProductSort = Field(
        default="-createdAt", description="A field; a leading `-` sorts descending."
    )


# The services' rules, stated in the schema too, so generated clients (and schemathesis)
# know what a valid sku and name are.
SKU_PATTERN = r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*$"
NAME_PATTERN = r"\S"


class ProductCreateBody(Body):
    sku: str = Field(max_length=64, pattern=SKU_PATTERN, description="Unique; stored upper-cased.")
    name: str = Field(max_length=200, pattern=NAME_PATTERN)
    price: MoneyIn
    description: str = Field(default="", max_length=5000)
    category: str = Field(default="", max_length=100)
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    stock: int = Field(default=0, ge=0, le=1_000_000)
    low_stock_threshold: int = Field(default=DEFAULT_LOW_STOCK_THRESHOLD, ge=0, le=1_000_000)


class ProductUpdateBody(Body):
    """Omitted fields stay as they are. Stock changes go through stock adjustments."""

    sku: str | None = Field(default=None, max_length=64, pattern=SKU_PATTERN)
    name: str | None = Field(default=None, max_length=200, pattern=NAME_PATTERN)
    price: MoneyIn | None = None
    description: str | None = Field(default=None, max_length=5000)
    category: str | None = Field(default=None, max_length=100)
    currency: str | None = Field(default=None, max_length=3)
    low_stock_threshold: int | None = Field(default=None, ge=0, le=1_000_000)


class ProductOut(Out):
    id: str
    sku: str
    name: str
    description: str
    category: str
    price: MoneyOut
    currency: str
    stock: int
    low_stock_threshold: int
    archived: bool
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def from_record(cls, p: ProductRecord) -> ProductOut:
        return cls(
            id=to_global_id("Product", p.id),
            sku=p.sku,
            name=p.name,
            description=p.description,
            category=p.category,
            price=money(p.price_cents),
            currency=p.currency,
            stock=p.stock,
            low_stock_threshold=p.low_stock_threshold,
            archived=p.archived,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


# --- stock adjustments and categories -------------------------------------------------


class StockAdjustmentBody(Body):
    delta: int = Field(
        ge=-MAX_STOCK,
        le=MAX_STOCK,
        description="Units to add (negative: remove); not 0. The stock never goes below 0 "
        "(409 `INSUFFICIENT_STOCK`).",
    )
    reason: str = Field(min_length=1, max_length=500, pattern=NAME_PATTERN)


class CategoryOut(Out):
    name: str
    product_count: int = Field(description="Products in it that you may see.")

    @classmethod
    def from_record(cls, c: CategoryCount) -> CategoryOut:
        return cls(name=c.name, product_count=c.count)

"""Products' rules: bounds, filters and sorts, validation, who sees archived products."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bson import ObjectId

from alawael.auth.permissions import Actor, Permission
from alawael.infra.db import Document
from alawael.records.defaults import DEFAULT_CURRENCY, DEFAULT_LOW_STOCK_THRESHOLD
from alawael.shared.errors import BadUserInput
from alawael.shared.money import decimal_to_cents, optional_cents

MAX_PRICE_CENTS = 1_000_000_000
MAX_STOCK = 1_000_000
MAX_TEXT = {"sku": 64, "name": 200, "description": 5000, "category": 100, "search": 100}
STOCK_CHANNEL = "stock"
SKU_RE = re.compile(r"^[A-Z0-9][A-Z0-9._\-]*$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


class ProductSortField(StrEnum):
    PRICE = "priceCents"
    NAME = "name"
    CREATED_AT = "createdAt"
    STOCK = "stock"


@dataclass(frozen=True)
class ProductFilter:
    category: str | None = None
    search: str | None = None
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    in_stock: bool | None = None
    archived: bool | None = None

    @classmethod
    def from_input(cls, source: object | None) -> ProductFilter:
        """From a GraphQL filter input or a REST query string: both doors name the fields
        alike (`search`, `price_min`, `price_max` as decimal amounts, ...); a missing source
        or field is no condition."""
        return cls(
            category=getattr(source, "category", None),
            search=getattr(source, "search", None),
            price_min_cents=optional_cents(getattr(source, "price_min", None)),
            price_max_cents=optional_cents(getattr(source, "price_max", None)),
            in_stock=getattr(source, "in_stock", None),
            archived=getattr(source, "archived", None),
        )


@dataclass(frozen=True)
class ProductData:
    """Fields of a create (all given) or an update (None = unchanged)."""

    sku: str | None = None
    name: str | None = None
    description: str | None = None
    category: str | None = None
    price_cents: int | None = None
    currency: str | None = None
    stock: int | None = None
    low_stock_threshold: int | None = None

    @classmethod
    def from_input(cls, source: object) -> ProductData:
        """From a GraphQL input or a REST body: both front doors name the fields alike, and
        `price` is a decimal amount (Decimal or decimal string); fields a source does not
        have (no `stock` on updates) stay None."""
        price = getattr(source, "price", None)
        return cls(
            sku=getattr(source, "sku", None),
            name=getattr(source, "name", None),
            description=getattr(source, "description", None),
            category=getattr(source, "category", None),
            price_cents=None if price is None else decimal_to_cents(price),
            currency=getattr(source, "currency", None),
            stock=getattr(source, "stock", None),
            low_stock_threshold=getattr(source, "low_stock_threshold", None),
        )


def is_manager(actor: Actor | None) -> bool:
    return actor is not None and actor.can(Permission.MANAGE_PRODUCTS)


def visibility(actor: Actor | None) -> str:
    return "manager" if is_manager(actor) else "public"


def product_scopes(*oids: ObjectId) -> list[str]:
    return ["products", "categories", *(f"product:{oid}" for oid in oids)]


# --- validation -------------------------------------------------------------------------


def clean_text(value: str, field: str, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise BadUserInput(f"`{field}` must not be empty.", field=field)
    if len(value) > MAX_TEXT[field]:
        raise BadUserInput(f"`{field}` is longer than {MAX_TEXT[field]} characters.", field=field)
    return value


def bounded(value: int, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadUserInput(f"`{field}` must be an integer from {low} to {high}.", field=field)
    return value


def validated(data: ProductData, *, creating: bool) -> Document:
    """The Mongo fields to write; raises BAD_USER_INPUT naming the field."""
    out: Document = {}
    if data.sku is not None or creating:
        sku = clean_text(data.sku or "", "sku", required=True).upper()
        if not SKU_RE.match(sku):
            raise BadUserInput("`sku` may hold letters, digits, '.', '_' and '-'.", field="sku")
        out["sku"] = sku
    if data.name is not None or creating:
        # Any script is fine (Arabic names are the norm); only emptiness and length matter.
        out["name"] = clean_text(data.name or "", "name", required=True)
    if data.description is not None or creating:
        out["description"] = clean_text(data.description or "", "description", required=False)
    if data.category is not None or creating:
        out["category"] = clean_text(data.category or "", "category", required=False)
    if data.price_cents is not None:
        cents = data.price_cents
        if (
            isinstance(cents, bool)
            or not isinstance(cents, int)
            or not 0 <= cents <= MAX_PRICE_CENTS
        ):
            # Said in money, not in the minor units the client never sees.
            raise BadUserInput(
                f"`price` must be from 0.00 to {MAX_PRICE_CENTS // 100:,}.00.", field="price"
            )
        out["priceCents"] = cents
    elif creating:
        raise BadUserInput("`price` is required.", field="price")
    if data.currency is not None or creating:
        currency = (data.currency or DEFAULT_CURRENCY).strip().upper()
        if not CURRENCY_RE.match(currency):
            raise BadUserInput("`currency` must be a 3-letter ISO code.", field="currency")
        out["currency"] = currency
    if data.stock is not None or creating:
        out["stock"] = bounded(data.stock or 0, "stock", 0, MAX_STOCK)
    if data.low_stock_threshold is not None or creating:
        threshold = DEFAULT_LOW_STOCK_THRESHOLD
        if data.low_stock_threshold is not None:
            threshold = data.low_stock_threshold
        out["lowStockThreshold"] = bounded(threshold, "lowStockThreshold", 0, MAX_STOCK)
    return out


def catalogue_query(flt: ProductFilter, actor: Actor | None) -> Document:
    query: Document = {}
    # Archived products are visible only to managers who ask for them.
    query["archived"] = bool(flt.archived) if is_manager(actor) else False
    if flt.category:
        query["category"] = flt.category.strip()
    # The search text is not part of this query: search_pages ranks by it.
    price: Document = {}
    if flt.price_min_cents is not None:
        price["$gte"] = flt.price_min_cents
    if flt.price_max_cents is not None:
        price["$lte"] = flt.price_max_cents
    if price:
        query["priceCents"] = price
    if flt.in_stock is not None:
        query["stock"] = {"$gt": 0} if flt.in_stock else 0
    return query

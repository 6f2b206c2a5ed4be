"""Product types, the catalogue queries (public) and product mutations (managers)."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from bson import ObjectId
from strawberry.types import Info

from alawael.auth.permissions import Permission
from alawael.records.defaults import DEFAULT_CURRENCY, DEFAULT_LOW_STOCK_THRESHOLD
from alawael.records.products import ProductRecord
from alawael.resolvers import products as r
from alawael.schema.connection import Connection, build_connection
from alawael.schema.errors import UserError, run_mutation
from alawael.schema.node import Node, register_node, to_global_id
from alawael.schema.permissions import HasPermission
from alawael.schema.scalars import Money, cents_to_decimal
from alawael.services.products import ProductSortField
from alawael.services.search import HELP as SEARCH_HELP

strawberry.enum(ProductSortField, name="ProductSortField")


@strawberry.enum
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.type(description="A product of the catalogue. Prices are Money (decimal strings).")
class Product(Node):
    sku: str
    name: str
    description: str
    category: str
    price: Money
    currency: str
    stock: int
    low_stock_threshold: int = strawberry.field(
        description="Managers are notified when the stock falls below this."
    )
    archived: bool
    created_at: datetime
    updated_at: datetime
    _id: strawberry.Private[ObjectId]

    @classmethod
    def from_record(cls, p: ProductRecord) -> Product:
        return cls(
            id=to_global_id("Product", p.id),
            sku=p.sku,
            name=p.name,
            description=p.description,
            category=p.category,
            price=Money(cents_to_decimal(p.price_cents)),
            currency=p.currency,
            stock=p.stock,
            low_stock_threshold=p.low_stock_threshold,
            archived=p.archived,
            created_at=p.created_at,
            updated_at=p.updated_at,
            _id=p.id,
        )

    @classmethod
    def maybe(cls, p: ProductRecord | None) -> Product | None:
        return None if p is None else cls.from_record(p)


@strawberry.type(description="A category and how many (visible) products it holds.")
class Category:
    name: str
    product_count: int


@strawberry.input(name="ProductFilter")
class ProductFilterInput:
    category: str | None = None
    search: str | None = strawberry.field(
        default=None, description=SEARCH_HELP.format(fields="name, sku, category or description")
    )
    price_min: Money | None = None
    price_max: Money | None = None
    in_stock: bool | None = None
    archived: bool | None = strawberry.field(
        default=None, description="Managers only: true lists archived products instead."
    )


@strawberry.input(name="ProductSort")
class ProductSortInput:
    field: ProductSortField = ProductSortField.CREATED_AT
    direction: SortDirection = SortDirection.DESC


@strawberry.input
class CreateProductInput:
    sku: str = strawberry.field(description="Unique; stored upper-cased.")
    name: str
    price: Money
    description: str = ""
    category: str = ""
    currency: str = DEFAULT_CURRENCY
    stock: int = 0
    low_stock_threshold: int = DEFAULT_LOW_STOCK_THRESHOLD


@strawberry.input(description="Fields to change; omitted fields stay. Stock: adjustStock.")
class UpdateProductInput:
    sku: str | None = None
    name: str | None = None
    price: Money | None = None
    description: str | None = None
    category: str | None = None
    currency: str | None = None
    low_stock_threshold: int | None = None


@strawberry.type
class CreateProductPayload:
    product: Product | None = None
    errors: list[UserError]


@strawberry.type
class UpdateProductPayload:
    product: Product | None = None
    errors: list[UserError]


@strawberry.type
class ArchiveProductPayload:
    product: Product | None = None
    errors: list[UserError]


@strawberry.type
class RestoreProductPayload:
    product: Product | None = None
    errors: list[UserError]


@strawberry.type
class AdjustStockPayload:
    product: Product | None = None
    errors: list[UserError]


async def _product(result: Awaitable[ProductRecord]) -> dict[str, Any]:
    return {"product": Product.from_record(await result)}


async def _node(info: Info, oid: ObjectId) -> Product | None:
    return Product.maybe(await r.visible_product(info, oid))


register_node("Product", _node)


@strawberry.type
class ProductQuery:
    @strawberry.field(description="A product by id; null if missing (or archived, to shoppers).")
    async def product(self, info: Info, id: strawberry.ID) -> Product | None:
        return Product.maybe(await r.product(info, id))

    @strawberry.field(description="A product by sku (case-insensitive).")
    async def product_by_sku(self, info: Info, sku: str) -> Product | None:
        return Product.maybe(await r.product_by_sku(info, sku))

    @strawberry.field(description="The catalogue, filtered and sorted; public.")
    async def products(
        self,
        info: Info,
        filter: ProductFilterInput | None = None,
        sort: ProductSortInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Product]:
        page = await r.products_page(info, filter, sort, first, after, last, before)
        return build_connection(page, Product.from_record)

    @strawberry.field(description="Distinct categories with product counts, by name.")
    async def categories(self, info: Info) -> list[Category]:
        rows = await r.categories(info)
        return [Category(name=row.name, product_count=row.count) for row in rows]


_MANAGE = [HasPermission(Permission.MANAGE_PRODUCTS)]


@strawberry.type
class ProductMutation:
    @strawberry.mutation(permission_classes=_MANAGE, description="Duplicate sku: CONFLICT.")
    async def create_product(self, info: Info, input: CreateProductInput) -> CreateProductPayload:
        return await run_mutation(
            CreateProductPayload, lambda: _product(r.create_product(info, input))
        )

    @strawberry.mutation(permission_classes=_MANAGE)
    async def update_product(
        self, info: Info, id: strawberry.ID, input: UpdateProductInput
    ) -> UpdateProductPayload:
        return await run_mutation(
            UpdateProductPayload, lambda: _product(r.update_product(info, id, input))
        )

    @strawberry.mutation(
        permission_classes=_MANAGE,
        description="Soft delete: hidden from the catalogue, still shown on old orders.",
    )
    async def archive_product(self, info: Info, id: strawberry.ID) -> ArchiveProductPayload:
        return await run_mutation(
            ArchiveProductPayload, lambda: _product(r.archive_product(info, id))
        )

    @strawberry.mutation(
        permission_classes=_MANAGE,
        description="Undo archiveProduct: back in the catalogue, stock as it was.",
    )
    async def restore_product(self, info: Info, id: strawberry.ID) -> RestoreProductPayload:
        return await run_mutation(
            RestoreProductPayload, lambda: _product(r.restore_product(info, id))
        )

    @strawberry.mutation(
        permission_classes=_MANAGE,
        description="Add (or remove, with a negative delta) stock; never below 0 "
        "(INSUFFICIENT_STOCK). A retry with the same idempotencyKey returns the first "
        "result without adjusting again; the key reused for another adjustment: CONFLICT.",
    )
    async def adjust_stock(
        self,
        info: Info,
        id: strawberry.ID,
        delta: int,
        reason: str,
        idempotency_key: str | None = None,
    ) -> AdjustStockPayload:
        return await run_mutation(
            AdjustStockPayload,
            lambda: _product(r.adjust_stock(info, id, delta, reason, idempotency_key)),
        )

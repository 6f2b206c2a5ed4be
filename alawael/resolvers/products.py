"""Product resolvers: GraphQL arguments in, service calls, documents out."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Protocol

from bson import ObjectId
from strawberry.types import Info

from alawael.records.products import CategoryCount, ProductRecord
from alawael.services import products
from alawael.services.pagination import Page, PageArgs
from alawael.shared.ids import from_global_id

# The shapes these resolvers read from alawael.schema.products' inputs, declared here so that
# resolvers never import the schema modules that import them (no cycle). Create and update
# inputs go to ProductData.from_input, which reads them by attribute name.
CreateProductInput = object
UpdateProductInput = object


class ProductFilterInput(Protocol):
    @property
    def category(self) -> str | None: ...
    @property
    def search(self) -> str | None: ...
    @property
    def price_min(self) -> Decimal | None: ...
    @property
    def price_max(self) -> Decimal | None: ...
    @property
    def in_stock(self) -> bool | None: ...
    @property
    def archived(self) -> bool | None: ...


class ProductSortInput(Protocol):
    @property
    def field(self) -> products.ProductSortField: ...
    @property
    def direction(self) -> Enum: ...


async def visible_product(info: Info, oid: ObjectId) -> ProductRecord | None:
    """A product through the request's DataLoader, if the caller may see it."""
    return products.visible(info.context.user, await info.context.loaders.product_by_id.load(oid))


async def categories(info: Info) -> list[CategoryCount]:
    return await products.list_categories(info.context.resources, info.context.user)


async def product(info: Info, gid: str) -> ProductRecord | None:
    oid = from_global_id(gid, "Product")
    return await products.get_product(info.context.resources, info.context.user, oid)


async def product_by_sku(info: Info, sku: str) -> ProductRecord | None:
    return await products.get_product_by_sku(info.context.resources, info.context.user, sku)


async def products_page(
    info: Info,
    flt: ProductFilterInput | None,
    sort: ProductSortInput | None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Page[ProductRecord]:
    return await products.list_products(
        info.context.resources,
        info.context.user,
        products.ProductFilter.from_input(flt),
        sort=sort.field if sort else products.ProductSortField.CREATED_AT,
        descending=sort.direction.value == "DESC" if sort else True,
        args=PageArgs(first, after, last, before),
    )


async def create_product(info: Info, data: CreateProductInput) -> ProductRecord:
    parsed = products.ProductData.from_input(data)
    ctx = info.context
    return await products.create_product(ctx.resources, ctx.user, parsed, request_id=ctx.request_id)


async def update_product(info: Info, gid: str, data: UpdateProductInput) -> ProductRecord:
    oid = from_global_id(gid, "Product")
    parsed = products.ProductData.from_input(data)
    ctx = info.context
    return await products.update_product(
        ctx.resources, ctx.user, oid, parsed, request_id=ctx.request_id
    )


async def archive_product(info: Info, gid: str) -> ProductRecord:
    oid = from_global_id(gid, "Product")
    ctx = info.context
    return await products.archive_product(ctx.resources, ctx.user, oid, request_id=ctx.request_id)


async def restore_product(info: Info, gid: str) -> ProductRecord:
    oid = from_global_id(gid, "Product")
    ctx = info.context
    return await products.restore_product(ctx.resources, ctx.user, oid, request_id=ctx.request_id)


async def adjust_stock(
    info: Info, gid: str, delta: int, reason: str, idempotency_key: str | None = None
) -> ProductRecord:
    oid = from_global_id(gid, "Product")
    ctx = info.context
    return await products.adjust_stock(
        ctx.resources,
        ctx.user,
        oid,
        delta,
        reason,
        idempotency_key=idempotency_key,
        request_id=ctx.request_id,
    )

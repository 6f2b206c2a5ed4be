"""Catalogue reads: cached, public; archived products only for managers."""

from __future__ import annotations

from dataclasses import asdict

from bson import ObjectId

from alawael.auth.permissions import Actor
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.records.products import CategoryCount, ProductRecord
from alawael.services import search
from alawael.services.pagination import Page, PageArgs, page_of_docs
from alawael.services.products.rules import (
    MAX_TEXT,
    ProductFilter,
    ProductSortField,
    catalogue_query,
    is_manager,
    visibility,
)
from alawael.services.search_pages import count_matching, paginate_matching


async def get_product(res: Resources, actor: Actor | None, oid: ObjectId) -> ProductRecord | None:
    """One product, or None when missing or archived and the caller isn't a manager."""
    doc: Document | None = await res.cache.get_or_compute(
        "product",
        [str(oid)],
        scopes=[f"product:{oid}"],
        ttl=res.settings.cache_ttl_seconds,
        compute=lambda: res.db.products.find_one({"_id": oid}, search.WITHOUT_KEYS),
    )
    return visible(actor, _record(doc))


async def get_product_by_sku(res: Resources, actor: Actor | None, sku: str) -> ProductRecord | None:
    key = sku.strip().upper()
    doc: Document | None = await res.cache.get_or_compute(
        "product_by_sku",
        [key],
        scopes=["products"],
        ttl=res.settings.cache_ttl_seconds,
        compute=lambda: res.db.products.find_one({"sku": key}, search.WITHOUT_KEYS),
    )
    return visible(actor, _record(doc))


def _record(doc: Document | None) -> ProductRecord | None:
    return None if doc is None else ProductRecord.from_doc(doc)


def visible(actor: Actor | None, product: ProductRecord | None) -> ProductRecord | None:
    """The product if the actor may see it: archived products only for managers."""
    if product is None or (product.archived and not is_manager(actor)):
        return None
    return product


async def list_products(
    res: Resources,
    actor: Actor | None,
    flt: ProductFilter,
    *,
    sort: ProductSortField = ProductSortField.CREATED_AT,
    descending: bool = True,
    args: PageArgs,
) -> Page[ProductRecord]:
    query = catalogue_query(flt, actor)
    terms = search.search_terms(flt.search, max_length=MAX_TEXT["search"])
    direction = -1 if descending else 1
    key = [visibility(actor), asdict(flt), sort.value, direction, asdict(args)]

    async def compute() -> Document:
        page = await paginate_matching(
            res.db,
            "products",
            query,
            terms,
            sort_field=sort.value,
            direction=direction,
            args=args,
            projection=search.WITHOUT_KEYS,
            windowed=res.scan_windows,
        )
        return {"docs": page.items, "next": page.has_next_page, "prev": page.has_previous_page}

    cached: Document = await res.cache.get_or_compute(
        "products", key, scopes=["products"], ttl=res.settings.cache_ttl_seconds, compute=compute
    )

    async def count() -> int:
        total: int = await res.cache.get_or_compute(
            "products_count",
            key[:2],
            scopes=["products"],
            ttl=res.settings.cache_ttl_seconds,
            compute=lambda: count_matching(res.db, "products", query, terms),
        )
        return total

    return page_of_docs(
        cached["docs"],
        sort.value,
        has_next_page=cached["next"],
        has_previous_page=cached["prev"],
        count=count,
    ).map(ProductRecord.from_doc)


async def list_categories(res: Resources, actor: Actor | None) -> list[CategoryCount]:
    """Distinct categories with the number of visible products in each, by name."""
    archived = {} if is_manager(actor) else {"archived": False}

    async def compute() -> list[Document]:
        pipeline: list[Document] = [
            {"$match": archived},
            {"$group": {"_id": "$category", "count": {"$sum": 1}}},
            {"$sort": {"_id": 1}},
        ]
        cursor = await res.db.products.aggregate(pipeline)
        return [{"name": doc["_id"] or "", "count": doc["count"]} async for doc in cursor]

    rows: list[Document] = await res.cache.get_or_compute(
        "categories",
        [visibility(actor)],
        scopes=["categories"],
        ttl=res.settings.cache_ttl_seconds,
        compute=compute,
    )
    return [CategoryCount(row["name"], row["count"]) for row in rows]

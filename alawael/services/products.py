"""Products: catalogue reads (cached, public) and writes (managers), stock adjustments.

Reads go through the resolver cache under the scopes `products` (lists, sku lookups),
`product:<hex>` (one product) and `categories`; every write bumps all three. Archived
products are hidden from everyone but managers, so cache keys carry that visibility.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from enum import StrEnum

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from alawael.auth.permissions import Actor, Permission, require
from alawael.infra.clock import utcnow
from alawael.infra.db import Document
from alawael.infra.resources import Resources
from alawael.records.defaults import DEFAULT_CURRENCY, DEFAULT_LOW_STOCK_THRESHOLD
from alawael.records.products import CategoryCount, ProductRecord
from alawael.services import search
from alawael.services.audited import Author, Change, audited_write
from alawael.services.notifications import crossed_low_stock, notify_low_stock
from alawael.services.pagination import Page, PageArgs, page_of_docs
from alawael.services.search_pages import count_matching, paginate_matching
from alawael.shared.errors import BadUserInput, Conflict, InsufficientStock, NotFound
from alawael.shared.money import decimal_to_cents

# Sane bounds: a price above 10 million or a stock above a million is a typo, not a sale.
MAX_PRICE_CENTS = 1_000_000_000
MAX_STOCK = 1_000_000
MAX_TEXT = {"sku": 64, "name": 200, "description": 5000, "category": 100, "search": 100}
STOCK_CHANNEL = "stock"
_SKU_RE = re.compile(r"^[A-Z0-9][A-Z0-9._\-]*$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


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


def _visibility(actor: Actor | None) -> str:
    return "manager" if is_manager(actor) else "public"


def product_scopes(*oids: ObjectId) -> list[str]:
    return ["products", "categories", *(f"product:{oid}" for oid in oids)]


# --- validation -------------------------------------------------------------------------


def _text(value: str, field: str, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise BadUserInput(f"`{field}` must not be empty.", field=field)
    if len(value) > MAX_TEXT[field]:
        raise BadUserInput(f"`{field}` is longer than {MAX_TEXT[field]} characters.", field=field)
    return value


def _bounded(value: int, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadUserInput(f"`{field}` must be an integer from {low} to {high}.", field=field)
    return value


def _validated(data: ProductData, *, creating: bool) -> Document:
    """The Mongo fields to write; raises BAD_USER_INPUT naming the field."""
    out: Document = {}
    if data.sku is not None or creating:
        sku = _text(data.sku or "", "sku", required=True).upper()
        if not _SKU_RE.match(sku):
            raise BadUserInput("`sku` may hold letters, digits, '.', '_' and '-'.", field="sku")
        out["sku"] = sku
    if data.name is not None or creating:
        # Any script is fine (Arabic names are the norm); only emptiness and length matter.
        out["name"] = _text(data.name or "", "name", required=True)
    if data.description is not None or creating:
        out["description"] = _text(data.description or "", "description", required=False)
    if data.category is not None or creating:
        out["category"] = _text(data.category or "", "category", required=False)
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
        if not _CURRENCY_RE.match(currency):
            raise BadUserInput("`currency` must be a 3-letter ISO code.", field="currency")
        out["currency"] = currency
    if data.stock is not None or creating:
        out["stock"] = _bounded(data.stock or 0, "stock", 0, MAX_STOCK)
    if data.low_stock_threshold is not None or creating:
        threshold = DEFAULT_LOW_STOCK_THRESHOLD
        if data.low_stock_threshold is not None:
            threshold = data.low_stock_threshold
        out["lowStockThreshold"] = _bounded(threshold, "lowStockThreshold", 0, MAX_STOCK)
    return out


def _query(flt: ProductFilter, actor: Actor | None) -> Document:
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


# --- reads ------------------------------------------------------------------------------


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
    query = _query(flt, actor)
    terms = search.search_terms(flt.search, max_length=MAX_TEXT["search"])
    direction = -1 if descending else 1
    key = [_visibility(actor), asdict(flt), sort.value, direction, asdict(args)]

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
        [_visibility(actor)],
        scopes=["categories"],
        ttl=res.settings.cache_ttl_seconds,
        compute=compute,
    )
    return [CategoryCount(row["name"], row["count"]) for row in rows]


# --- writes -----------------------------------------------------------------------------


async def create_product(
    res: Resources, actor: Actor | None, data: ProductData, *, request_id: str | None = None
) -> ProductRecord:
    require(actor, Permission.MANAGE_PRODUCTS)
    fields = _validated(data, creating=True)
    now = utcnow()
    doc: Document = {"_id": ObjectId(), **fields, "archived": False, "createdAt": now}
    doc["updatedAt"] = now

    async def change(session: AsyncClientSession) -> Change[Document]:
        try:
            await res.db.products.insert_one({**doc, **search.product_keys(doc)}, session=session)
        except DuplicateKeyError as exc:
            raise Conflict(f"A product with sku {fields['sku']} exists.", field="sku") from exc
        return Change(doc, doc["_id"], before=None, after=doc)

    await audited_write(
        res,
        Author(actor, request_id),
        action="createProduct",
        entity="product",
        change=change,
        scopes=product_scopes(doc["_id"]),
    )
    return ProductRecord.from_doc(doc)


async def update_product(
    res: Resources,
    actor: Actor | None,
    oid: ObjectId,
    data: ProductData,
    *,
    request_id: str | None = None,
) -> ProductRecord:
    """Update the given fields. Stock is not editable here: `adjust_stock` keeps a reason
    and the low-stock rules."""
    require(actor, Permission.MANAGE_PRODUCTS)
    if data.stock is not None:
        raise BadUserInput("Change stock with adjustStock.", field="stock")
    fields = _validated(data, creating=False)
    if not fields:
        current = await res.db.products.find_one({"_id": oid})
        if current is None:
            raise NotFound("No such product.", field="id")
        return ProductRecord.from_doc(current)
    fields["updatedAt"] = utcnow()

    async def change(session: AsyncClientSession) -> Change[Document]:
        # BEFORE from the update itself: the audited "before" is exactly what was replaced,
        # even under concurrent updates, and it commits with the change.
        try:
            before = await res.db.products.find_one_and_update(
                {"_id": oid},
                {"$set": fields},
                return_document=ReturnDocument.BEFORE,
                session=session,
            )
        except DuplicateKeyError as exc:
            raise Conflict(f"A product with sku {fields['sku']} exists.", field="sku") from exc
        if before is None:
            raise NotFound("No such product.", field="id")
        if fields.keys() & {"name", "sku", "category", "description"}:
            keys = search.product_keys({**before, **fields})
            await res.db.products.update_one({"_id": oid}, {"$set": keys}, session=session)
        return Change(
            {**before, **fields}, oid, before={k: before.get(k) for k in fields}, after=fields
        )

    after = await audited_write(
        res,
        Author(actor, request_id),
        action="updateProduct",
        entity="product",
        change=change,
        scopes=product_scopes(oid),
    )
    return ProductRecord.from_doc(after)


async def archive_product(
    res: Resources, actor: Actor | None, oid: ObjectId, *, request_id: str | None = None
) -> ProductRecord:
    """Soft delete: the document stays, so orders keep resolving their products."""
    require(actor, Permission.MANAGE_PRODUCTS)

    async def change(session: AsyncClientSession) -> Change[Document]:
        after: Document | None = await res.db.products.find_one_and_update(
            {"_id": oid},
            {"$set": {"archived": True, "updatedAt": utcnow()}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if after is None:
            raise NotFound("No such product.", field="id")
        return Change(after, oid, before={"archived": False}, after={"archived": True})

    after = await audited_write(
        res,
        Author(actor, request_id),
        action="archiveProduct",
        entity="product",
        change=change,
        scopes=product_scopes(oid),
    )
    return ProductRecord.from_doc(after)


async def adjust_stock(
    res: Resources,
    actor: Actor | None,
    oid: ObjectId,
    delta: int,
    reason: str,
    *,
    request_id: str | None = None,
) -> ProductRecord:
    """Add `delta` (may be negative) to the stock; never below 0 nor above MAX_STOCK.

    The bounds are part of the update filter, so two concurrent adjustments can't together
    take the stock below zero."""
    require(actor, Permission.MANAGE_PRODUCTS)
    _bounded(delta, "delta", -MAX_STOCK, MAX_STOCK)
    if delta == 0:
        raise BadUserInput("`delta` must not be 0.", field="delta")
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise BadUserInput("`reason` must be 1-500 characters.", field="reason")
    bound = {"$gte": -delta} if delta < 0 else {"$lte": MAX_STOCK - delta}

    async def change(session: AsyncClientSession) -> Change[Document]:
        after: Document | None = await res.db.products.find_one_and_update(
            {"_id": oid, "stock": bound},
            {"$inc": {"stock": delta}, "$set": {"updatedAt": utcnow()}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if after is None:
            current = await res.db.products.find_one({"_id": oid}, {"stock": 1}, session=session)
            if current is None:
                raise NotFound("No such product.", field="id")
            if delta < 0:
                raise InsufficientStock(
                    f"Only {current['stock']} in stock; cannot remove {-delta}.",
                    field="delta",
                    details={"available": current["stock"]},
                )
            raise BadUserInput(f"Stock may not exceed {MAX_STOCK}.", field="delta")
        return Change(
            after,
            oid,
            before={"stock": after["stock"] - delta},
            after={"stock": after["stock"], "delta": delta, "reason": reason},
        )

    after = await audited_write(
        res,
        Author(actor, request_id),
        action="adjustStock",
        entity="product",
        change=change,
        scopes=product_scopes(oid),
    )
    await res.events.publish(STOCK_CHANNEL, {"productId": str(oid), "stock": after["stock"]})
    if crossed_low_stock(after, delta):
        await notify_low_stock(res, [after])
    return ProductRecord.from_doc(after)

"""The catalogue (public: list, one product, by sku, categories) and product writes
(managers: create, update, archive, restore, stock adjustments), through
alawael.services.products."""

from __future__ import annotations

from alawael.auth.permissions import Permission
from alawael.rest.models import ProductCreateBody, ProductListQuery, ProductOut, ProductUpdateBody
from alawael.rest.models.catalogue import CategoryOut, StockAdjustmentBody
from alawael.rest.routing import Call, Header, Paged, endpoint, page_args
from alawael.services import products
from alawael.services.products import ProductSortField
from alawael.shared.errors import NotFound

TAG = "Products"
_SORT_FIELDS = {
    "createdAt": ProductSortField.CREATED_AT,
    "price": ProductSortField.PRICE,
    "name": ProductSortField.NAME,
    "stock": ProductSortField.STOCK,
}
_PATH = {"id": "A Product id (the global id the API returns, or a raw 24-hex ObjectId)."}


@endpoint(
    "GET",
    "/api/products",
    summary="The catalogue: filter, sort, page",
    tag=TAG,
    access="public",
    query=ProductListQuery,
    response=ProductOut,
    many=True,
)
async def list_products(call: Call) -> Paged:
    """Public. Archived products are hidden unless a manager asks for `archived=true`."""
    q = call.query_as(ProductListQuery)
    sort = _SORT_FIELDS[q.sort.lstrip("-")]
    page = await products.list_products(
        call.res,
        call.actor,
        products.ProductFilter.from_input(q),
        sort=sort,
        descending=q.sort.startswith("-"),
        args=page_args(q),
    )
    return Paged([ProductOut.from_record(p) for p in page.items], page, q.limit)


@endpoint(
    "GET",
    "/api/products/{id}",
    summary="One product",
    tag=TAG,
    access="public",
    response=ProductOut,
    errors=(404,),
    path_params=_PATH,
)
async def get_product(call: Call) -> ProductOut:
    """Public; an archived product is a 404 except to managers."""
    doc = await products.get_product(call.res, call.actor, call.oid("Product"))
    if doc is None:
        raise NotFound("No such product.", field="id")
    return ProductOut.from_record(doc)


@endpoint(
    "POST",
    "/api/products",
    summary="Create a product (managers)",
    tag=TAG,
    access=Permission.MANAGE_PRODUCTS,
    body=ProductCreateBody,
    response=ProductOut,
    status=201,
    errors=(409,),
)
async def create_product(call: Call) -> ProductOut:
    """A sku already in use is a 409."""
    body = call.body_as(ProductCreateBody)
    data = products.ProductData.from_input(body)
    doc = await products.create_product(call.res, call.actor, data, request_id=call.request_id)
    return ProductOut.from_record(doc)


@endpoint(
    "PUT",
    "/api/products/{id}",
    summary="Update a product (managers)",
    tag=TAG,
    access=Permission.MANAGE_PRODUCTS,
    body=ProductUpdateBody,
    response=ProductOut,
    errors=(404, 409),
    path_params=_PATH,
)
async def update_product(call: Call) -> ProductOut:
    """Fields left out keep their values; stock is changed by stock adjustments only."""
    body = call.body_as(ProductUpdateBody)
    data = products.ProductData.from_input(body)
    oid = call.oid("Product")
    doc = await products.update_product(call.res, call.actor, oid, data, request_id=call.request_id)
    return ProductOut.from_record(doc)


@endpoint(
    "DELETE",
    "/api/products/{id}",
    summary="Archive a product (managers)",
    tag=TAG,
    access=Permission.MANAGE_PRODUCTS,
    response=ProductOut,
    errors=(404,),
    path_params=_PATH,
)
async def archive_product(call: Call) -> ProductOut:
    """A soft delete: the product leaves the catalogue but old orders still show it.
    Returns the archived product."""
    oid = call.oid("Product")
    doc = await products.archive_product(call.res, call.actor, oid, request_id=call.request_id)
    return ProductOut.from_record(doc)


@endpoint(
    "GET",
    "/api/products/by-sku/{sku}",
    summary="One product by sku (case-insensitive)",
    tag=TAG,
    access="public",
    response=ProductOut,
    errors=(404,),
    path_params={"sku": "The product's sku; case and surrounding spaces are ignored."},
)
async def get_product_by_sku(call: Call) -> ProductOut:
    """Public; an archived product is a 404 except to managers, as for `GET /{id}`."""
    doc = await products.get_product_by_sku(call.res, call.actor, call.path["sku"])
    if doc is None:
        raise NotFound("No such product.", field="sku")
    return ProductOut.from_record(doc)


@endpoint(
    "GET",
    "/api/categories",
    summary="Categories with their product counts, by name",
    tag=TAG,
    access="public",
    response=CategoryOut,
    many=True,
)
async def list_categories(call: Call) -> list[CategoryOut]:
    """Public. Counts hold the products you may see (archived ones only for managers)."""
    rows = await products.list_categories(call.res, call.actor)
    return [CategoryOut.from_record(row) for row in rows]


@endpoint(
    "POST",
    "/api/products/{id}/restore",
    summary="Restore an archived product (managers)",
    tag=TAG,
    access=Permission.MANAGE_PRODUCTS,
    response=ProductOut,
    errors=(404,),
    path_params=_PATH,
)
async def restore_product(call: Call) -> ProductOut:
    """Undoes `DELETE /api/products/{id}`: the product is back in the catalogue with its
    stock as it was. Restoring a product that is not archived is a no-op."""
    oid = call.oid("Product")
    doc = await products.restore_product(call.res, call.actor, oid, request_id=call.request_id)
    return ProductOut.from_record(doc)


STOCK_KEY = Header(
    "Idempotency-Key",
    "Optional, 1-128 printable characters. A retry with the same key (and the same product, "
    "delta and reason) returns the first result without adjusting again; the same key for "
    "another adjustment is a 409. Keys are per user and kept for 24 hours.",
    max_length=128,
)


@endpoint(
    "POST",
    "/api/products/{id}/stock",
    summary="Adjust a product's stock (managers)",
    tag=TAG,
    access=Permission.MANAGE_PRODUCTS,
    body=StockAdjustmentBody,
    response=ProductOut,
    errors=(404, 409),
    headers=(STOCK_KEY,),
    path_params=_PATH,
)
async def adjust_stock(call: Call) -> ProductOut:
    """Adds `delta` (negative: removes) and records `reason` in the audit trail. Taking
    more than is in stock is a 409 `INSUFFICIENT_STOCK` (`details.available`)."""
    body = call.body_as(StockAdjustmentBody)
    doc = await products.adjust_stock(
        call.res,
        call.actor,
        call.oid("Product"),
        body.delta,
        body.reason,
        idempotency_key=call.request.headers.get("idempotency-key"),
        request_id=call.request_id,
    )
    return ProductOut.from_record(doc)

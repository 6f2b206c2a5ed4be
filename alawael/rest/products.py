"""Endpoints 8-12: the catalogue (public) and product writes (managers), through
alawael.services.products."""

from __future__ import annotations

from alawael.auth.permissions import Permission
from alawael.rest.models import ProductCreateBody, ProductListQuery, ProductOut, ProductUpdateBody
from alawael.rest.routing import Call, Paged, endpoint, page_args
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
_PATH = {"id": "A Product id (the GraphQL global id)."}


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

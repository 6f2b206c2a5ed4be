"""Correctness guard for the cold path's shortcuts (GRAPHQL_FAST_PATH: the order-page
prefetch, alawael.resolvers.prefetch; the leaf fast path and lean relation resolvers,
alawael.schema.fast_execution).

Every query runs through a schema built with the shortcuts and one built without them (plain
Strawberry execution, each relation through its own async resolver), with a fresh Context
each time, and the two responses (data and errors, serialized to JSON) must be byte-equal.
The data set has what tends to break shortcuts: nulls on nullable fields, fields hidden by
permission rules, archived and deleted products, errors inside a list, fragments, aliases,
variables and directives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import strawberry
from bson import ObjectId
from pymongo.errors import AutoReconnect

from alawael.auth.permissions import Actor, Role
from alawael.config import Settings
from alawael.context import Context, Resources
from alawael.infra.db import Document
from alawael.loaders.products import ProductByIdLoader
from alawael.schema.build import ErrorSchema, build_schema
from alawael.schema.fast_execution import FastLeafExecutionContext
from alawael.schema.node import to_global_id
from tests.support.graphql import make_user

DASHBOARD = """
query Dashboard {
  orders(first: 50) {
    edges {
      node {
        id number status total createdAt
        customer { id name email }
        items { sku name quantity lineTotal product { id name sku stock price } }
      }
    }
  }
}
"""

FRAGMENTS_ALIASES_VARIABLES = """
query Q($first: Int!, $status: OrderStatus, $withBuyer: Boolean!, $noItems: Boolean!) {
  recent: orders(first: $first, filter: {status: $status}, sort: {field: NUMBER, direction: ASC}) {
    nodes {
      __typename
      ...OrderBits
      buyer: customer @include(if: $withBuyer) { ...Who }
      again: customer { id }
    }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
  all: orders(last: 3) { edges { cursor node { number items @skip(if: $noItems) { sku } } } }
}
fragment OrderBits on Order {
  id number note status createdAt updatedAt subtotal total currency
  statusHistory { status at note by { id name } }
  items {
    ... on OrderItem { sku qty: quantity unitPrice lineTotal }
    product { ...ProductBits }
    again: product { id }
  }
}
fragment ProductBits on Product {
  id sku name description category price currency stock lowStockThreshold archived
  createdAt updatedAt
}
fragment Who on User { id name email phone role active locale createdAt }
"""

# A customer may read only their own notifications: every other customer's list is a
# FORBIDDEN error inside the orders list (with its path), beside the visible data.
ERRORS_IN_A_LIST = """
query {
  orders(first: 20) {
    edges { node {
      number
      customer {
        name
        notifications(first: 1) { edges { node { id } } }
        orders(first: 2) { nodes { number customer { email } items { product { sku } } } }
      }
    } }
  }
}
"""

SINGLE_ORDER = """
query One($id: ID!) {
  order(id: $id) { number note customer { name phone } items { product { sku archived } } }
  node(id: $id) { id ... on Order { customer { email } items { quantity product { name } } } }
}
"""

STATUS_FILTER = """
query { orders(first: 5, filter: {status: CANCELLED}) { nodes { number customer { id } } } }
"""


def _product(i: int, *, archived: bool = False) -> Document:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i)
    return {
        "_id": ObjectId(),
        "sku": f"SKU-{i}",
        "name": f"Product {i}",
        "description": "" if i % 2 else f"About {i}",
        "category": "tools" if i % 2 else "food",
        "priceCents": 1999 + i * 101,
        "currency": "SAR",
        "stock": i * 3,
        "archived": archived,
        "lowStockThreshold": 5,
        "createdAt": at,
        "updatedAt": at,
    }


def _order(i: int, user: ObjectId, editor: ObjectId, products: list[Document]) -> Document:
    at = datetime(2026, 2, 1, tzinfo=UTC) + timedelta(minutes=i)
    items = [
        {
            "productId": p["_id"],
            "sku": p["sku"],
            "name": p["name"],
            "unitPriceCents": p["priceCents"],
            "quantity": 1 + (i + n) % 3,
            "lineTotalCents": p["priceCents"] * (1 + (i + n) % 3),
        }
        for n, p in enumerate(products)
    ]
    total = sum(item["lineTotalCents"] for item in items)
    history = [{"status": "PENDING", "at": at, "byUserId": user, "note": None}]
    status = "PENDING"
    if i % 3 == 1:
        status = "CONFIRMED"
        history.append({"status": status, "at": at, "byUserId": editor, "note": "ok"})
    elif i % 3 == 2:
        status = "CANCELLED"
        history.append({"status": status, "at": at, "byUserId": user, "note": None})
    return {
        "_id": ObjectId(),
        "number": f"ORD-{i:06d}",
        "userId": user,
        "items": items,
        "subtotalCents": total,
        "totalCents": total,
        "currency": "SAR",
        "status": status,
        "statusHistory": history,
        "note": None if i % 2 else f"note {i}",
        "createdAt": at,
        "updatedAt": at + timedelta(seconds=i),
    }


async def _seed(resources: Resources) -> dict[str, Any]:
    staff = await make_user(resources, Role.STAFF, name="Staff Member")
    admin = await make_user(resources, Role.ADMIN, name="Admin")
    alice = await make_user(resources, Role.CUSTOMER, name="Alice")
    bob = await make_user(resources, Role.CUSTOMER, name="Bob")
    products = [_product(i, archived=i == 4) for i in range(6)]
    await resources.db.products.insert_many(products)
    gone = _product(99)  # ordered, then deleted: `product` is null
    customers = [ObjectId(alice.user_id), ObjectId(bob.user_id)]
    # A customer whose user document is gone: `customer` is null.
    customers.append(ObjectId())
    editor = ObjectId(staff.user_id)
    orders = []
    for i in range(24):
        lines = [products[i % 6], products[(i + 2) % 6]]
        if i % 5 == 0:
            lines.append(gone)
        orders.append(_order(i, customers[(i // 3) % 3], editor, lines))
    await resources.db.orders.insert_many(orders)
    await resources.db.notifications.insert_one(
        {
            "_id": ObjectId(),
            "userId": customers[0],
            "type": "ORDER_PLACED",
            "title": "placed",
            "body": "",
            "data": {},
            "read": False,
            "createdAt": datetime(2026, 3, 1, tzinfo=UTC),
        }
    )
    return {
        "actors": {"staff": staff, "admin": admin, "alice": alice, "bob": bob, "anonymous": None},
        "alice_order": to_global_id("Order", orders[0]["_id"]),
        "bob_order": to_global_id("Order", orders[1]["_id"]),
    }


@pytest.fixture
def schemas(settings: Settings) -> tuple[ErrorSchema, ErrorSchema]:
    fast = build_schema(settings)
    plain = build_schema(settings.model_copy(update={"graphql_fast_path": False}))
    assert fast.fast_path
    assert issubclass(fast.execution_context_class, FastLeafExecutionContext)
    assert not plain.fast_path
    assert not issubclass(plain.execution_context_class, FastLeafExecutionContext)
    # The relation fields got lean resolvers on the fast schema only.
    for type_name, field in (("Order", "customer"), ("OrderItem", "product")):
        lean = fast._schema.type_map[type_name].fields[field].resolve  # type: ignore[attr-defined]
        usual = plain._schema.type_map[type_name].fields[field].resolve  # type: ignore[attr-defined]
        assert lean.__name__ == "lean"
        assert usual.__name__ == "_resolver"
    return fast, plain


async def _run(
    schema: ErrorSchema,
    resources: Resources,
    query: str,
    variables: dict[str, Any] | None,
    user: Actor | None,
) -> bytes:
    result = await schema.execute(
        query, variable_values=variables, context_value=Context(resources=resources, user=user)
    )
    errors = [e.formatted for e in result.errors] if result.errors else None
    if errors:
        # The one allowed difference: the order of the errors list. Plain execution appends
        # errors as its concurrent resolvers finish, the fast path (now synchronous) in path
        # order; the spec leaves the order open. Each error must still be byte-identical.
        errors.sort(key=lambda e: (orjson.dumps(e.get("path")), e["message"]))
    return orjson.dumps({"data": result.data, "errors": errors})


async def _same(
    schemas: tuple[ErrorSchema, ErrorSchema],
    resources: Resources,
    query: str,
    variables: dict[str, Any] | None,
    user: Actor | None,
) -> dict[str, Any]:
    fast, plain = schemas
    got = await _run(fast, resources, query, variables, user)
    want = await _run(plain, resources, query, variables, user)
    assert got == want
    parsed: dict[str, Any] = orjson.loads(got)
    return parsed


async def test_dashboard_is_byte_identical(
    resources: Resources, schemas: tuple[ErrorSchema, ErrorSchema]
) -> None:
    seeded = await _seed(resources)
    out = await _same(schemas, resources, DASHBOARD, None, seeded["actors"]["admin"])
    edges = out["data"]["orders"]["edges"]
    assert len(edges) == 24
    assert out["errors"] is None
    products = [i["product"] for e in edges for i in e["node"]["items"]]
    assert None in products  # the deleted product
    assert any(p and p["sku"] == "SKU-4" for p in products)  # the archived one
    assert any(e["node"]["customer"] is None for e in edges)  # the deleted user


@pytest.mark.parametrize("who", ["staff", "alice", "bob", "anonymous"])
async def test_fragments_aliases_variables_and_visibility(
    resources: Resources, schemas: tuple[ErrorSchema, ErrorSchema], who: str
) -> None:
    seeded = await _seed(resources)
    user = seeded["actors"][who]
    for variables in (
        {"first": 10, "status": None, "withBuyer": True, "noItems": False},
        {"first": 3, "status": "CONFIRMED", "withBuyer": False, "noItems": True},
    ):
        out = await _same(schemas, resources, FRAGMENTS_ALIASES_VARIABLES, variables, user)
        if who == "anonymous":
            assert out["data"] is None
            assert {e["extensions"]["code"] for e in out["errors"]} == {"UNAUTHENTICATED"}
            continue
        nodes = out["data"]["recent"]["nodes"]
        assert nodes
        assert out["errors"] is None
        editors = [h["by"] for n in nodes for h in n["statusHistory"] if h["status"] != "PENDING"]
        if who == "staff":
            assert all(h is not None for h in editors if h)  # staff see the editor
        elif editors:
            # A customer sees who changed their own order only when it was themselves.
            assert all(e is None or e["name"] == who.capitalize() for e in editors)
        assert any(n["note"] is None for n in nodes) or variables["first"] == 3


@pytest.mark.parametrize("who", ["staff", "alice"])
async def test_errors_inside_a_list(
    resources: Resources, schemas: tuple[ErrorSchema, ErrorSchema], who: str
) -> None:
    seeded = await _seed(resources)
    out = await _same(schemas, resources, ERRORS_IN_A_LIST, None, seeded["actors"][who])
    if who == "staff":
        codes = {e["extensions"]["code"] for e in out["errors"]}
        assert codes == {"FORBIDDEN"}
        assert all(e["path"][:2] == ["orders", "edges"] for e in out["errors"])
    assert out["data"]["orders"]["edges"]


@pytest.mark.parametrize("who", ["staff", "alice", "bob"])
async def test_single_order_and_node_take_the_unprefetched_path(
    resources: Resources, schemas: tuple[ErrorSchema, ErrorSchema], who: str
) -> None:
    seeded = await _seed(resources)
    user = seeded["actors"][who]
    for key in ("alice_order", "bob_order"):
        await _same(schemas, resources, SINGLE_ORDER, {"id": seeded[key]}, user)
    await _same(schemas, resources, STATUS_FILTER, None, user)
    await _same(schemas, resources, "query { orders(first: 0) { nodes { id } } }", None, user)


# --- the leaf fast path's fallbacks, on a schema of its own ----------------------------


@strawberry.type
class Odd:
    name: str  # set to None below: a null on a non-null field
    maybe: str | None
    count: int  # set to a str below: the serializer fails


@strawberry.type
class OddQuery:
    @strawberry.field
    def odds(self) -> list[Odd | None]:
        return [
            Odd(name="ok", maybe=None, count=1),
            Odd(name=None, maybe="x", count=2),  # type: ignore[arg-type]
            Odd(name="bad count", maybe=None, count="many"),  # type: ignore[arg-type]
        ]


async def test_leaf_fallbacks_report_graphql_cores_errors() -> None:
    fast = strawberry.Schema(query=OddQuery, execution_context_class=FastLeafExecutionContext)
    plain = strawberry.Schema(query=OddQuery)
    query = "{ odds { name maybe count } more: odds { maybe } }"
    got, want = await fast.execute(query), await plain.execute(query)
    assert got.data == want.data
    assert got.errors is not None
    assert want.errors is not None
    assert [e.formatted for e in got.errors] == [e.formatted for e in want.errors]
    assert len(got.errors) == 2  # name (null) and count (not an Int); `more` is fine


async def test_a_failing_prefetch_answers_as_plain_execution(
    resources: Resources,
    schemas: tuple[ErrorSchema, ErrorSchema],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MongoDB failing under the products `$in`: the prefetch gives up and each product field
    fails by itself, as in plain execution (not the whole `orders` field)."""
    seeded = await _seed(resources)

    async def unreachable(self: ProductByIdLoader, keys: Any) -> list[Any]:
        raise AutoReconnect("connection refused")

    monkeypatch.setattr(ProductByIdLoader, "batch_load_fn", unreachable)
    out = await _same(schemas, resources, DASHBOARD, None, seeded["actors"]["staff"])
    assert len(out["data"]["orders"]["edges"]) == 24
    assert {e["extensions"]["code"] for e in out["errors"]} == {"SERVICE_UNAVAILABLE"}

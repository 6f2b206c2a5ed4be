"""The operations the bench sends (the dashboard is the reference query)."""

from __future__ import annotations

import random
from typing import Any

import orjson

# The admin dashboard: the latest 50 orders with their customer and each line's product.
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

PRODUCT_BY_SKU = (
    "query BySku($sku: String!) { productBySku(sku: $sku) { id sku name price stock } }"
)

PRODUCTS_20 = """
query Products { products(first: 20) { edges { node { id sku name price stock category } } } }
"""

PLACE_ORDER = """
mutation Place($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id number total } errors { code } }
}
"""


def body(query: str, variables: dict[str, Any] | None = None) -> bytes:
    return orjson.dumps({"query": query, "variables": variables or {}})


def place_order_bodies(product_ids: list[str], count: int = 200) -> list[bytes]:
    """One or two lines over the stocked-up products, fixed seed."""
    rng = random.Random(7)
    out = []
    for _ in range(count):
        chosen = rng.sample(product_ids, rng.randint(1, 2))
        items = [{"productId": pid, "quantity": rng.randint(1, 3)} for pid in chosen]
        out.append(body(PLACE_ORDER, {"input": {"items": items}}))
    return out

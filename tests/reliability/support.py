"""Helpers shared by the reliability scenarios: real users with real tokens, GraphQL over
HTTP, server processes on the test database, and the invariant checker every scenario
ends with ("nothing lost, nothing half-written")."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from bson import ObjectId

from alawael.auth.permissions import Actor, Role
from alawael.auth.sessions import create_session
from alawael.auth.tokens import issue_access_token
from alawael.config import Settings
from alawael.context import Resources
from alawael.schema.node import to_global_id
from alawael.services import products
from tests.support.graphql import make_user
from tests.support.processes import ServerProcess

PLACE_ORDER = """
mutation Place($input: PlaceOrderInput!, $key: String) {
  placeOrder(input: $input, idempotencyKey: $key) {
    order { id number total items { quantity lineTotal } }
    errors { code field message }
  }
}
"""

MANAGER = Actor(user_id="0" * 24, role=Role.MANAGER)


@dataclass
class User:
    actor: Actor
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_token_user(res: Resources, role: Role = Role.CUSTOMER, **kw: Any) -> User:
    """A user with a live session and a signed access token, as login would give."""
    actor = await make_user(res, role, **kw)
    session, _ = await create_session(res, ObjectId(actor.user_id), user_agent="rel", ip=None)
    token = issue_access_token(
        res.settings, user_id=actor.user_id, role=role, session_id=str(session["_id"])
    )
    return User(Actor(actor.user_id, role, str(session["_id"])), token)


async def make_product(
    res: Resources, sku: str, stock: int, price_cents: int = 1250, name: str | None = None
) -> ObjectId:
    doc = await products.create_product(
        res,
        MANAGER,
        products.ProductData(
            sku=sku, name=name or f"Item {sku}", price_cents=price_cents, stock=stock
        ),
    )
    oid: ObjectId = doc.id
    return oid


def order_input(lines: list[tuple[ObjectId, int]], note: str | None = None) -> dict[str, Any]:
    return {
        "input": {
            "items": [
                {"productId": to_global_id("Product", pid), "quantity": q} for pid, q in lines
            ],
            "note": note,
        }
    }


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    user: User | None = None,
    url: str = "/graphql",
) -> httpx.Response:
    return await client.post(
        url,
        json={"query": query, "variables": variables or {}},
        headers=user.headers if user else {},
    )


def server_env(settings: Settings, redis_url: str | None, **extra: str) -> dict[str, str]:
    """Environment for a server process on the same database as `settings`."""
    assert settings.mongodb_uri is not None
    env = {
        "MONGODB_URI": settings.mongodb_uri,
        "MONGODB_DB": settings.mongodb_db,
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "RATE_LIMIT_ENABLED": "false",
        "JOBS_ENABLED": "false",
        "ANALYTICS_ENABLED": "false",
        "EVENTS_CHANNEL_PREFIX": f"rel{uuid.uuid4().hex[:8]}:",
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_COST": "8",
        "PASSWORD_HASH_PARALLELISM": "1",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


async def start_servers(envs: list[dict[str, str]], logs: Path) -> list[ServerProcess]:
    servers = [ServerProcess(env, log_path=logs / f"server{i}.log") for i, env in enumerate(envs)]
    started = await asyncio.gather(
        *(asyncio.to_thread(s.start, 90.0) for s in servers), return_exceptions=True
    )
    failures = [s for s in started if isinstance(s, BaseException)]
    if failures:
        for server in servers:
            server.stop()
        raise failures[0]
    return servers


@dataclass
class Checked:
    """What the invariant check looked at (reported by the scenarios)."""

    products: int = 0
    orders: int = 0
    audit_entries: int = 0
    idempotency_records: int = 0
    problems: list[str] = field(default_factory=list)


async def check_invariants(
    res: Resources,
    *,
    initial_stock: dict[ObjectId, int] | None = None,
    every_order_audited: bool = True,
) -> Checked:
    """Stock never negative; every order complete and arithmetically consistent; one
    placeOrder audit entry per order and none for orders that don't exist; every
    idempotency record points at its order; stock + ordered == initial (when given)."""
    db = res.db
    out = Checked()
    stock: dict[ObjectId, int] = {}
    async for p in db.products.find({}, {"stock": 1, "sku": 1}):
        out.products += 1
        stock[p["_id"]] = p["stock"]
        if not isinstance(p["stock"], int) or p["stock"] < 0:
            out.problems.append(f"product {p['sku']} has stock {p['stock']!r}")
    ordered: dict[ObjectId, int] = defaultdict(int)
    order_ids: set[ObjectId] = set()
    async for o in db.orders.find({}):
        out.orders += 1
        order_ids.add(o["_id"])
        items = o.get("items") or []
        if not items:
            out.problems.append(f"order {o['_id']} has no items")
        for item in items:
            if item["quantity"] < 1 or item["lineTotalCents"] != (
                item["unitPriceCents"] * item["quantity"]
            ):
                out.problems.append(f"order {o['_id']} has an inconsistent line {item}")
            if o["status"] != "CANCELLED":
                ordered[item["productId"]] += item["quantity"]
        subtotal = sum(item["lineTotalCents"] for item in items)
        if o.get("subtotalCents") != subtotal or o.get("totalCents") != subtotal:
            out.problems.append(f"order {o['_id']} totals do not add up")
        if not o.get("number", "").startswith("ORD-"):
            out.problems.append(f"order {o['_id']} has no number")
    audited: Counter[Any] = Counter()
    async for a in db.audit_trail.find({"action": "placeOrder"}, {"entityId": 1}):
        out.audit_entries += 1
        audited[a["entityId"]] += 1
    if every_order_audited:
        for oid in order_ids:
            if audited[oid] != 1:
                out.problems.append(f"order {oid} has {audited[oid]} placeOrder audit entries")
    for oid in audited:
        if oid not in order_ids:
            out.problems.append(f"audit entry for order {oid} that does not exist")
    async for rec in db.idempotency.find({}):
        out.idempotency_records += 1
        result = rec.get("result") or {}
        if "orderId" in result and result["orderId"] not in order_ids:
            out.problems.append(f"idempotency record {rec['_id']} without its order")
    if initial_stock is not None:
        for pid, initial in initial_stock.items():
            if stock.get(pid, 0) + ordered[pid] != initial:
                out.problems.append(
                    f"product {pid}: stock {stock.get(pid)} + ordered {ordered[pid]} "
                    f"!= initial {initial}"
                )
    return out

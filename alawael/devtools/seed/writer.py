"""Writing the demo data set: refuse over existing data, bulk-insert, rebuild indexes."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from tqdm import tqdm

from alawael.auth.passwords import hash_password
from alawael.devtools.seed.builder import _Builder
from alawael.devtools.seed.data import (
    ADMIN_EMAIL,
    ALL_COLLECTIONS,
    CACHE_SCOPES,
    CHUNK,
    CUSTOMERS,
    DATA_COLLECTIONS,
    DEMO_CUSTOMER_EMAIL,
    DEMO_PASSWORD,
)
from alawael.infra.db import Document
from alawael.infra.indexes import ensure_indexes
from alawael.infra.resources import Resources
from alawael.services.search import with_keys
from alawael.shared.errors import Conflict


class SeedRefused(Conflict):
    """The database already holds data and `reset` was not asked for."""


@dataclass
class SeedSummary:
    seed: int
    counts: dict[str, int]
    seconds: float
    logins: list[tuple[str, str]] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"Seeded the demo data set (seed {self.seed}) in {self.seconds:.1f} s:"]
        lines += [f"  {name:<15}{count:>7,}" for name, count in self.counts.items()]
        lines.append(f"Demo logins (password {DEMO_PASSWORD}):")
        lines += [f"  {role:<9} {email}" for role, email in self.logins]
        return "\n".join(lines)


async def _existing(res: Resources) -> dict[str, int]:
    found: dict[str, int] = {}
    for name in DATA_COLLECTIONS:
        count = await res.db[name].count_documents({}, limit=1)
        if count:
            found[name] = count
    return found


async def _drop_secondary_indexes(res: Resources, names: Sequence[str]) -> None:
    """Drop the non-unique indexes of `names` for the bulk load (ensure_indexes rebuilds
    them afterwards). The embedded database maintains each index per inserted document;
    building them once at the end halves the load time. Unique indexes stay: they are
    integrity rules, not speed-ups."""
    for name in names:
        async for index in await res.db[name].list_indexes():
            if index["name"] != "_id_" and not index.get("unique", False):
                await res.db[name].drop_index(index["name"])


async def _insert(res: Resources, name: str, docs: list[Document], bar: Any) -> None:
    for start in range(0, len(docs), CHUNK):
        chunk = docs[start : start + CHUNK]
        await res.db[name].insert_many(chunk, ordered=False)
        bar.update(len(chunk))


async def seed_database(
    res: Resources,
    *,
    seed: int = 42,
    orders: int = 1000,
    products: int = 200,
    reset: bool = False,
    progress: bool = True,
    now: datetime | None = None,
    customers: int = CUSTOMERS,
    echo: bool = True,
    out: TextIO | None = None,
) -> SeedSummary:
    """Fill the database with the demo data set and print a summary (to `out`, default
    stdout, unless `echo` is false). `now` pins the clock, for byte-identical data sets.

    Refuses (SeedRefused, code CONFLICT) when users, products, orders, notifications or
    flags already exist, unless `reset` drops every collection first."""
    if orders < 0 or products < 1 or customers < 1:
        raise ValueError("products and customers must be positive, orders not negative")
    started = time.perf_counter()
    if reset:
        for name in ALL_COLLECTIONS:
            await res.db.drop_collection(name)
    else:
        existing = await _existing(res)
        if existing:
            listed = ", ".join(sorted(existing))
            raise SeedRefused(
                f"The database {res.settings.mongodb_db!r} already holds data ({listed}); "
                "seeding again would duplicate it. Run `alawael seed --reset` to drop "
                "everything and start over."
            )
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    # One argon2 hash shared by every demo user: hashing is deliberately slow.
    builder = _Builder(seed, moment, await hash_password(res.settings, DEMO_PASSWORD))
    builder.build_users(customers)
    builder.build_products(products)
    builder.build_flags()
    builder.build_orders(orders)
    builder.build_staff_notifications()
    builder.build_analytics(max(200, orders))

    plan: list[tuple[str, list[Document]]] = [
        ("users", with_keys("users", builder.users, builder.users)),
        ("products", with_keys("products", builder.products, builder.users)),
        ("feature_flags", builder.flags),
        ("orders", with_keys("orders", builder.orders, builder.users)),
        ("notifications", builder.notifications),
        ("analytics", builder.analytics),
        ("audit_trail", builder.audit),
    ]
    await _drop_secondary_indexes(res, [name for name, _ in plan])
    with tqdm(
        total=sum(len(docs) for _, docs in plan),
        desc="seeding",
        unit="doc",
        disable=not progress,
        file=sys.stderr,
    ) as bar:
        for name, docs in plan:
            bar.set_postfix_str(name)
            await _insert(res, name, docs, bar)
        bar.set_postfix_str("indexes")
        # force: ensure_indexes skips work when its marker says the set exists, and we
        # just dropped part of it.
        await ensure_indexes(res.db, force=True)  # the keys are in the documents already
    await res.db.counters.replace_one(
        {"_id": "orders"}, {"_id": "orders", "seq": len(builder.orders)}, upsert=True
    )
    # A running server (sharing Redis) must not keep serving pre-seed cached answers.
    await res.cache.bump(*CACHE_SCOPES)

    summary = SeedSummary(
        seed=seed,
        counts={name: len(docs) for name, docs in plan} | {"counters": 1},
        seconds=time.perf_counter() - started,
        logins=[
            ("ADMIN", ADMIN_EMAIL),
            ("MANAGER", "manager1@alawael.example"),
            ("STAFF", "staff1@alawael.example"),
            ("CUSTOMER", DEMO_CUSTOMER_EMAIL),
        ],
    )
    if echo:
        print(summary.render(), file=out or sys.stdout)
    return summary

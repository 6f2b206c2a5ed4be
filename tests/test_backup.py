"""Backups: a dump under a write load restores byte-for-byte (documents and indexes, TTL
included), at one point in time; restores refuse damage and non-empty targets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bson import BSON, Binary, Decimal128, Int64, ObjectId
from bson.raw_bson import RawBSONDocument
from pymongo import AsyncMongoClient

from alawael.context import Resources
from alawael.infra.backup.dump import dump_database, raw_collection
from alawael.infra.backup.layout import Manifest, iter_bson, read_metadata
from alawael.infra.backup.restore import RestoreError, restore_backup
from alawael.infra.db import Db, Document
from alawael.infra.indexes import ensure_indexes
from tests.support.polling import eventually

NOW = datetime.now(UTC)


async def _snapshot(db: Db) -> dict[str, tuple[dict[Any, bytes], list[bytes]]]:
    """Every collection as {_id: raw BSON} plus its index definitions as BSON bytes."""
    out: dict[str, tuple[dict[Any, bytes], list[bytes]]] = {}
    for name in sorted(await db.list_collection_names()):
        docs: dict[Any, bytes] = {}
        async for doc in raw_collection(db, name).find({}):
            docs[_key(doc)] = doc.raw
        indexes = sorted(
            [
                BSON.encode({k: v for k, v in spec.items() if k != "ns"})
                async for spec in await db[name].list_indexes()
            ]
        )
        out[name] = (docs, indexes)
    return out


def _key(doc: RawBSONDocument) -> Any:
    value = doc["_id"]
    return repr(value) if isinstance(value, dict | list | RawBSONDocument) else value


async def _fill(db: Db) -> None:
    """Data of every collection the app has, with BSON types that drift if decoded."""
    await ensure_indexes(db, force=True)
    await db.users.insert_many(
        [
            {"email": f"u{i}@x.example", "phone": f"+9665{i:08d}", "createdAt": NOW}
            for i in range(50)
        ]
    )
    await db.products.insert_many(
        [
            {
                "sku": f"SKU-{i}",
                "name": f"P{i}",
                "category": "c",
                "priceCents": Int64(1000 + i),
                "ratio": 0.1 * i,
                "dec": Decimal128(Decimal("1.10")),
                "blob": Binary(b"\x00\x01" * i),
                "nested": {"b": 1, "a": [1, {"z": None}]},  # key order must survive
                "stock": i,
                "createdAt": NOW,
            }
            for i in range(80)
        ]
    )
    await db.sessions.insert_many(
        [{"userId": ObjectId(), "expireAt": NOW + timedelta(hours=1)} for _ in range(30)]
    )
    await db.analytics.insert_many(
        [{"apiEndpoint": "graphql:Q", "timestamp": NOW - timedelta(minutes=i)} for i in range(60)]
    )
    await db.audit_trail.insert_one({"userId": ObjectId(), "timestamp": NOW, "entity": "x"})
    await db.idempotency.insert_one({"_id": "k", "expireAt": NOW + timedelta(days=1)})


async def _writer(db: Db, client: AsyncMongoClient[Document], stop: asyncio.Event) -> int:
    """Moves stock between two products and logs each move in orders, in one transaction
    each: any single point in time has total stock 1000 and one order per move."""
    await db.products.insert_many(
        [{"_id": "left", "sku": "L", "stock": 1000}, {"_id": "right", "sku": "R", "stock": 0}]
    )
    moves = 0
    while not stop.is_set():
        async with client.start_session() as session, await session.start_transaction():
            await db.products.update_one({"_id": "left"}, {"$inc": {"stock": -1}}, session=session)
            await db.products.update_one({"_id": "right"}, {"$inc": {"stock": 1}}, session=session)
            await db.orders.insert_one(
                {"number": 10_000 + moves, "move": moves, "createdAt": NOW}, session=session
            )
        moves += 1
        await asyncio.sleep(0)
    return moves


@pytest.fixture
async def scratch(resources: Resources) -> AsyncIterator[str]:
    name = f"{resources.settings.mongodb_db}_restored"
    yield name
    await resources.client.drop_database(name)


async def test_a_backup_under_write_load_restores_every_document_and_index_identically(
    resources: Resources, tmp_path: Path
) -> None:
    db, client = resources.db, resources.client
    await _fill(db)
    stop = asyncio.Event()
    writer = asyncio.create_task(_writer(db, client, stop))

    # The dump starts only once the writer is busy, and the writer keeps going after.
    async def moved(n: int) -> bool:
        return await db.orders.count_documents({}) >= n

    await eventually(lambda: moved(20), what="the writer is busy")
    manifest = await dump_database(client, db.name, tmp_path / "b")
    during = await db.orders.count_documents({})
    await eventually(lambda: moved(during + 20), what="the writer went on after the dump")
    stop.set()
    await writer
    assert manifest.consistency == "transaction"  # SecantusDB: see alawael.infra.backup.dump

    # One point in time: the two stock counters and the move log agree in the dump.
    dumped = {
        name: [RawBSONDocument(raw) for raw in iter_bson(tmp_path / "b" / db.name / f"{name}.bson")]
        for name in ("products", "orders")
    }
    pair = {d["_id"]: d["stock"] for d in dumped["products"] if d["_id"] in ("left", "right")}
    moves_in_dump = [d["move"] for d in dumped["orders"]]
    assert pair["left"] + pair["right"] == 1000
    assert sorted(moves_in_dump) == list(range(pair["right"]))
    assert 0 < pair["right"] < await db.orders.count_documents({})  # writes before and after

    # The live state as of the dump: now minus what the writer did after its point in time.
    live = await _snapshot(db)
    orders, order_indexes = live["orders"]
    expected_orders = {
        k: v for k, v in orders.items() if RawBSONDocument(v)["move"] < pair["right"]
    }
    live["orders"] = (expected_orders, order_indexes)
    products, _ = live["products"]
    for key in ("left", "right"):
        products[key] = next(d.raw for d in dumped["products"] if d["_id"] == key)

    await client.drop_database(db.name)  # the disaster
    report = await restore_backup(client, tmp_path / "b", verify=True)
    assert report.ok, report.problems
    restored = await _snapshot(db)
    assert restored.keys() == live.keys()
    for name, (docs, indexes) in live.items():
        assert restored[name][1] == indexes, name  # same definitions, TTL included
        assert restored[name][0] == docs, name  # every document, byte for byte
    ttl = {
        spec["name"]: spec["expireAfterSeconds"]
        async for spec in await db.sessions.list_indexes()
        if "expireAfterSeconds" in spec
    }
    assert ttl == {"ttl_expire_at": 0}


async def test_gzip_backup_is_mongodump_shaped_and_verifies(
    resources: Resources, tmp_path: Path, scratch: str
) -> None:
    await _fill(resources.db)
    manifest = await dump_database(resources.client, resources.db.name, tmp_path / "b", gz=True)
    data = tmp_path / "b" / resources.db.name
    meta = read_metadata(data / "analytics.metadata.json.gz")
    assert meta["collectionName"] == "analytics"
    assert meta["type"] == "collection"
    assert {"name": "ttl_90d", "expireAfterSeconds": 90 * 86400}.items() <= next(
        i for i in meta["indexes"] if i["name"] == "ttl_90d"
    ).items()
    # canonical Extended JSON, as mongodump writes it: the int32 type of `v` survives
    raw_meta = json.loads(__import__("gzip").open(data / "users.metadata.json.gz").read())
    assert raw_meta["indexes"][0]["v"] == {"$numberInt": "2"}
    assert len(list(iter_bson(data / "products.bson.gz"))) == manifest.entry("products").count
    on_disk = Manifest.read(tmp_path / "b")
    assert on_disk.entry("users").count == 50
    report = await restore_backup(resources.client, tmp_path / "b", target_db=scratch, verify=True)
    assert report.verified
    assert report.ok, report.problems


async def test_restore_refuses_a_damaged_backup_and_a_non_empty_target(
    resources: Resources, tmp_path: Path, scratch: str
) -> None:
    await _fill(resources.db)
    await dump_database(resources.client, resources.db.name, tmp_path / "b")
    with pytest.raises(RestoreError, match="already holds documents"):
        await restore_backup(resources.client, tmp_path / "b")  # over the live data
    bson_file = tmp_path / "b" / resources.db.name / "users.bson"
    bson_file.write_bytes(bson_file.read_bytes()[:-1] + b"\x01")
    with pytest.raises(RestoreError, match="SHA-256"):
        await restore_backup(resources.client, tmp_path / "b", target_db=scratch)
    assert scratch not in await resources.client.list_database_names()


async def test_verify_reports_a_database_that_differs_from_the_backup(
    resources: Resources, tmp_path: Path, scratch: str
) -> None:
    from alawael.infra.backup.restore import verify_database

    await _fill(resources.db)
    manifest = await dump_database(resources.client, resources.db.name, tmp_path / "b")
    await restore_backup(resources.client, tmp_path / "b", target_db=scratch)
    target = resources.client[scratch]
    await target.products.update_one({"sku": "SKU-3"}, {"$set": {"stock": 99}})
    await target.sessions.drop_index("ttl_expire_at")
    problems = await verify_database(target, tmp_path / "b" / resources.db.name, manifest)
    assert problems == [
        "products: documents differ from the backup (SHA-256)",
        "sessions: index ttl_expire_at differs from the backup",
    ]

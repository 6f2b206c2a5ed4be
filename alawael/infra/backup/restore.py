"""`alawael restore`: a backup's documents and indexes back into a database.

The backup's files are checked against the manifest's SHA-256 before anything is touched,
so a damaged backup never half-replaces a database. Each collection is created with its
options, filled in batches of raw BSON (never decoded, so every document goes back
byte-for-byte), then given its indexes from `<collection>.metadata.json`, TTL included:
building indexes after the data is faster, as mongorestore does.

The `meta` collection's index marker is restored like any document: it names the UUIDs of
the collections it vouched for (alawael.infra.db.ensure_indexes), and restored collections have
new ones, so a server starting on the restored database checks its indexes again.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bson.raw_bson import RawBSONDocument
from pymongo import AsyncMongoClient

from alawael.infra.backup.dump import raw_collection
from alawael.infra.backup.layout import (
    Manifest,
    bson_name,
    iter_bson,
    metadata_name,
    read_metadata,
    sha256_file,
)
from alawael.infra.db import Db, Document

BATCH_DOCUMENTS = 1000
BATCH_BYTES = 4 * 1024 * 1024  # well under the 48 MB wire message limit


class RestoreError(Exception):
    """The backup is damaged, or the target is not empty and --drop was not given."""


@dataclass
class RestoreReport:
    database: str
    collections: int = 0
    documents: int = 0
    indexes: int = 0
    seconds: float = 0.0
    verified: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_files(source: Path, manifest: Manifest) -> list[str]:
    """Every file the manifest lists exists and has its SHA-256."""
    problems: list[str] = []
    for entry in manifest.collections:
        for rel, expected in entry.files.items():
            path = source / rel
            if not path.is_file():
                problems.append(f"{rel}: missing")
            elif sha256_file(path) != expected:
                problems.append(f"{rel}: SHA-256 differs from the manifest")
    return problems


def _index_specs(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    # The `_id` index comes with the collection; mongorestore skips it the same way.
    return [dict(spec) for spec in metadata.get("indexes", []) if spec.get("name") != "_id_"]


async def _insert_all(db: Db, name: str, path: Path) -> int:
    collection = raw_collection(db, name)
    batch: list[RawBSONDocument] = []
    size = count = 0
    for raw in iter_bson(path):
        batch.append(RawBSONDocument(raw))
        size += len(raw)
        if len(batch) >= BATCH_DOCUMENTS or size >= BATCH_BYTES:
            await collection.insert_many(batch, ordered=True)
            count += len(batch)
            batch, size = [], 0
    if batch:
        await collection.insert_many(batch, ordered=True)
        count += len(batch)
    return count


async def restore_backup(
    client: AsyncMongoClient[Document],
    source: Path,
    *,
    target_db: str | None = None,
    drop: bool = False,
    verify: bool = False,
) -> RestoreReport:
    started = time.perf_counter()
    manifest = Manifest.read(source)
    name = target_db or manifest.database
    db = client[name]
    report = RestoreReport(database=name)
    damaged = await asyncio.to_thread(check_files, source, manifest)
    if damaged:
        raise RestoreError("the backup is damaged: " + "; ".join(damaged))
    existing = set(await db.list_collection_names())
    if not drop:
        for entry in manifest.collections:
            if entry.name in existing and await db[entry.name].estimated_document_count():
                raise RestoreError(
                    f"{name}.{entry.name} already holds documents: "
                    "restore with --drop to replace them, or into another --target-db"
                )
    data = source / manifest.database
    for entry in manifest.collections:
        metadata = read_metadata(data / metadata_name(entry.name, gz=manifest.gzip))
        if drop and entry.name in existing:
            await db.drop_collection(entry.name)
            existing.discard(entry.name)
        if entry.name not in existing:
            await db.create_collection(entry.name, **dict(metadata.get("options") or {}))
        report.documents += await _insert_all(
            db, entry.name, data / bson_name(entry.name, gz=manifest.gzip)
        )
        specs = _index_specs(metadata)
        if specs:
            await db.command("createIndexes", entry.name, indexes=specs)
        report.indexes += len(specs)
        report.collections += 1
    if verify:
        report.problems = await verify_database(db, data, manifest)
        report.verified = True
    report.seconds = round(time.perf_counter() - started, 3)
    return report


async def verify_database(db: Db, data: Path, manifest: Manifest) -> list[str]:
    """Compare a database with a backup: per collection the document count, the SHA-256 of
    all documents re-read in `_id` order (equal to the manifest's only if every document
    came back byte-for-byte), and the index definitions."""
    problems: list[str] = []
    for entry in manifest.collections:
        collection = raw_collection(db, entry.name)
        digest, count = hashlib.sha256(), 0
        async for doc in collection.find({}).sort("_id", 1).hint([("_id", 1)]):
            digest.update(doc.raw)
            count += 1
        if count != entry.count:
            problems.append(f"{entry.name}: {count} documents, the manifest says {entry.count}")
        elif digest.hexdigest() != entry.bson_sha256:
            problems.append(f"{entry.name}: documents differ from the backup (SHA-256)")
        metadata = read_metadata(data / metadata_name(entry.name, gz=manifest.gzip))
        want = {spec["name"]: spec for spec in metadata.get("indexes", [])}
        have = {
            spec["name"]: {k: v for k, v in spec.items() if k != "ns"}
            async for spec in await db[entry.name].list_indexes()
        }
        for index_name in sorted(want.keys() | have.keys()):
            if want.get(index_name) != have.get(index_name):
                problems.append(f"{entry.name}: index {index_name} differs from the backup")
    return problems

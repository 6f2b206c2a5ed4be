"""`alawael backup`: every collection of one database, read at one point in time.

How the point in time is obtained depends on the server (`consistency_mode`):

- `transaction`: SecantusDB. It accepts `snapshot=True` sessions but does not honour them
  (measured on 0.7: a read in such a session saw an insert made after the session's first
  read, and `atClusterTime` is ignored), while its multi-document transactions are
  WiredTiger snapshot transactions. So the dump reads everything inside one read-only
  transaction (read concern "snapshot"), which is aborted at the end. SecantusDB reaps a
  transaction only after 60 s *idle*, and the dump never idles.
- `snapshot-session`: MongoDB 5.0+ replica sets and clusters: a `snapshot=True` session
  pins every read to the cluster time of the first one (mongod keeps that history for
  `minSnapshotHistoryWindowInSeconds`, 300 s by default: a longer dump fails with
  SnapshotTooOld rather than silently mixing times).
- `none`: a standalone mongod or an older server: each collection is read on its own and
  the dump is consistent per document only.

The catalogue (collections, options, indexes) is read just before the data, outside the
snapshot: listCollections/listIndexes are not allowed in a transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.read_concern import ReadConcern

from alawael.infra.backup.layout import (
    PARTIAL_SUFFIX,
    CollectionEntry,
    Manifest,
    bson_name,
    metadata_document,
    metadata_name,
    open_write,
    sha256_file,
)
from alawael.infra.db import Db, Document

# Raw BSON in, raw BSON out: documents are never decoded, so the file holds the bytes the
# server sent (no type drift through Python values) and dumping costs little CPU.
RAW: CodecOptions[RawBSONDocument] = CodecOptions(document_class=RawBSONDocument)


def raw_collection(db: Db, name: str) -> AsyncCollection[RawBSONDocument]:
    # pymongo types get_collection() with the database's document class whatever the
    # codec options say; the cast states what RAW makes it return.
    return cast("AsyncCollection[RawBSONDocument]", db.get_collection(name, codec_options=RAW))


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    options: dict[str, Any]
    indexes: list[dict[str, Any]]
    uuid: str | None


async def consistency_mode(client: AsyncMongoClient[Document]) -> str:
    """Which way of reading one point in time this server offers (see the module doc)."""
    info = await client.admin.command("buildInfo")
    if "secantusVersion" in info:
        return "transaction"
    hello = await client.admin.command("hello")
    version = list(info.get("versionArray") or [0])
    replicated = bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"
    return "snapshot-session" if replicated and int(version[0]) >= 5 else "none"


async def read_catalogue(client: AsyncMongoClient[Document], db_name: str) -> list[CollectionInfo]:
    """Plain collections with their options and indexes (views and system.* are skipped:
    a view holds no data, and the system collections belong to the server)."""
    db = client[db_name]
    out: list[CollectionInfo] = []
    async for info in await db.list_collections():
        name = str(info["name"])
        if info.get("type", "collection") != "collection" or name.startswith("system."):
            continue
        indexes: list[dict[str, Any]] = []
        async for spec in await db[name].list_indexes():
            # mongorestore drops `ns` itself; older servers still send it.
            indexes.append({k: v for k, v in spec.items() if k != "ns"})
        uuid = (info.get("info") or {}).get("uuid")
        out.append(
            CollectionInfo(
                name=name,
                options=dict(info.get("options") or {}),
                indexes=indexes,
                uuid=uuid.hex() if isinstance(uuid, bytes) else None,
            )
        )
    return sorted(out, key=lambda c: c.name)


@contextlib.asynccontextmanager
async def snapshot_session(
    client: AsyncMongoClient[Document], mode: str
) -> AsyncIterator[AsyncClientSession | None]:
    """A session whose reads all see one point in time (None for mode "none")."""
    if mode == "none":
        yield None
        return
    if mode == "snapshot-session":
        async with client.start_session(snapshot=True) as session:
            yield session
        return
    async with client.start_session() as session:
        await session.start_transaction(read_concern=ReadConcern("snapshot"))
        try:
            yield session
        finally:
            # Nothing was written: aborting just releases the snapshot.
            with contextlib.suppress(Exception):
                await session.abort_transaction()


async def dump_collection(
    client: AsyncMongoClient[Document],
    db_name: str,
    info: CollectionInfo,
    directory: Path,
    *,
    gz: bool,
    session: AsyncClientSession | None,
) -> CollectionEntry:
    """Write one collection's documents in `_id` order (so two dumps of the same data are
    byte-identical, and a restored collection re-reads to the same checksum)."""
    collection = raw_collection(client[db_name], info.name)
    digest, count, size = hashlib.sha256(), 0, 0
    bson_path = directory / bson_name(info.name, gz=gz)
    with open_write(bson_path, gz=gz) as out:
        cursor = collection.find({}, session=session).sort("_id", 1).hint([("_id", 1)])
        async for doc in cursor:
            raw = doc.raw
            out.write(raw)
            digest.update(raw)
            count += 1
            size += len(raw)
    meta_path = directory / metadata_name(info.name, gz=gz)
    with open_write(meta_path, gz=gz) as out:
        out.write(metadata_document(info.name, info.options, info.indexes, info.uuid).encode())
    rel = directory.name
    return CollectionEntry(
        name=info.name,
        count=count,
        bson_bytes=size,
        bson_sha256=digest.hexdigest(),
        files={
            f"{rel}/{bson_path.name}": await asyncio.to_thread(sha256_file, bson_path),
            f"{rel}/{meta_path.name}": await asyncio.to_thread(sha256_file, meta_path),
        },
    )


async def dump_database(
    client: AsyncMongoClient[Document], db_name: str, out: Path, *, gz: bool = False
) -> Manifest:
    """Dump `db_name` into the directory `out` (which must not exist yet): written into
    `out.partial` first and renamed when complete, so `out` is always a whole backup."""
    started = time.perf_counter()
    partial = await asyncio.to_thread(_prepare, out, db_name)
    try:
        mode = await consistency_mode(client)
        catalogue = await read_catalogue(client, db_name)
        created_at = datetime.now(UTC)
        entries: list[CollectionEntry] = []
        async with snapshot_session(client, mode) as session:
            for info in catalogue:
                entries.append(
                    await dump_collection(
                        client, db_name, info, partial / db_name, gz=gz, session=session
                    )
                )
        manifest = Manifest(
            database=db_name,
            created_at=created_at.isoformat(),
            consistency=mode,
            gzip=gz,
            collections=entries,
            duration_seconds=round(time.perf_counter() - started, 3),
            size_bytes=await asyncio.to_thread(_tree_size, partial),
        )
        await asyncio.to_thread(_publish, manifest, partial, out)
    except BaseException:
        await asyncio.to_thread(shutil.rmtree, partial, ignore_errors=True)
        raise
    return manifest


def _prepare(out: Path, db_name: str) -> Path:
    if out.exists():
        raise FileExistsError(f"{out} already exists")
    partial = out.with_name(out.name + PARTIAL_SUFFIX)
    shutil.rmtree(partial, ignore_errors=True)  # a crashed earlier attempt
    (partial / db_name).mkdir(parents=True)
    return partial


def _publish(manifest: Manifest, partial: Path, out: Path) -> None:
    manifest.write(partial)
    os.replace(partial, out)  # atomic: readers see no backup or a whole one


def _tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())

"""The on-disk shape of a backup, compatible with mongodump / mongorestore.

```
<BACKUP_DIR>/<id>/                      id = UTC time, e.g. 20261204T190850Z
    alawael-manifest.json               ours: counts and SHA-256 per file
    <db>/<collection>.bson[.gz]         concatenated BSON documents (mongodump's format)
    <db>/<collection>.metadata.json[.gz]  {"options", "indexes", "uuid", "collectionName", "type"}
```

mongorestore reads the `<db>` directory as is (`mongorestore --dir <id>`; with `--gzip` for
a gzipped backup) and skips the manifest, a top-level file it does not know. A backup is
written into `<id>.partial` and renamed when complete, so a crashed run is never "latest".
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

from bson import json_util

MANIFEST = "alawael-manifest.json"
DRILL_RESULT = "restore-drill.json"  # in BACKUP_DIR: the last drill's report
PARTIAL_SUFFIX = ".partial"
ID_FORMAT = "%Y%m%dT%H%M%SZ"
FORMAT_VERSION = 1
_CHUNK = 1 << 20


def backup_id(at: datetime) -> str:
    return at.astimezone(UTC).strftime(ID_FORMAT)


def parse_backup_id(name: str) -> datetime | None:
    try:
        return datetime.strptime(name, ID_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass
class CollectionEntry:
    """One collection of a backup. `bson_sha256` hashes the uncompressed BSON stream (what
    a restored collection re-reads to); `files` hashes each file exactly as stored."""

    name: str
    count: int
    bson_bytes: int
    bson_sha256: str
    files: dict[str, str] = field(default_factory=dict)  # relative path -> SHA-256


@dataclass
class Manifest:
    database: str
    created_at: str  # ISO 8601 UTC, when the consistent read began
    consistency: str  # how the point in time was obtained (see alawael.infra.backup.dump)
    gzip: bool
    collections: list[CollectionEntry]
    duration_seconds: float = 0.0
    size_bytes: int = 0
    format: int = FORMAT_VERSION
    tool: str = "alawael backup"

    def entry(self, name: str) -> CollectionEntry:
        for item in self.collections:
            if item.name == name:
                return item
        raise KeyError(name)

    def write(self, directory: Path) -> None:
        text = json.dumps(asdict(self), indent=2, sort_keys=True)
        (directory / MANIFEST).write_text(text + "\n")

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        raw: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
        raw["collections"] = [CollectionEntry(**c) for c in raw["collections"]]
        return cls(**raw)


def bson_name(collection: str, *, gz: bool) -> str:
    return f"{collection}.bson" + (".gz" if gz else "")


def metadata_name(collection: str, *, gz: bool) -> str:
    return f"{collection}.metadata.json" + (".gz" if gz else "")


def open_write(path: Path, *, gz: bool) -> IO[bytes]:
    # mtime=0: the same data gives the same .gz bytes, so checksums compare across runs.
    return cast(IO[bytes], gzip.GzipFile(path, "wb", mtime=0) if gz else open(path, "wb"))


def open_read(path: Path) -> IO[bytes]:
    return cast(IO[bytes], gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb"))


def metadata_document(
    name: str, options: dict[str, Any], indexes: list[dict[str, Any]], uuid: str | None
) -> str:
    """mongodump's `<collection>.metadata.json`: canonical Extended JSON, so `{"v": 2}`
    keeps its int32 type (`{"$numberInt": "2"}`) and mongorestore rebuilds the same index."""
    doc: dict[str, Any] = {"indexes": indexes, "collectionName": name, "type": "collection"}
    doc = {"options": options, **doc}
    if uuid:
        doc["uuid"] = uuid
    return json_util.dumps(doc, json_options=json_util.CANONICAL_JSON_OPTIONS)


def read_metadata(path: Path) -> dict[str, Any]:
    with open_read(path) as f:
        doc: dict[str, Any] = json_util.loads(f.read().decode())
    return doc


def iter_bson(path: Path) -> Iterator[bytes]:
    """The raw documents of a `.bson` file: each starts with its int32 little-endian size."""
    with open_read(path) as f:
        while header := f.read(4):
            if len(header) < 4:
                raise ValueError(f"{path}: truncated document header")
            size = int.from_bytes(header, "little")
            body = f.read(size - 4)
            if len(body) != size - 4:
                raise ValueError(f"{path}: truncated document")
            yield header + body


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def completed_backups(root: Path) -> list[tuple[datetime, Path]]:
    """Finished backups under `root` (a manifest present, not `.partial`), oldest first."""
    found: list[tuple[datetime, Path]] = []
    if not root.is_dir():
        return found
    for child in root.iterdir():
        at = parse_backup_id(child.name)
        if at is not None and child.is_dir() and (child / MANIFEST).is_file():
            found.append((at, child))
    return sorted(found)


def latest_backup(root: Path) -> Path | None:
    backups = completed_backups(root)
    return backups[-1][1] if backups else None

"""The indexes every collection needs, created idempotently at start-up (a fingerprint
marker makes a routine start one read), and the hook that runs once when they change."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from pymongo import ASCENDING, DESCENDING, IndexModel

from alawael.infra.db import Db

log = logging.getLogger("alawael.db")

# The normalized search keys (alawael.services.search) of users, products and orders. The
# version in the names is the search key version: bumping it changes the fingerprint below,
# so the next start rebuilds the indexes and runs the key backfill once.
SEARCH_KEY_VERSION = 1
SEARCH_INDEXES = [
    IndexModel([("searchWords", ASCENDING)], name=f"search_words_v{SEARCH_KEY_VERSION}"),
    IndexModel([("searchSuffixes", ASCENDING)], name=f"search_suffixes_v{SEARCH_KEY_VERSION}"),
]

# The seed's index design. Index creation is idempotent: createIndexes on an existing
# identical index is a no-op, so every worker may run it at start-up.
INDEXES: dict[str, list[IndexModel]] = {
    "users": [
        IndexModel([("email", ASCENDING)], unique=True, name="email_unique"),
        IndexModel([("phone", ASCENDING)], name="phone"),
        IndexModel([("createdAt", DESCENDING)], name="created_desc"),
        *SEARCH_INDEXES,
    ],
    "products": [
        IndexModel([("sku", ASCENDING)], unique=True, name="sku_unique"),
        IndexModel([("category", ASCENDING)], name="category"),
        # The seed design's {price: 1}; prices are stored as integer minor units.
        IndexModel([("priceCents", ASCENDING)], name="price"),
        # Keyset sorts of the products list (NAME, CREATED_AT, STOCK) need their own keys.
        IndexModel([("name", ASCENDING)], name="name"),
        IndexModel([("createdAt", DESCENDING)], name="created_desc"),
        IndexModel([("stock", ASCENDING)], name="stock"),
        *SEARCH_INDEXES,
    ],
    "orders": [
        IndexModel([("userId", ASCENDING), ("createdAt", DESCENDING)], name="user_created"),
        IndexModel([("status", ASCENDING), ("createdAt", DESCENDING)], name="status_created"),
        IndexModel([("createdAt", DESCENDING)], name="created_desc"),
        IndexModel([("number", ASCENDING)], unique=True, name="number_unique"),
        *SEARCH_INDEXES,
    ],
    "analytics": [
        IndexModel([("apiEndpoint", ASCENDING), ("timestamp", DESCENDING)], name="endpoint_ts"),
        IndexModel(
            [("timestamp", ASCENDING)],
            name="ttl_90d",
            expireAfterSeconds=int(timedelta(days=90).total_seconds()),
        ),
    ],
    "notifications": [
        IndexModel([("userId", ASCENDING), ("createdAt", DESCENDING)], name="user_created"),
        IndexModel([("userId", ASCENDING), ("read", ASCENDING)], name="user_unread"),
    ],
    "feature_flags": [IndexModel([("key", ASCENDING)], unique=True, name="key_unique")],
    "sessions": [
        IndexModel([("userId", ASCENDING)], name="user"),
        IndexModel([("expireAt", ASCENDING)], name="ttl_expire_at", expireAfterSeconds=0),
    ],
    "audit_trail": [
        IndexModel([("userId", ASCENDING), ("timestamp", DESCENDING)], name="user_ts"),
        IndexModel([("entity", ASCENDING), ("entityId", ASCENDING)], name="entity"),
        IndexModel(
            [("timestamp", ASCENDING)],
            name="ttl_1y",
            expireAfterSeconds=int(timedelta(days=365).total_seconds()),
        ),
    ],
    "idempotency": [
        IndexModel([("expireAt", ASCENDING)], name="ttl_expire_at", expireAfterSeconds=0),
    ],
    "counters": [],
    # Password-reset and invitation links (alawael.services.account_tokens).
    "account_tokens": [
        IndexModel([("tokenHash", ASCENDING)], unique=True, name="token_hash_unique"),
        IndexModel([("userId", ASCENDING), ("purpose", ASCENDING)], name="user_purpose"),
        IndexModel([("expireAt", ASCENDING)], name="ttl_expire_at", expireAfterSeconds=0),
    ],
}


def _index_fingerprint() -> str:
    import hashlib

    spec = sorted((name, [m.document for m in models]) for name, models in INDEXES.items())
    return hashlib.sha256(repr(spec).encode()).hexdigest()[:16]


INDEX_FINGERPRINT = _index_fingerprint()


async def _collection_uuids(db: Db) -> dict[str, str]:
    """The UUID of every collection that INDEXES gives indexes to (one listCollections).

    A collection gets a new UUID whenever it is created again: dropped and restored
    (`alawael restore --drop`, `mongorestore --drop`), or re-created by any tool."""
    wanted = [name for name, models in INDEXES.items() if models]
    uuids: dict[str, str] = {}
    async for info in await db.list_collections(filter={"name": {"$in": wanted}}):
        uuid = (info.get("info") or {}).get("uuid")
        uuids[str(info["name"])] = uuid.hex() if isinstance(uuid, bytes) else str(uuid)
    return uuids


async def ensure_indexes(
    db: Db, *, force: bool = False, then: Callable[[Db], Awaitable[object]] | None = None
) -> None:
    """Create the indexes unless this exact index set was already created in `db`.

    createIndexes is idempotent but costs a round trip per collection; a marker document
    holding the fingerprint of INDEXES turns a routine worker start into two reads.
    Changing INDEXES changes the fingerprint, so new indexes are still created on the next
    start. The marker also records the UUIDs of the collections it vouches for: a marker
    restored from a backup (or left behind when a collection was dropped and re-created)
    names other UUIDs than the collections now present, so it is not trusted and the
    indexes are created again. Without that, a restore without its indexes would serve
    unindexed collections and TTL data that never expires.

    `then` runs after the indexes and before the marker is written (a one-off data
    migration such as the search key backfill): if it fails, the next start runs it again.
    """
    marker = await db.meta.find_one({"_id": "indexes"})
    if (
        not force
        and marker is not None
        and marker.get("fingerprint") == INDEX_FINGERPRINT
        and marker.get("collections") == await _collection_uuids(db)
    ):
        return
    for name, models in INDEXES.items():
        if models:
            await db[name].create_indexes(models)
    if then is not None:
        await then(db)
    await db.meta.replace_one(
        {"_id": "indexes"},
        {
            "_id": "indexes",
            "fingerprint": INDEX_FINGERPRINT,
            "collections": await _collection_uuids(db),
        },
        upsert=True,
    )

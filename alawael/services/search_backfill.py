"""The one-off backfill of the search keys (alawael.services.search) on existing data.

It runs with index creation (alawael.infra.db.ensure_indexes `then=`), i.e. once per change
of the index set: a new install, a restore, or a SEARCH_KEY_VERSION bump after the rules
changed. Documents are read in batches by `_id` and updated by `_id` alone (the embedded
database plans `_id` plus other fields as a collection scan). Its updates cost about 6 ms
each whatever the filter, so only documents whose keys differ are written.

Products and users are edited while the backfill runs (other workers serve meanwhile): each
batch is read and rewritten in one transaction, so an edit that commits between the read and
the write makes one of the two transactions conflict and retry, and keys computed from the
old text never overwrite the edit's own. Orders' keys come from immutable fields (number,
customer name), so they need no transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from alawael.infra.db import Db, Document
from alawael.services.search import (
    KEY_FIELDS,
    SUFFIXES,
    WORDS,
    order_keys,
    product_keys,
    user_keys,
)

log = logging.getLogger(__name__)
BATCH = 500
_KEYS: dict[str, Callable[[Mapping[str, Any]], Document]] = {
    "products": product_keys,
    "users": user_keys,
}


def _update(doc: Mapping[str, Any], keys: Document) -> UpdateOne | None:
    # Documents whose keys are already right are not written: updates are the expensive
    # part (about 5 ms each on the embedded database), and a second run (another worker
    # starting at the same time, a restart after a partial run) then costs reads only.
    if all(doc.get(field) == value for field, value in keys.items()):
        return None
    return UpdateOne({"_id": doc["_id"]}, {"$set": keys})


def _updates(pairs: list[tuple[Mapping[str, Any], Document]]) -> list[UpdateOne]:
    return [op for doc, keys in pairs if (op := _update(doc, keys)) is not None]


async def _ids(db: Db, name: str) -> list[list[ObjectId]]:
    ids = [doc["_id"] async for doc in db[name].find({}, {"_id": 1})]
    return [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]


async def _rewrite(db: Db, name: str, batch: list[ObjectId]) -> int:
    keys_of = _KEYS[name]
    projection = dict.fromkeys((*KEY_FIELDS[name], WORDS, SUFFIXES), 1)

    async def txn(session: AsyncClientSession) -> int:
        # Rebuilt on every attempt: a retry after a conflict reads the edit that won.
        docs = db[name].find({"_id": {"$in": batch}}, projection, session=session)
        ops = _updates([(d, keys_of(d)) async for d in docs])
        if ops:
            await db[name].bulk_write(ops, ordered=False, session=session)
        return len(ops)

    async with db.client.start_session() as session:
        return await session.with_transaction(txn)


async def _orders(db: Db) -> int:
    written = 0
    for batch in await _ids(db, "orders"):
        projection = {"number": 1, "userId": 1, WORDS: 1, SUFFIXES: 1}
        orders = await db.orders.find({"_id": {"$in": batch}}, projection).to_list(None)
        user_ids = list({o.get("userId") for o in orders})
        names = {
            u["_id"]: u.get("name")
            async for u in db.users.find({"_id": {"$in": user_ids}}, {"name": 1})
        }
        ops = _updates(
            [(o, order_keys(o.get("number") or "", names.get(o.get("userId")))) for o in orders]
        )
        if ops:
            await db.orders.bulk_write(ops, ordered=False)
        written += len(ops)
    return written


async def backfill_search_keys(db: Db) -> dict[str, int]:
    """Recompute the search keys of every product, user and order; returns how many
    documents of each collection needed new keys."""
    written = {name: 0 for name in (*_KEYS, "orders")}
    for name in _KEYS:
        for batch in await _ids(db, name):
            written[name] += await _rewrite(db, name, batch)
    written["orders"] = await _orders(db)
    log.info("search keys backfilled", extra={"written": written})
    return written

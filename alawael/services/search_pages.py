"""Keyset pages of search results, ranked: documents where every term starts a word come
first, then those where a term is only inside a word; within a rank, the requested sort.

The order is (rank, sort value, _id), and a cursor carries all three, so pages never repeat
or skip a document: a page walks the rest of its cursor's rank, then the next rank from its
start. Each rank is one aggregation whose first `$match` is a bare range on an indexed key
array (the embedded database lifts a leading `$match` into its index planner; MongoDB merges
it with the next stage and plans both), and whose second `$match` holds the exact
conditions, the caller's filter and the keyset bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alawael.infra.db import Db, Document
from alawael.services.pagination import (
    RANK_KEY,
    Page,
    PageArgs,
    decode_ranked_cursor,
    keyset_after,
    page_of_docs,
    paginate,
    validate_page_args,
)
from alawael.services.search import RANKS, any_rank_stages, rank_stages


def _pipeline(lead: Document, conditions: list[Document], tail: list[Document]) -> list[Document]:
    match: Document = {"$and": conditions} if len(conditions) > 1 else conditions[0]
    return [{"$match": lead}, {"$match": match}, *tail]


Cursor = tuple[int, Any, Any]  # (rank, sort value, _id)


def rank_pipeline(
    rank: int,
    terms: list[str],
    query: Mapping[str, Any],
    *,
    sort_field: str,
    direction: int,
    walk: int,
    limit: int,
    after: Cursor | None = None,
    before: Cursor | None = None,
    projection: Mapping[str, Any] | None = None,
) -> list[Document] | None:
    """The aggregation for one rank of a page (None: no document can have that rank).
    `walk` is the direction the page is read in (-direction for `last`/`before`)."""
    stages = rank_stages(rank, terms)
    if stages is None:
        return None
    lead, conditions = stages
    conditions = [*conditions, dict(query)] if query else list(conditions)
    if after and rank == after[0]:
        conditions.append(keyset_after(sort_field, direction, after[1], after[2]))
    if before and rank == before[0]:
        conditions.append(keyset_after(sort_field, -direction, before[1], before[2]))
    tail: list[Document] = [{"$sort": {sort_field: walk, "_id": walk}}, {"$limit": limit}]
    if projection:
        tail.append({"$project": dict(projection)})
    return _pipeline(lead, conditions, tail)


async def _aggregate(db: Db, collection: str, pipeline: list[Document]) -> list[Document]:
    cursor = await db[collection].aggregate(pipeline)
    return await cursor.to_list(None)


async def count_matching(
    db: Db, collection: str, query: Mapping[str, Any], terms: list[str] | None
) -> int:
    """How many documents match `query` and the search terms (all ranks)."""
    if terms is None:
        return await db[collection].count_documents(dict(query))
    if not terms:
        return 0
    lead, exact = any_rank_stages(terms)
    conditions = [*exact, dict(query)] if query else exact
    rows = await _aggregate(db, collection, _pipeline(lead, conditions, [{"$count": "n"}]))
    return int(rows[0]["n"]) if rows else 0


async def paginate_matching(
    db: Db,
    collection: str,
    query: Mapping[str, Any],
    terms: list[str] | None,
    *,
    sort_field: str,
    direction: int,
    args: PageArgs,
    projection: Mapping[str, Any] | None = None,
    windowed: bool = False,
) -> Page[Document]:
    """`paginate`, ranked by the search terms when there are any (see search_terms for
    None and [])."""
    if terms is None:
        return await paginate(
            db,
            collection,
            query,
            sort_field=sort_field,
            direction=direction,
            args=args,
            projection=projection,
            windowed=windowed,
        )
    limit, backwards = validate_page_args(args)
    after = decode_ranked_cursor(args.after, "after") if args.after else None
    before = decode_ranked_cursor(args.before, "before") if args.before else None
    walk = -direction if backwards else direction
    docs: list[Document] = []
    for rank in reversed(RANKS) if backwards else RANKS:
        if not terms or not limit or len(docs) > limit:
            break
        if (after and rank < after[0]) or (before and rank > before[0]):
            continue
        pipeline = rank_pipeline(
            rank,
            terms,
            query,
            sort_field=sort_field,
            direction=direction,
            walk=walk,
            limit=limit + 1 - len(docs),
            after=after,
            before=before,
            projection=projection,
        )
        if pipeline is None:
            continue
        for doc in await _aggregate(db, collection, pipeline):
            doc[RANK_KEY] = rank
            docs.append(doc)
    more = len(docs) > limit
    docs = docs[:limit]
    if backwards:
        docs.reverse()

    async def count() -> int:
        return await count_matching(db, collection, query, terms)

    return page_of_docs(
        docs,
        sort_field,
        has_next_page=more if not backwards else bool(args.before),
        has_previous_page=more if backwards else bool(args.after),
        count=count,
    )

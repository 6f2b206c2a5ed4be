"""Keyset (cursor) pagination over an indexed sort key, with `_id` as the tie-breaker.

Deep pages cost the same as the first: the cursor holds the last (sort value, _id) seen and
the next page is a range query on the index, never `skip`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import bson
from bson import ObjectId
from bson.errors import BSONError

from alawael.infra.clock import utcnow
from alawael.infra.db import Db, Document
from alawael.shared.errors import BadUserInput

T = TypeVar("T")
U = TypeVar("U")

# Where a ranked (search) page notes each document's rank; its cursors carry it
# (alawael.services.search_pages).
RANK_KEY = "_rank"
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


@dataclass
class Page(Generic[T]):
    """One page of items (documents, then records once a service maps them), each with
    the cursor computed from its document when the page was read."""

    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool
    count: Callable[[], Awaitable[int]] = field(repr=False)

    @property
    def start_cursor(self) -> str | None:
        return self.cursors[0] if self.cursors else None

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None

    def map(self, to_item: Callable[[T], U]) -> Page[U]:
        return Page(
            [to_item(item) for item in self.items],
            self.cursors,
            self.has_next_page,
            self.has_previous_page,
            self.count,
        )


def page_of_docs(
    docs: list[Document],
    sort_field: str,
    *,
    has_next_page: bool,
    has_previous_page: bool,
    count: Callable[[], Awaitable[int]],
) -> Page[Document]:
    cursors = [encode_cursor(doc.get(sort_field), doc["_id"], doc.get(RANK_KEY)) for doc in docs]
    return Page(docs, cursors, has_next_page, has_previous_page, count)


async def _zero() -> int:
    return 0


def empty_page() -> Page[T]:
    return Page([], [], has_next_page=False, has_previous_page=False, count=_zero)


def encode_cursor(value: Any, oid: Any, rank: int | None = None) -> str:
    # BSON keeps the exact type of the sort value (datetime, int, string, ObjectId).
    raw = bson.encode({"v": value, "i": oid} if rank is None else {"r": rank, "v": value, "i": oid})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# What a sort value in a cursor may be. Cursors come back from clients, and the value goes
# into a query filter: a document there (`{"$regex": ...}`) would be an operator injection.
_CURSOR_VALUE_TYPES = (str, int, float, datetime, ObjectId, type(None))


def decode_cursor(cursor: str, field_name: str) -> tuple[Any, Any]:
    _, value, oid = decode_ranked_cursor(cursor, field_name)
    return value, oid


def decode_ranked_cursor(cursor: str, field_name: str) -> tuple[int, Any, Any]:
    """(rank, sort value, _id); rank 0 for cursors of unranked pages."""
    try:
        doc = bson.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value, oid = doc["v"], doc["i"]
    except (binascii.Error, BSONError, KeyError, ValueError, TypeError) as exc:
        raise BadUserInput(f"Malformed cursor: {cursor!r}", field=field_name) from exc
    if not isinstance(value, _CURSOR_VALUE_TYPES) or isinstance(value, bool):
        raise BadUserInput(f"Malformed cursor: {cursor!r}", field=field_name)
    rank = doc.get("r", 0)
    if not isinstance(oid, ObjectId) or set(doc) - {"r"} != {"v", "i"}:
        raise BadUserInput(f"Malformed cursor: {cursor!r}", field=field_name)
    if not isinstance(rank, int) or isinstance(rank, bool) or not 0 <= rank <= 9:
        raise BadUserInput(f"Malformed cursor: {cursor!r}", field=field_name)
    return rank, value, oid


def keyset_after(sort_field: str, direction: int, value: Any, oid: Any) -> dict[str, Any]:
    op = "$gt" if direction == 1 else "$lt"
    return {"$or": [{sort_field: {op: value}}, {sort_field: value, "_id": {op: oid}}]}


def validate_page_args(args: PageArgs) -> tuple[int, bool]:
    """Returns (limit, backwards)."""
    if args.first is not None and args.last is not None:
        raise BadUserInput("Pass either `first` or `last`, not both.", field="first")
    size = args.last if args.last is not None else args.first
    name = "last" if args.last is not None else "first"
    if size is None:
        size = DEFAULT_PAGE_SIZE
    if size < 0 or size > MAX_PAGE_SIZE:
        raise BadUserInput(f"`{name}` must be between 0 and {MAX_PAGE_SIZE}.", field=name)
    return size, args.last is not None


# Fields holding the time a document was made: newest-first pages sort on them.
TIME_FIELDS = frozenset({"createdAt", "timestamp"})
# The first window and how much each next one widens: a minute, 16 minutes, 4 hours, 3 days,
# 45 days, 2 years, 32 years; then the unbounded find. Small, because under load the newest
# page sits in the last minute and a wider window walks every order written meanwhile (a
# day-wide first window made the soak's dashboard reads grow with the orders it placed);
# sparse data pays at most seven small range reads.
FIRST_WINDOW = timedelta(minutes=1)
WIDEN = 16
MAX_WINDOWS = 7


# Per query shape (collection, time field, filter keys), the window step that last held a
# full page: the next read starts there, so steady traffic pays one bounded read, not the
# walk up from a minute. Per worker, a few entries per list endpoint.
_LEARNED: dict[tuple[str, str, tuple[str, ...]], int] = {}
_LEARNED_MAX = 256


def _step_for(span: timedelta) -> int:
    """The smallest window step whose width covers `span`."""
    step, width = 0, FIRST_WINDOW
    while width < span and step < MAX_WINDOWS - 1:
        step, width = step + 1, width * WIDEN
    return step


async def _windowed_find(
    coll: Any,
    query: Mapping[str, Any],
    projection: Mapping[str, Any] | None,
    sort: list[tuple[str, int]],
    want: int,
    field: str,
    anchor: Any,
) -> list[Document]:
    """The newest `want` documents, read window by window.

    SecantusDB 0.7 walks the whole index range of a sorted, limited find before it applies
    the limit (explain: keys examined = every match), so the newest 51 of 12,000 orders cost
    ~0.85 s and grew with the collection (the soak's slow reads). A lower bound on the time
    field bounds that walk: if the last minute (or 16 minutes, or ...) holds `want` matches,
    they are the newest overall; otherwise widen x16, up to the unbounded find. The step that
    held a full page is remembered per query shape and the next read starts at it (narrowed to
    what the page really spanned), so a busy collection reads its last minute and a quiet one
    its last weeks, each in one read. Documents without the field sort last in a newest-first
    order, so a window that is full never misses one."""
    top = anchor if isinstance(anchor, datetime) else utcnow()
    shape = (coll.name, field, tuple(sorted(query)))
    step = _LEARNED.get(shape, 0)
    while step < MAX_WINDOWS:
        try:
            since = top - FIRST_WINDOW * WIDEN**step
        except OverflowError:
            break
        bounded = (
            {"$and": [dict(query), {field: {"$gte": since}}]} if query else {field: {"$gte": since}}
        )
        docs: list[Document] = (
            await coll.find(bounded, projection).sort(sort).limit(want).to_list(None)
        )
        if len(docs) >= want:
            _learn(shape, top, docs[want - 1].get(field))
            return docs[:want]
        step += 1
    found: list[Document] = (
        await coll.find(dict(query), projection).sort(sort).limit(want).to_list(None)
    )
    # A full page teaches the window it spanned (data may have grown dense since); a short
    # one means few matches at all, and the unbounded read stays the cheapest.
    _learn(shape, top, found[want - 1].get(field) if len(found) >= want else None)
    return found


def _aware(moment: datetime) -> datetime:
    # Cursor values decode naive, documents may read aware: both are UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _learn(shape: tuple[str, str, tuple[str, ...]], top: datetime, oldest: Any) -> None:
    if len(_LEARNED) >= _LEARNED_MAX:
        _LEARNED.clear()
    if isinstance(oldest, datetime):
        _LEARNED[shape] = _step_for(_aware(top) - _aware(oldest))
    else:
        _LEARNED[shape] = MAX_WINDOWS


async def paginate(
    db: Db,
    collection: str,
    query: Mapping[str, Any],
    *,
    sort_field: str,
    direction: int,
    args: PageArgs,
    projection: Mapping[str, Any] | None = None,
    windowed: bool = False,
) -> Page[Document]:
    """One keyset page. `windowed` (for databases that scan a whole index range before they
    apply the limit, see `_windowed_find`): newest-first pages on a time field read a bounded
    window first."""
    limit, backwards = validate_page_args(args)
    conditions: list[dict[str, Any]] = [dict(query)] if query else []
    if args.after:
        conditions.append(keyset_after(sort_field, direction, *decode_cursor(args.after, "after")))
    if args.before:
        conditions.append(
            keyset_after(sort_field, -direction, *decode_cursor(args.before, "before"))
        )
    final: dict[str, Any] = (
        {"$and": conditions} if len(conditions) > 1 else (conditions[0] if conditions else {})
    )
    walk = -direction if backwards else direction
    docs: list[Document] = []
    if limit:
        sort = [(sort_field, walk), ("_id", walk)]
        if windowed and walk == -1 and sort_field in TIME_FIELDS:
            anchor = decode_cursor(args.after, "after")[0] if args.after else None
            docs = await _windowed_find(
                db[collection], final, projection, sort, limit + 1, sort_field, anchor
            )
        else:
            cursor = db[collection].find(final, projection).sort(sort).limit(limit + 1)
            docs = await cursor.to_list(None)
    more = len(docs) > limit
    docs = docs[:limit]
    if backwards:
        docs.reverse()

    async def count() -> int:
        return await db[collection].count_documents(dict(query))

    return page_of_docs(
        docs,
        sort_field,
        has_next_page=more if not backwards else bool(args.before),
        has_previous_page=more if backwards else bool(args.after),
        count=count,
    )
